"""`ottc-align validate`: a corpus checked before aligning it, without a model.

Every recording and transcript is read the way alignment reads it (the corpus discovery of
corpus.py, the audio reader, the transcript's phones from `text.frontend.prepare_text` and its
judgement of whether they fit the audio, `formats.segment_problem`), so what validate passes the aligner accepts and what it calls a
problem an alignment run fails on, in the same words. Warnings are alignable but worth knowing
(a .lab and a .txt that disagree). Torch-free: no model is loaded.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aligner.atomic import atomic_open, ensure_dir
from aligner.corpus import (Utterance, find_utterances, no_transcript_problem, orphan_transcripts,
                            same_name_problems, transcript_conflict, unreadable_inputs,
                            unreadable_message)
from aligner.errors import naming, one_line
from aligner.text.frontend import Lexicon, phone_count
from aligner.text.phones import STAR

if TYPE_CHECKING:
    from aligner.formats import Segment

# A warning, not a problem: nothing is lost in aligning the rest (the align run warns about it
# too), and a corpus may hold text that is no transcript (a LICENSE.txt, a README.txt).
ORPHAN = "transcript without a recording (not aligned)"


@dataclass
class UtteranceCheck:
    """What `validate` found for one utterance (before any alignment)."""

    name: str
    speaker: str | None = None  # as `align` would group it (corpus.find_utterances)
    sample_rate: int = 0
    channels: int = 0
    duration: float = 0.0
    words: int = 0
    phones: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # alignable, but worth knowing


@dataclass
class ValidationReport:
    utterances: list[UtteranceCheck]
    unknown_words: dict[str, tuple[int, list[str]]]  # word (lower case) -> (count, generated pronunciation)
    orphans: list[Path]
    # .m4a and the like (convert first), folders that cannot be listed
    unreadable: list[Path] = field(default_factory=list)
    # the --dictionary's entries, then spoken word -> generated variants (`--export-dictionary`)
    dictionary: dict[str, list[list[str]]] = field(default_factory=dict)
    root: Path | None = None  # the corpus: files outside any utterance are named from it
    # numbers, symbols and abbreviations as typed -> (count, the words they are read as first)
    readings: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def problems(self) -> list[tuple[str, str]]:
        out = [(u.name, p) for u in self.utterances for p in u.problems]
        out += [(self.named(p), unreadable_message(p)) for p in self.unreadable]
        return out

    @property
    def warnings(self) -> list[tuple[str, str]]:
        out = [(u.name, w) for u in self.utterances for w in u.warnings]
        out += [(self.named(p), ORPHAN) for p in self.orphans]
        return out

    def named(self, path: Path) -> str:
        """A file's path from the corpus root (`spk/x.m4a`), as its utterances are named."""
        try:
            return Path(path).relative_to(self.root).as_posix()
        except (TypeError, ValueError):  # no root, or a file outside it
            return str(path)

    def write_csv(self, path: Path) -> Path:
        ensure_dir(Path(path).parent)
        with atomic_open(path, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["utterance", "sample_rate", "channels", "duration", "words",
                             "problems", "warnings"])
            for u in self.utterances:
                writer.writerow([u.name, u.sample_rate, u.channels, f"{u.duration:.3f}",
                                 u.words, " | ".join(u.problems), " | ".join(u.warnings)])
            for p in self.unreadable:
                writer.writerow([self.named(p), "", "", "", "", unreadable_message(p), ""])
            for p in self.orphans:
                writer.writerow([self.named(p), "", "", "", "", "", ORPHAN])
        return Path(path)


