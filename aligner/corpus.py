"""What an MFA-style corpus folder holds: its utterances, found the one way every part uses.

An MFA corpus is a folder (speaker subfolders optional, any depth) where each recording
`<utt>.wav|.flac|...` has a transcript `<utt>.lab|.txt|.TextGrid` beside it, and, in corpora made
for measuring (the synthetic one), a gold alignment `<utt>.TextGrid` beside a text transcript.
Corpus runs (runner.py), `validate` (validate.py), training (dataset.py, dev_metrics.py),
adaptation and the benchmarks all find utterances here, so they agree on what a corpus holds:
which transcript wins, what the utterance is called, whose speaker it is, where its gold is.
"""

from __future__ import annotations

import os
import shlex
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from aligner.audio import AUDIO_EXTENSIONS, UNSUPPORTED_EXTENSIONS, unsupported_format_message
from aligner.text.encoding import decode_text

# preference order: MFA's, then CLAN's CHAT files (aligner/chat.py)
TRANSCRIPT_EXTENSIONS: tuple[str, ...] = (".lab", ".txt", ".textgrid", ".cha")
GOLD_EXTENSION = ".textgrid"  # beside a text transcript: the utterance's gold alignment
NO_TRANSCRIPT = "no transcript (.lab, .txt, .TextGrid or .cha) beside the audio"


@dataclass(frozen=True)
class Utterance:
    """One recording and its transcript. `name` is the path relative to the corpus root without
    suffix (posix separators): it names the utterance in reports and places its outputs. `gold`
    is its gold alignment, a TextGrid beside a text transcript (None where there is none);
    `unused_text` the text transcripts beside the one that is read, found with it, for
    `transcript_conflict` (`_unused_text`)."""

    name: str
    audio: Path
    transcript: Path | None
    speaker: str | None
    gold: Path | None = None
    unused_text: tuple[Path, ...] = ()


def find_utterances(root: Path, speaker_characters: int = 0) -> list[Utterance]:
    """Every audio file under `root` (recursively, sorted), paired with its transcript and gold.

    Audio without a transcript is still listed (transcript None) so that it is reported rather
    than silently ignored. The speaker is the first folder below the root (MFA's convention),
    or with `speaker_characters` > 0 the first that many characters of the file's name (MFA's
    `--speaker_characters`, for a flat folder whose names start with the speaker's code)."""
    root = Path(root)
    found: list[Utterance] = []
    folders: Folders = {}
    for path in sorted(walk_files(root)):
        if path.suffix.lower() not in AUDIO_EXTENSIONS or path.name.startswith("."):
            continue
        rel = path.relative_to(root)
        siblings = _siblings(path, folders)
        transcript = _transcript(siblings)
        gold = siblings.get(GOLD_EXTENSION)
        if gold == transcript:  # an utterance TextGrid is the transcript, not a gold alignment
            gold = None
        speaker = (unicodedata.normalize("NFC", path.stem)[:speaker_characters]
                   if speaker_characters > 0
                   else rel.parts[0] if len(rel.parts) > 1 else None)
        found.append(Utterance(rel.with_suffix("").as_posix(), path, transcript, speaker, gold,
                               _unused_text(siblings, transcript, folders)))
    return found


def file_utterance(audio: Path, transcript: Path | None) -> Utterance:
    """One recording outside a corpus (`ottc-align AUDIO`), with its gold and any `.txt` beside
    its `.lab` as `find_utterances` finds them: what `transcript_conflict` judges."""
    siblings = _siblings(Path(audio))
    gold = siblings.get(GOLD_EXTENSION)
    return Utterance(Path(audio).stem, Path(audio), transcript, None,
                     None if gold == transcript else gold, _unused_text(siblings, transcript))


def _unused_text(siblings: dict[str, Path], transcript: Path | None,
                 folders: Folders | None = None) -> tuple[Path, ...]:
    """The text transcripts beside a recording's that are not read: files named as it but for
    the suffix's letter case (`y.LAB` beside `y.lab`, on a file system that tells them apart),
    and the `.txt` beside a `.lab`."""
    if transcript is None:
        return ()
    listing = (folders or {}).get(transcript.parent) or _stems(transcript.parent)
    twins = tuple(p for p in listing.get(_nfc(transcript.stem), []) if p.stem == transcript.stem
                  and p.suffix != transcript.suffix
                  and p.suffix.lower() == transcript.suffix.lower())
    txt = siblings.get(".txt") if transcript.suffix.lower() == ".lab" else None
    return twins + ((txt,) if txt is not None else ())