def validate_corpus(root: Path, dictionary: Path | None = None,
                    channel: int | None = None, speaker_characters: int = 0
                    ) -> ValidationReport:
    """Read every recording and transcript of a corpus the way alignment would: decoding
    problems (of `channel` alone when given, as `align --channel` reads it: a recording without
    it, or silent on it), recordings in formats libsndfile cannot read, empty or unreadable
    transcripts, a .lab and a .txt that disagree (a warning), unknown words, implausible
    speaking rates. Speakers as `align` groups them (`speaker_characters`: MFA's option).
    Raises only for a bad dictionary (a usage error)."""
    from aligner.text.frontend import load_lexicon

    lexicon = load_lexicon(Path(dictionary) if dictionary is not None else None)
    generated: dict[str, list[list[str]]] = {}
    unknown: dict[str, tuple[int, list[str]]] = {}
    readings: dict[str, tuple[int, str]] = {}
    utterances = find_utterances(root, speaker_characters)
    same_name = same_name_problems(utterances)
    checks, seen = [], set()
    for utt in utterances:
        if utt.name in same_name:  # one row per name, as `align` reports it: one failure
            if utt.name not in seen:
                seen.add(utt.name)
                checks.append(UtteranceCheck(utt.name, utt.speaker,
                                            problems=[same_name[utt.name]]))
            continue
        checks.append(_check(utt, lexicon, unknown, generated, readings, channel))
    entries = {**lexicon.user, **dict(sorted(generated.items()))}
    return ValidationReport(checks, unknown, orphan_transcripts(root), unreadable_inputs(root),
                            entries, Path(root), readings)


def _check(utt: Utterance, lexicon: Lexicon, unknown: dict[str, tuple[int, list[str]]],
           generated: dict[str, list[list[str]]],
           readings: dict[str, tuple[int, str]], channel: int | None = None) -> UtteranceCheck:
    """One utterance's check; its unknown words and generated pronunciations are added to
    `unknown` and `generated`, its numbers, symbols and abbreviations to `readings` (the
    corpus-wide tables)."""
    from aligner.audio import SAMPLE_RATE
    from aligner.formats import excerpt_problem, segment_problem
    from aligner.text.frontend import generated_pronunciations, prepare_text

    check = UtteranceCheck(utt.name, utt.speaker)
    _check_audio(utt, check, channel)
    if utt.transcript is None:
        check.problems.append(no_transcript_problem(utt.audio))
        return check
    conflict = transcript_conflict(utt)
    if conflict is not None:
        check.warnings.append(conflict)
    try:
        segments = _segments(utt.transcript)
    except ValueError as err:
        check.problems.append(one_line(err))
        return check
    check.warnings += chat_warnings(utt.transcript, segments)
    excerpt = excerpt_problem(segments, check.duration) if check.duration else None
    if excerpt is not None:  # as `align` says it: one line, not one per interval
        check.problems.append(f"{utt.transcript}: {excerpt}")
        return check
    issues = []  # utterance intervals `align` leaves out (`interval_not_aligned`)
    for segment in segments:
        check.warnings += stray_bracket_warnings(segment.text) + line_start_warnings(segment.text)
        try:
            prepared = prepare_text(segment.text, lexicon)
        except ValueError as err:
            if segment.whole:  # named as `align` names it: the file, then what is wrong
                check.problems.append(naming(segment.source, err))
                return check
            issues.append(f"{segment.source}: {one_line(err)}")
            continue
        n_phones = phone_count(prepared.phones)
        issue = (segment_problem(segment, n_phones, round(check.duration * SAMPLE_RATE))
                 if check.duration else None)  # as `align` judges it (unreadable audio: no)
        if issue is not None and segment.whole:  # the file fails; its words are still listed
            check.problems.append(f"{utt.audio}: {issue}")  # the recording, as `align` names it
        elif issue is not None:
            issues.append(f"{segment.source}: {issue}")
            continue
        generated.update(generated_pronunciations(prepared.words, lexicon))
        check.words += sum(w.pronunciations != [[STAR]] for w in prepared.words)  # as align counts
        check.phones += n_phones
        for word, phones in zip(prepared.words, prepared.phones):
            said = read_as(word.text, word.spoken)
            if said is not None:
                count, _ = readings.get(word.text, (0, said))
                readings[word.text] = (count + 1, said)
            if word.unknown:  # one row per word whatever its case, as in the dictionary
                key = word.text.lower()
                count, pron = unknown.get(key, (0, phones))
                unknown[key] = (count + 1, pron)
    if issues and len(issues) == len(segments):  # nothing left to align: the file fails
        check.problems += issues
    else:  # the rest is aligned, these intervals flagged and left out
        check.warnings += [f"{issue} (align leaves this interval out: interval_not_aligned)"
                           for issue in issues]
    return check


STRAY_EXAMPLES = 5