def gold_utterances(root: Path) -> list[Utterance]:
    """The utterances under `root` that have a gold alignment (beside a text transcript): what
    training's dev figures and the benchmarks measure on."""
    return [u for u in find_utterances(root) if u.gold is not None]


def find_transcript(audio: Path) -> Path | None:
    """`<stem>.lab`, else `.txt`, else `.TextGrid`, else `.cha` (any letter case) beside
    `audio`: MFA's order (its corpus loader reads a .lab before a .txt, and either before a
    TextGrid)."""
    return _transcript(_siblings(audio))


def _transcript(siblings: dict[str, Path]) -> Path | None:
    lab, txt = siblings.get(".lab"), siblings.get(".txt")
    if lab is not None and txt is not None and _holds_labels(lab):
        return txt  # an HTK or Emu label file beside the words (emuR's databases): the words
    for ext in TRANSCRIPT_EXTENSIONS:
        if ext in siblings:
            return siblings[ext]
    return None


def _holds_labels(path: Path) -> bool:
    """Whether `path` is a time-stamped label file (HTK, ESPS/Emu), not a transcript: emuR's
    databases keep `x.lab` labels beside `x.txt` words, and reading the .lab first (MFA's
    order) failed every recording although its words were there."""
    from aligner.text.frontend import is_label_file

    try:
        return is_label_file(decode_text(path.read_bytes()))
    except (OSError, UnicodeDecodeError):  # unreadable: reported when the transcript is read
        return False


# folder -> its files by the NFC form of their stem (`_stems`), listed once per folder
Folders = dict[Path, dict[str, list[Path]]]


def _siblings(path: Path, folders: Folders | None = None) -> dict[str, Path]:
    """Files named like `path` with another suffix, by lower-case suffix: the one place where
    a recording meets its transcript. Stems are compared in Unicode NFC, because a copy made on
    macOS spells `café.wav` with a decomposed é (NFD) while an editor saves `café.lab`
    precomposed (NFC): one recording, two byte strings. A file spelled exactly like `path`
    wins over one that only normalises alike. `folders` caches listings across calls."""
    folders = {} if folders is None else folders
    if path.parent not in folders:
        folders[path.parent] = _stems(path.parent)
    alike = folders[path.parent].get(_nfc(path.stem), [])
    found = {p.suffix.lower(): p for p in alike if p.stem != path.stem}
    found.update({p.suffix.lower(): p for p in alike if p.stem == path.stem})
    return found


def _stems(folder: Path) -> dict[str, list[Path]]:
    """The files of `folder` that have a suffix (dangling symlinks included), by the NFC form of
    their stem."""
    index: dict[str, list[Path]] = {}
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return index
    for entry in entries:
        path = folder / entry.name
        # a dangling symlink too: its recording is reported missing, its transcript not orphaned;
        # and a link in a loop (ELOOP), which is that recording's failure, not the run's
        if path.suffix and not entry.name.startswith(".") and (
                _entry_is(entry.is_file) or (entry.is_symlink() and not _entry_is(entry.is_dir))):
            index.setdefault(_nfc(path.stem), []).append(path)
    return index


def _entry_is(test) -> bool:
    """`entry.is_file` / `entry.is_dir` called; False when the link cannot be followed."""
    try:
        return test()
    except OSError:
        return False


def no_transcript_problem(audio: Path) -> str:
    """NO_TRANSCRIPT, with the file that was probably meant where there is one: a transcript
    named as the recording but for letter case (`utt1.lab` beside `Utt1.wav`: made where disks
    ignore case, on macOS or Windows) or after the recording's whole file name (`u2.wav.lab`).
    Why: the run said only "no transcript" and, apart, that the text had no recording."""
    stem = _nfc(audio.stem)
    try:
        texts = sorted(p for p in audio.parent.iterdir()
                       if p.suffix.lower() in TRANSCRIPT_EXTENSIONS)
    except OSError:
        return NO_TRANSCRIPT
    for text in texts:
        name = _nfc(text.stem)
        if name != stem and name.lower() == stem.lower():
            why = "is named as the recording but for letter case"
        elif name.lower() == _nfc(audio.name).lower():
            why = "is named after the recording's whole file name"
        else:
            continue
        return f"{NO_TRANSCRIPT}; {text.name} {why}: rename it {audio.stem}{text.suffix}"
    return NO_TRANSCRIPT


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def transcript_conflict(utt: Utterance) -> str | None:
    """A warning when `<utt>.lab` and `<utt>.txt` both exist with different words, or a text
    transcript has a TextGrid of utterance tiers or a CHAT file beside it. The .lab is used (as
    MFA does), and the text before the TextGrid or the CHAT file; without the warning, someone
    who corrected the .txt, or transcribed the speakers' turns in Praat or CLAN, would never
    learn that their work was ignored."""
    if utt.transcript is None or utt.transcript.suffix.lower() not in (".lab", ".txt"):
        return None
    if utt.gold is not None:  # the TextGrid beside the text, found with it (no folder scan)
        from aligner.formats import alignment_tiers, phones_tier, textgrid_tier_names

        names = textgrid_tier_names(utt.gold)
        # a gold alignment beside it is expected, with tiers of its own too (praatio's
        # `phone, word, pitch`): a phones tier makes it no transcript, as the reader says
        if names and not alignment_tiers(names) and phones_tier(names) is None:
            return (f"{utt.gold} holds utterance tiers ({', '.join(names)}), a transcript; using "
                    f"{utt.transcript.name} (a .lab or .txt is read before a TextGrid): move "
                    "the text file away to align the TextGrid's turns")
    # found with the transcript (no folder scan per recording)
    for other in utt.unused_text:
        if other.suffix.lower() == utt.transcript.suffix.lower() and not _same_words(
                utt.transcript, other):
            return (f"{utt.transcript} and {other.name} differ; using {utt.transcript.name} (two "
                    "transcripts whose names differ only in letter case: keep one)")
    cha = utt.transcript.with_suffix(".cha")  # one look, not a folder scan
    if cha.is_file():
        return (f"{cha} is a CHAT transcript too; using {utt.transcript.name} (a CHAT file is "
                "read only where there is no .lab, .txt or .TextGrid): move the text file away "
                "to align the CHAT file's utterances")
    for other in utt.unused_text:
        if other.suffix.lower() == ".txt" and not _same_words(utt.transcript, other):
            return (f"{utt.transcript} and {other.name} differ; using {utt.transcript.name} "
                    "(a .lab is read before a .txt, as in MFA)")
    return None


def _same_words(a: Path, b: Path) -> bool:
    """Whether two text transcripts hold the same words, compared as text (a UTF-16 .lab may say
    what a UTF-8 .txt says); True when either cannot be read (reported when it is read)."""
    try:
        return decode_text(a.read_bytes()).split() == decode_text(b.read_bytes()).split()
    except (OSError, UnicodeDecodeError):
        return True


def same_name_problems(utterances: Sequence[Utterance]) -> dict[str, str]:
    """utterance name -> problem, for recordings that share a name (`u.wav` and `u.flac` in one
    folder): their outputs and report rows would be one (one result silently overwrote the
    other), and nothing says which the transcript belongs to, so neither is aligned."""
    by_name: dict[str, list[Path]] = {}
    for utt in utterances:
        by_name.setdefault(utt.name, []).append(utt.audio)
    return {name: (f"{paths[0].parent / paths[0].stem}: {len(paths)} recordings share this name ("
                   f"{', '.join(sorted(p.name for p in paths))}); rename or remove all but one")
            for name, paths in by_name.items() if len(paths) > 1}