def stray_bracket_warnings(text: str) -> list[str]:
    """One warning naming the tokens with a bracket that is not markup (`stray_brackets`);
    none for HTML, which is refused, not aligned (`frontend.html_in`)."""
    from aligner.text.frontend import html_in
    from aligner.text.normalise import stray_brackets

    stray = [] if html_in(text) else stray_brackets(text)
    if not stray:
        return []
    shown = ", ".join(repr(t) for t in stray[:STRAY_EXAMPLES]) + (
        f" and {len(stray) - STRAY_EXAMPLES} more" if len(stray) > STRAY_EXAMPLES else "")
    return [f"bracket(s) not read as markup in {shown}: their letters are aligned as words; "
            "markup is a token of its own, closed ('[laughter]', '{LG}', '<unk>')"]


def line_start_warnings(text: str) -> list[str]:
    """A warning for speaker labels (`speaker_labels`) and one for list numbers (`list_numbers`)
    opening the transcript's lines: both are read as words said."""
    from aligner.text.normalise import list_numbers, speaker_labels

    labels, numbers = speaker_labels(text), list_numbers(text)
    return ([f"lines start with speaker labels ({', '.join(l + ':' for l in labels[:STRAY_EXAMPLES])}"
             "): they are aligned as words; give each speaker a tier of a TextGrid, or delete them"]
            if labels else []) + (
            [f"{len(numbers)} lines start with a list number "
             f"({', '.join(numbers[:3])}{', ...' if len(numbers) > 3 else ''}): "
             "they are aligned as words said ('one', 'two'); delete them if nobody says them"]
            if numbers else [])


def read_as(typed: str, spoken: list[str]) -> str | None:
    """The words a token is read as when they are not its own letters ("1984": "nineteen
    eighty four", "Dr.": "doctor", "$3.50", "10%", "e.g."), else None ("re-entered", "U.S.",
    "don't"): what a user checks before aligning, and overrides with a `--dictionary` entry
    for the token as typed."""
    letters = lambda text: re.sub(r"[^a-z]", "", text.lower())  # noqa: E731
    if not spoken or letters(typed) == letters("".join(spoken)):
        return None
    return " ".join(spoken)


def chat_warnings(transcript: Path, segments: list[Segment]) -> list[str]:
    """Warnings about a CHAT file read untimed (`chat.read_chat`): some of its utterances have
    a media bullet but not all, so none is timed; its speakers share one tier."""
    from aligner.chat import chat_speakers, is_chat_file, untimed_utterances
    from aligner.text.frontend import read_transcript

    # CHAT read untimed opens with a speaker code (`read_chat`): other text is not read again
    if not segments or not segments[0].whole or not segments[0].text.startswith("*"):
        return []
    text = read_transcript(transcript)
    if transcript.suffix.lower() != ".cha" and not is_chat_file(text):
        return []
    out = []
    untimed, total = untimed_utterances(text)
    if 0 < untimed < total:
        out.append(f"{untimed} of {total} CHAT utterances have no usable media bullet (start_end "
                   "in ms): the file is aligned as one text, untimed; give each a bullet")
    codes = chat_speakers(segments)
    if len(codes) >= 2:
        out.append(f"CHAT speakers {', '.join('*' + c + ':' for c in codes[:STRAY_EXAMPLES])} "
                   "share one tier: not every utterance has a media bullet (start_end in ms) to "
                   "align it by; link the media in CLAN, or keep one speaker's lines")
    return out


def _check_audio(utt: Utterance, check: UtteranceCheck, channel: int | None = None) -> None:
    """Sample rate, channels and duration from the header, then a full decode (truncation,
    NaN, silence; of `channel` alone when given): a problem when either fails."""
    from aligner.audio import audio_info, load_audio

    try:
        info = audio_info(utt.audio)
        check.sample_rate, check.channels, check.duration = (info.sample_rate, info.channels,
                                                             info.duration)
        load_audio(utt.audio, sample_rate=None, channel=channel)
    except ValueError as err:
        check.problems.append(one_line(err))


def _segments(transcript: Path) -> list[Segment]:
    """A transcript's utterances as `align` reads them (one, or one per utterance interval of a
    TextGrid); ValueError naming the file when there is nothing to read."""
    from aligner.formats import read_transcript_file

    segments = read_transcript_file(transcript)
    if not any(g.text.strip() for g in segments):
        raise ValueError(f"{transcript}: transcript is empty")
    return segments