def unreadable_inputs(root: Path) -> list[Path]:
    """What a corpus holds that cannot be read, to be reported rather than silently ignored:
    recordings in a format libsndfile cannot decode (.m4a, .mp4, .aac, ...) with no readable
    recording of the same name beside them (that would be the converted copy), with how to
    convert them, and folders that cannot be listed (a speaker's folder without read
    permission: its recordings were missing from the run, which ended with exit 0)."""
    folders: Folders = {}
    closed: list[Path] = []
    files = sorted(walk_files(Path(root), closed))
    return sorted(closed) + [
        path for path in files
        if path.suffix.lower() in UNSUPPORTED_EXTENSIONS and path.name[:1] != "."
        and not any(ext in AUDIO_EXTENSIONS for ext in _siblings(path, folders))]


def unreadable_message(path: Path) -> str:
    """One line for one of `unreadable_inputs`: a folder that cannot be listed, or a recording
    in a format to convert first."""
    if path.is_dir():
        return (f"{path}: the folder cannot be read (permission denied?), so its recordings "
                "were not found; make it readable and run again")
    return unsupported_format_message(path)


def no_audio_message(root: Path, unreadable: Sequence[Path] = ()) -> str:
    """Why a corpus has nothing to align, in one line: no audio at all, or only files in
    formats libsndfile cannot read (say how many, and the command that converts one)."""
    closed = [p for p in unreadable if p.is_dir()]
    unreadable = [p for p in unreadable if not p.is_dir()]
    if not unreadable:
        return (f"{root}: no audio files found (looked for .wav, .flac, .ogg, .mp3, ...)"
                + (f"; {len(closed)} folder(s) could not be read, {closed[0]} the first"
                   if closed else ""))
    counts = Counter(p.suffix.lower() for p in unreadable)
    found = ", ".join(f"{n} {ext}" for ext, n in counts.most_common())
    first = unreadable[0]
    return (f"{root}: no audio files libsndfile can read, but found {found} file(s): convert "
            f"them to WAV first, e.g. ffmpeg -i {shlex.quote(str(first))} "
            f"{shlex.quote(str(first.with_suffix('.wav')))}")


# The word lists a corpus run writes at the top of its output folder (`runner.write_oovs`): not
# transcripts, when the output folder is the corpus or inside it (`-o corpus/aligned`).
WORD_LISTS = ("oovs_found.txt", "utterance_oovs.txt")
# ... and its report, and with -f csv every utterance's rows in one table: `evaluate` skips them.
REPORT_NAME = "alignment_report.csv"
TABLE_NAME = "corpus_alignments.csv"


def orphan_transcripts(root: Path) -> list[Path]:
    """Transcripts with no recording beside them (worth a warning in `validate`); a recording
    that cannot be read (.m4a) still counts as one: it is reported on its own."""
    recordings = set(AUDIO_EXTENSIONS) | set(UNSUPPORTED_EXTENSIONS)
    folders: Folders = {}
    return [path for path in sorted(walk_files(root))
            if path.suffix.lower() in (".lab", ".txt")
            and path.name not in WORD_LISTS
            and not any(ext in recordings for ext in _siblings(path, folders))]


def walk_files(root: Path, unreadable: list[Path] | None = None) -> Iterator[Path]:
    """Files under `root`, hidden ones left out. A folder that is a symlink to a place outside
    the corpus is followed (a corpus assembled with `ln -s elsewhere/spk corpus/`); one that
    points inside the corpus (its recordings are found under their own names) or above it (it
    would pull in the corpus's neighbours) is not, and each real folder is walked once, so links
    cannot loop. A dangling symlink is listed too, so that a recording whose target went
    missing is reported ("file not found") rather than ignored. A folder that cannot be listed
    is appended to `unreadable` when given."""
    top = os.path.realpath(root)
    seen: set[str] = set()
    closed = (lambda err: unreadable.append(Path(err.filename))) if unreadable is not None \
        else None
    for folder, dirs, files in os.walk(root, onerror=closed, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        keep = []
        for name in sorted(dirs):
            path = os.path.join(folder, name)
            if name.startswith("."):
                continue
            if os.path.islink(path):
                target = os.path.realpath(path)
                if os.path.commonpath([top, target]) in (top, target):  # inside, or above
                    continue
            keep.append(name)
        dirs[:] = keep
        for name in files:
            path = Path(folder) / name
            if not name.startswith(".") and (path.is_file() or not path.exists()):
                yield path
