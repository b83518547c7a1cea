"""Audio + transcript -> Alignment: the one place where the pieces meet.

    audio (path or array) -> audio.py (mono 16 kHz) -> `encode`: the model's outputs, windowed
        for long files or batched for many
    transcript (text, file or utterance TextGrid) -> `read_segments` -> `prepare_text` (words,
        pronunciations)
    -> `decode`: targets.py (sil w1 sil w2 ... sil) -> a method of decode.DECODERS (token spans)
        -> words and phones

Long recordings: the model is run on windows of `CHUNK_SECONDS` with `CONTEXT_SECONDS` of extra
audio on each side, and only each window's centre is kept, so memory is bounded by the window
while every kept frame saw the same context it would have seen in one pass. The decoders then
align the whole transcript against the whole recording: up to `decode.LONG_FRAMES` (60 s) with
a method's short function, beyond with its long one, which re-anchors on the acoustics every
few tens of seconds so that the alignment cannot drift along an hour-long file (both bounded in
memory).

The model runs on the device its parameters are on (`Aligner.device`): a model that training
moved to a GPU is used there, with no second name for the device to disagree with it.

Errors a user can fix (bad audio, bad transcript, a transcript too long for its audio) raise
subclasses of ValueError with one-line messages naming the file; the CLI prints those.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable

import numpy as np

from aligner.alignment import Alignment, Evidence, Interval
from aligner.audio import SAMPLE_RATE, AudioError, as_mono, load_audio, prepare_waveform
from aligner.boundaries import MIN_PAUSE
from aligner.checks import (Flag, Thresholds, audible, beyond_audio, decoder_disagreement,
                            ends_in_speech, find_flags, flag_kind, for_speaker, heard_speech,
                            interval_mismatches, interval_not_aligned, noise_margin, noisy_audio,
                            overlapping_speech, recording_level, transcript_fit,
                            speech_in_pauses, untranscribed_turns, voiced_outside_words,
                            words_in_silence)
from aligner.corpus import TRANSCRIPT_EXTENSIONS
from aligner.decode import (DECODERS, DEFAULT_METHOD, Decoder, DecoderInput, decoder_for,
                            is_long)
from aligner.errors import naming, one_line
from aligner.formats import (ANNOTATION_FILES, NOT_TRANSCRIPTS, Segment, excerpt_problem,
                             last_ms, read_transcript_file, segment_problem, text_segments)
from aligner.text.errors import TranscriptError
from aligner.text.frontend import (PreparedText, is_pause, is_sentence_gap, load_lexicon,
                                   phone_count, prepare_text, without_pauses)
from aligner.word_evidence import DOUBTFUL_CONFIDENCE, on_words, word_edges, word_evidence

if TYPE_CHECKING:
    import torch

    from aligner.decode import TokenSpans
    from aligner.model import AcousticModel, NormPrior
    from aligner.text.frontend import Word
    from aligner.text.lexicon import Lexicon

CHUNK_SECONDS = 40.0
CONTEXT_SECONDS = 5.0


def swapped_arguments(audio: object, transcript: object) -> str | None:
    """Why `audio` and `transcript` look swapped (a transcript's name given as the audio and
    an audio file's as the transcript), or None: read the other way round, the recording's
    bytes were reported as a transcript that is not UTF-8."""
    from aligner.audio import AUDIO_EXTENSIONS

    if not (isinstance(audio, (str, Path)) and isinstance(transcript, (str, Path))):
        return None
    if (Path(audio).suffix.lower() in TRANSCRIPT_EXTENSIONS
            and Path(str(transcript)).suffix.lower() in AUDIO_EXTENSIONS):
        return f"{audio} looks like the transcript and {transcript} like the audio"
    return None


class AlignmentError(ValueError):
    """This audio and this transcript cannot be aligned (e.g. far too many phones for the audio)."""


class AudioTooShortError(AlignmentError):
    """The recording is too short for its whole transcript (more phones than anyone says in
    that time): the speaker stopped early, or it is not this transcript's recording. Its own
    class so that a service can say so rather than show the message."""


class NoSpeechError(AudioTooShortError):
    """The recording is too short for its whole transcript, and nobody speaks in it (`no_speech`'s
    measure): the speaker said nothing, a learner who did not answer, rather than stopping
    early. Its own class so that a service tells that speaker the right thing."""


def speech_share(wave: np.ndarray, min_share: float, voiced: "torch.Tensor | None" = None
                 ) -> float:
    """The share of a 16 kHz recording's frames that are voiced (`features.voiced_share`;
    `voiced`: its `voiced_frames` when computed already), looked at again in hiss when under
    `min_share` (`features.voiced_share_in_noise`): what `no_speech` judges."""
    from aligner.features import voiced_frames, voiced_share, voiced_share_in_noise

    share = voiced_share(voiced_frames(wave) if voiced is None else voiced)
    if share < min_share:  # in hiss? a second look
        share = max(share, voiced_share_in_noise(wave))
    return share


class DeviceError(ValueError):
    """The requested compute device is not available."""


class DeviceMemoryError(MemoryError):
    """The model ran out of memory on the CPU (or on the GPU and then on the CPU as well).

    A MemoryError, not a ValueError: the input is fine, the machine is too small for it; the
    CLI reports it (exit 1) and a corpus run goes on with the next utterance."""


def is_out_of_memory(err: BaseException) -> bool:
    """torch reports CUDA OOM as torch.OutOfMemoryError but a failed CPU allocation as a plain
    RuntimeError ("DefaultCPUAllocator: can't allocate memory")."""
    import torch

    oom_type = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    if isinstance(err, (oom_type, MemoryError)):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and ("out of memory" in text
                                              or "can't allocate memory" in text)


@dataclass(frozen=True)
class Encoded:
    """The model's outputs for one recording (or one interval of it), on the CPU: all that
    `Aligner.decode` needs besides the text, so they can be computed once, in a batch, and
    decoded with several methods."""

    log_probs: torch.Tensor  # [T, C] label log-posteriors, float32
    weight_logits: torch.Tensor  # [T] frame weights before their softmax (OTTC), float32
    duration: float  # seconds of audio
    change: torch.Tensor | None = None  # spectral change every 2.5 ms (features.spectral_change)
    boundary_features: torch.Tensor | None = None  # the boundary network's rows for the
    # recording (boundary_net.piece_rows), when it places boundaries
    levels: np.ndarray | None = None  # dB per frame of the samples as given (frame_levels):
    # the model's edge padding read them, and the checks read them again


def resolve_device(device: "str | torch.device | None" = "auto") -> str:
    """'auto' -> 'cuda' when a GPU is usable, else 'cpu'; a named device (a str or a
    torch.device) must exist here: DeviceError, whether the CLI or a program asked."""
    import torch

    if device is not None and not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be 'auto', 'cpu', 'cuda' or a torch.device, not "
                        f"{type(device).__name__}")
    device = str(device or "auto").lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"device {device!r} was requested but no CUDA GPU is available "
                          "(use cpu or auto)")
    if device == "mps" and not (torch.backends.mps.is_built() and torch.backends.mps.is_available()):
        raise DeviceError("device 'mps' was requested but this PyTorch has no usable Apple GPU "
                          "(use cpu or auto)")
    if device not in ("cpu", "mps") and not device.startswith("cuda"):
        raise DeviceError(f"unknown device {device!r} (use auto, cpu or cuda)")
    return device


def usable_cores() -> int:
    """The CPU cores this process may run on (a cgroup's or a batch job's share of a bigger
    machine, where `os.cpu_count()` counts them all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def torch_threads_cap() -> int:
    """The most CPU threads torch should use here: its own default, no more than the cores this
    process may run on (`usable_cores`)."""
    import torch

    return max(1, min(torch.get_num_threads(), usable_cores()))


def idle_threads() -> int:
    """CPU threads for torch in a command-line run when the user has not set them
    (OMP_NUM_THREADS, `adapt --threads`): the machine's cores that the 1-minute load average
    leaves idle, at least 1, and no more than the cores this process may use or torch's own
    default. Set once per process by the CLI (`cli.common.load_aligner`, `adapt`), not by
    `Aligner.load`: a service or a notebook that loaded a model at a busy moment would keep
    one thread for good.

    Why: torch's threads wait for each other at every operation, so on a busy machine one
    thread that is not scheduled stalls the others. On 2 cores beside one busy process,
    aligning 78 s of audio under `nice` took 20-21 s with 2 threads and 4.1-4.2 s with 1;
    adapting at load 10 took 14.5 s per step with 2 threads, 2.9 s with 1."""
    most = torch_threads_cap()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): torch's default
        return most
    # the load is the whole machine's: so are the cores it leaves idle (a batch job's 8 cores
    # on a 64-core node at load 56 keep their 8 threads)
    return max(1, min(most, (os.cpu_count() or 1) - int(round(load))))


class Aligner:
    """A loaded model plus pronunciation lexicon; `align` is safe to call many times.

    Two stages, usable on their own: `encode` (audio -> the model's outputs) and `decode`
    (outputs + prepared text -> Alignment); `align_waveform` runs both for each segment."""

    def __init__(self, model: AcousticModel, *, lexicon: Lexicon | None = None,
                 thresholds: Thresholds = Thresholds()) -> None:
        if not isinstance(thresholds, Thresholds):  # else every align fails, far from the cause
            raise TypeError(f"thresholds must be an aligner.checks.Thresholds (e.g. "
                            f"Thresholds(min_transcript_fit=0.01)), not {type(thresholds).__name__}")
        self.model = model
        self._lexicon = lexicon
        self.thresholds = thresholds
        cfg = model.config
        self.features = cfg.feature_config
        self.sample_rate = self.features.sample_rate
        self.hop = self.features.hop_length
        self.frame_duration = self.hop / self.sample_rate
        self._cpu_model = None
        self.on_progress: Callable[[int, int], None] | None = None  # (frames done, total)
        # speaker -> the model's norm_prior with that speaker's statistics (speaker_norm.py),
        # for recordings too short or too uniform to be normalised by themselves
        self.speaker_priors: dict[str, NormPrior] = {}
        # rescore pronunciation variants inside each word's span (`choose_variants`); False
        # keeps each word's first variant (an untrained model's choice hangs on noise)
        self.choose_variants = True
        # on-grid decoders (viterbi): move each boundary off the 10 ms grid to where the
        # posteriors cross (decode.refine_boundaries); False gives the plain frame path
        self.refine_boundaries = True
        # then, with refinement on, boundaries between manners move onto the spectral change
        # near them (boundaries.snap_to_change)
        self.snap_boundaries = True
        # and then, with refinement on, the model's boundary network (when it has one) moves
        # each boundary where the spectrum around it says (boundary_net.move_boundaries)
        self.place_boundaries = True
        # a word's fading last sound before a pause keeps the voicing that runs on after it
        # (boundaries.extend_into_voicing)
        self.voiced_ends = True
        # gaps between two words shorter than this are closed (boundaries.close_short_pauses),
        # and with it on, those under 0.1 s voiced throughout at the level of speech
        self.min_pause = MIN_PAUSE
        # a word may pause between any two of its phones (`with_pauses_in_words`: a block, a
        # word read syllable by syllable). Off by default: wrong transcripts fit a little better
        # with it (docs/benchmarks/pauses_in_words.md); a CTC model's path has no optional
        # tokens for it, and ignores it
        self.pauses_in_words = False
        # a transcript of several sentences gets an optional gap before, between and after
        # them that takes speech it leaves out (`with_sentence_gaps`: a sentence missing from
        # a long recording's transcript), shown as a pause and flagged `untranscribed_speech`;
        # not with a CTC model, whose path has no optional tokens
        self.sentence_gaps = True
        # which channel of a recording file to align (1 the first), None for their mix: a
        # patient on one microphone and the clinician on the other
        self.channel: int | None = None
        # the phones (and the flags on them) labelled in IPA as `align_waveform`'s last step
        # (`aligner.ipa`): what every output, the console and a corpus run's report then show;
        # the times are the same, and `decode` on its own still gives ARPAbet
        self.ipa = False

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, model: str | Path | None = None, device: str = "auto",
             dictionary: str | Path | None = None,
             thresholds: Thresholds = Thresholds()) -> "Aligner":
        """Load a model directory (None: the shipped English model) onto `device`."""
        import torch

        from aligner.model import load_model

        device = resolve_device(device)
        if device == "cpu" and os.environ.get("OMP_NUM_THREADS") is None:
            torch.set_num_threads(torch_threads_cap())
        net = load_model(Path(model) if model is not None else None, device=device)
        lexicon = _load_lexicon(dictionary) if dictionary is not None else None
        return cls(net, lexicon=lexicon, thresholds=thresholds)

    @property
    def device(self) -> torch.device:
        """Where the model computes: wherever its parameters are."""
        return next(self.model.parameters()).device

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = _load_lexicon(None)
        return self._lexicon

    # ------------------------------------------------------------------ public API
    def align(self, audio: Path | str | BinaryIO | np.ndarray | torch.Tensor,
              transcript: Path | str | None = None, sample_rate: int | None = None,
              method: str = DEFAULT_METHOD, speaker: str | None = None, *,
              text: str | None = None) -> Alignment:
        """Align one recording with its transcript (text, a .txt/.lab file, or a one-speaker
        utterance TextGrid), or with `text`, which is always the words themselves (never read
        as a file name: for text from a user of a service). `audio` is a path, a file opened
        with 'rb', or samples ([N] or [N, channels], a numpy array or a torch tensor) with
        `sample_rate` (required for samples, and taken as given). `method`: "viterbi" (the
        default and the accurate one) or "ot" (`DECODERS`). `speaker`: the name the result
        carries (`Alignment.speaker`), whose statistics normalise the recording only where
        `speaker_priors` holds them (a corpus run fills it). Flags are on the result
        (`Alignment.flags`), never raised.

        Raises a ValueError with a one-line message naming the input for anything a user can
        fix: `AudioError` (unreadable, silent, NaN or wrongly scaled audio), `TranscriptError`
        (no words, IPA, a bad dictionary), `AlignmentError` (`AudioTooShortError`: too short
        for its transcript; several speaker tiers: `align_speakers`); `TypeError` for inputs
        of the wrong type; `DeviceMemoryError` when even the CPU has too little memory."""
        _refuse_swapped(audio, transcript)
        segments = self.read_segments(transcript, text=text)
        speakers = {_owner(s, speaker) for s in segments}
        if len(speakers) != 1:  # said before minutes of aligning, not after
            raise AlignmentError(f"{_name(transcript)}: has {len(speakers)} speaker tiers; "
                                 "use Aligner.align_speakers for several speakers")
        wave, name = self.load_waveform(audio, sample_rate)
        return self.align_waveform(wave, segments, method, name, speaker)[0]

    def align_speakers(self, audio: Path | str | BinaryIO | np.ndarray | torch.Tensor,
                       transcript: Path | str | None = None, sample_rate: int | None = None,
                       method: str = DEFAULT_METHOD, speaker: str | None = None, *,
                       text: str | None = None, name: str | None = None) -> list[Alignment]:
        """Like `align`, but a transcript TextGrid may have one tier per speaker: returns one
        Alignment per speaker, each covering the whole recording. `name`: what errors call
        samples given as an array (their file, when the caller read it; else `<array>`)."""
        _refuse_swapped(audio, transcript)
        segments = self.read_segments(transcript, text=text)
        wave, loaded = self.load_waveform(audio, sample_rate)
        return self.align_waveform(wave, segments, method, name or loaded, speaker)

    # ------------------------------------------------------------------ steps
    def load_waveform(self, audio: Path | str | BinaryIO | np.ndarray | torch.Tensor,
                      sample_rate: int | None = None) -> tuple[np.ndarray, str]:
        """(mono samples at the model's rate, name). A file (a path, or one opened with 'rb')
        knows its rate; samples (an array or a torch tensor) need `sample_rate`: assuming one
        would silently stretch or squeeze every time in the result."""
        if isinstance(audio, (bytes, bytearray, memoryview)):
            raise TypeError(f"audio given as {type(audio).__name__}: wrap an encoded file's bytes "
                            "in io.BytesIO(data), or decode them to samples first")
        if audio is None:
            raise TypeError("audio is None: give a path, a file opened with 'rb', or samples")
        if isinstance(audio, (str, Path)):
            return load_audio(Path(audio), self.sample_rate, self.channel), str(audio)
        if hasattr(audio, "read"):  # an open file: soundfile reads it where it stands
            return (load_audio(audio, self.sample_rate, self.channel),
                    str(getattr(audio, "name", "<file object>")))
        if self.channel is not None:  # an array's layout is the caller's: slice it there
            raise AudioError(f"<array>: Aligner.channel ({self.channel}) picks a channel of a file; "
                             "pass that channel's samples, e.g. samples[:, 0]")
        if sample_rate is None:
            raise AudioError("<array>: sample_rate is required with an array of samples: pass the "
                             f"rate it was recorded at (it is resampled to {SAMPLE_RATE} Hz)")
        return prepare_waveform(audio, sample_rate, "<array>", self.sample_rate), "<array>"

    def read_segments(self, transcript: Path | str | None = None, *,
                      text: str | None = None) -> list[Segment]:
        """The transcript's utterances: one over the whole recording for text, one per interval
        for an utterance TextGrid. An alignment or subtitle file (.json, .csv, .tsv, .ctm, .srt,
        .vtt: this tool's own outputs among them) is refused: read as text, its syntax would be
        aligned as words. `text` (instead of `transcript`) is the words, never a file name."""
        if transcript is None and text is None:
            raise TypeError("transcript must be text (str) or a path (or the words as text=), "
                            "not None")
        if transcript is not None and text is not None:
            raise TypeError("give the transcript or text=, not both")
        if text is not None:
            if not isinstance(text, str):
                raise TypeError(f"text must be a str, not {type(text).__name__}")
            return text_segments(text, "<transcript>")
        if not isinstance(transcript, (str, Path)):
            hint = " (decode the bytes first: data.decode('utf-8'))" if isinstance(
                transcript, (bytes, bytearray)) else ""
            raise TypeError(f"transcript must be text (str) or a path, not "
                            f"{type(transcript).__name__}{hint}")
        path = _as_transcript_path(transcript)
        if path is None:
            return text_segments(str(transcript), "<transcript>")
        if not path.exists():
            hint = " (a transcript string that looks like a file name is read as a file)"
            if isinstance(transcript, Path):  # the CLI's TRANSCRIPT, or a Path in Python
                hint = (" (the transcript is a file: to give the words themselves, write them "
                        "to one first, e.g. echo 'the words' > x.txt)"
                        if " " in path.name and not path.suffix else "")
            shown = transcript if isinstance(transcript, Path) else str(transcript).strip()
            raise TranscriptError(f"{shown}: transcript not found{hint}")  # as the user wrote it
        if path.is_dir():
            raise TranscriptError(f"{path}: is a directory, not a transcript file")
        return read_transcript_file(path)

    def align_waveform(self, wave: np.ndarray, segments: Sequence[Segment],
                       method: str = DEFAULT_METHOD, name: str = "<array>",
                       speaker: str | None = None, encoded: Encoded | None = None
                       ) -> list[Alignment]:
        """Align 16 kHz samples with their transcript's segments: one Alignment per speaker.

        Each segment is encoded and decoded on its own; `encoded`, the model's outputs for the
        whole of `wave` when the caller already has them (a corpus batch), serves the segments
        that span the whole recording."""
        from aligner.boundaries import (close_short_inner_pauses, close_short_pauses,
                                        extend_into_voicing, hold_single_sound,
                                        sounding_frames)
        from aligner.features import frame_levels, voiced_and_band
        from aligner.text.phones import SILENCE, SPOKEN_NOISE, STAR

        duration = len(wave) / self.sample_rate
        if encoded is not None and abs(encoded.duration - duration) > self.frame_duration:
            raise ValueError(f"{name}: `encoded` holds {encoded.duration:.2f} s of model outputs "
                             f"but the audio is {duration:.2f} s long: encode this recording")
        per_speaker: dict[str | None, list[Alignment]] = {}
        aligned_text: dict[str | None, list[str]] = {}  # each speaker's aligned segments' text
        segment_flags: dict[str | None, list[Flag]] = {}  # found segment by segment: intervals
        # that could not be aligned, speech in a long pause
        first_error: ValueError | None = None
        spoken: list[Segment] = []
        whole_voiced = whole_levels = whole_band = None  # voicing, levels and band of the whole
        # recording, when a segment spans it (computed once)
        excerpt = excerpt_problem(segments, duration)
        if excerpt is not None:
            raise AlignmentError(f"{name}: {excerpt}")
        for segment in segments:
            owner = _owner(segment, speaker)
            try:
                prepared = self.prepare_text(segment.text, segment.source)
                problem = segment_problem(segment, phone_count(prepared.phones), len(wave),
                                          self.sample_rate, self.hop, self.model.config.states)
                if problem is not None:  # the whole recording: it is too short for the text
                    if segment.whole:
                        share = speech_share(wave, self.thresholds.min_voiced_share)
                        if share < self.thresholds.min_voiced_share:
                            raise NoSpeechError(f"{name}: {problem}; and nobody seems to speak "
                                                f"in it (only {share:.1%} voiced)")
                        raise AudioTooShortError(f"{name}: {problem}")
                    raise AlignmentError(f"{name} [{segment.source}]: {problem}")
            except (AlignmentError, TranscriptError) as err:
                if segment.whole or len(segments) == 1:  # nothing else to align: the file fails
                    raise
                first_error = first_error or err
                # one interval of a TextGrid: the others are aligned, as MFA aligns each of
                # its utterances on its own; the flag says what is missing
                segment_flags.setdefault(owner, []).append(
                    interval_not_aligned(segment.start, segment.end, one_line(err)))
                per_speaker.setdefault(owner, [])
                continue
            lo, hi = segment.span(len(wave), self.sample_rate)
            piece, offset = wave[lo:hi], lo / self.sample_rate
            outputs = (encoded if segment.whole and encoded is not None
                       else self.encode(piece, self.speaker_prior(speaker, [segment])))
            voiced, band = voiced_and_band(piece)
            levels = (outputs.levels if outputs.levels is not None  # the samples' own
                      else frame_levels(piece).numpy())
            a = self.decode(outputs, prepared, method, sounding_frames(voiced.numpy(), levels)
                            if self.pauses_in_words else None)
            if segment.whole:
                whole_voiced, whole_levels, whole_band = voiced, levels, band
            if self.voiced_ends:
                words, phones = extend_into_voicing(a.words, a.phones, voiced.numpy(), levels,
                                                    self.frame_duration, a.duration)
                if segment.whole:  # a TextGrid interval's "mm" may overlap another's speech
                    words, phones = hold_single_sound(words, phones, voiced.numpy(), levels,
                                                      self.frame_duration, a.duration)
                a = replace(a, words=words, phones=phones)
            if self.min_pause > 0:
                words, phones = close_short_pauses(a.words, a.phones, self.min_pause,
                                                   voiced.numpy(), levels, self.frame_duration)
                if self.pauses_in_words:  # and a reading's pauses, as before, left as found
                    phones = close_short_inner_pauses(words, phones, self.min_pause,
                                                      voiced.numpy(), levels, self.frame_duration)
                a = replace(a, words=words, phones=phones)
            a = replace(a, word_evidence=on_words(a.word_evidence, a.words))
            share = speech_share(piece, self.thresholds.min_voiced_share, voiced)
            heard = heard_speech(outputs.log_probs.numpy())  # what voicing alone misses
            n = min(len(heard), len(voiced), len(levels))
            heard[:n] &= audible(levels[:n], a.words, self.frame_duration)
            speech = np.concatenate([voiced.numpy()[:n] | heard[:n], voiced.numpy()[n:]])
            # a pause word (`{SL}`, `<sil>`) covers no speech: typed over words, they are missing
            pauses = {w.text for w, p in zip(prepared.words, prepared.phones) if is_pause(p)}
            said = [w for w in a.words if w.label not in pauses]
            a = replace(a, voiced_share=share, voiced_outside=voiced_outside_words(
                said, speech, self.frame_duration))
            segment_flags.setdefault(owner, []).extend(speech_in_pauses(
                said, speech, self.thresholds, self.frame_duration, offset))
            per_speaker.setdefault(owner, []).append(_shift(a, offset))
            aligned_text.setdefault(owner, []).append(segment.text.strip())
            if any(ph not in (SPOKEN_NOISE, STAR, SILENCE) for p in prepared.phones for ph in p):
                spoken.append(segment)  # a tier of [laughter] alone overlaps no one's speech
        if not any(per_speaker.values()):  # no interval could be aligned: the file fails
            raise first_error
        out = []
        levels = frame_levels(wave).numpy() if whole_levels is None else whole_levels
        if whole_voiced is None:
            whole_voiced, whole_band = voiced_and_band(wave)
        whole_voiced = whole_voiced.numpy()
        speech_band = frame_levels(wave, emphasis=True).numpy()  # for the noise allowance
        # once: the report joins the speakers' flags
        words = [w for parts in per_speaker.values() for a in parts for w in a.words]
        recording = [*recording_level(wave), *ends_in_speech(whole_voiced, levels, duration,
                                                             self.frame_duration),
                     *noisy_audio(words, levels, whole_voiced, self.frame_duration, duration)]
        if not all(g.whole for g in segments):  # speech outside every speaker's intervals
            recording += untranscribed_turns([(g.start, g.end) for g in segments],
                                             whole_voiced, self.thresholds, self.frame_duration)
        talk = [(g.start, g.end, _owner(g, speaker))
                for g in spoken if not g.whole]  # (start, end, speaker) of intervals with words
        for spk, parts in per_speaker.items():
            merged = _merge(parts, duration, spk)
            merged.noise_margin = noise_margin(merged.words, speech_band, whole_voiced,
                                               self.frame_duration)
            merged.band_edge = whole_band
            own = [(g.start, g.end) for g in segments if not g.whole and _owner(g, speaker) == spk]
            mine = [(start, end) for start, end, who in talk if who == spk]
            flags = [*segment_flags.get(spk, []), *find_flags(merged, self.thresholds),
                     *interval_mismatches(parts, self.thresholds, merged.noise_margin, whole_band),
                     *beyond_audio(own, duration),
                     *overlapping_speech(mine, [t for t in talk if t[2] != spk], self.thresholds),
                     *words_in_silence(merged.words, levels, self.frame_duration)]
            if len(per_speaker) > 1 and spk is not None:  # whose tier: the report pools them
                flags = [for_speaker(f, spk) for f in flags]
            if len(per_speaker) == 1 and any(flag_kind(f) == "no_speech" for f in flags):
                # the words lie on noise: "pauses only 0.4 dB quieter than the words" compared
                # the noise with itself
                recording = [f for f in recording if flag_kind(f) != "noisy_audio"]
            merged.flags = [*flags, *(recording if not out else [])]
            merged.text = " ".join(aligned_text.get(spk, [])) or None
            merged.channel = self.channel
            out.append(merged)
        if self.ipa:
            from aligner.ipa import with_ipa_phones

            out = [with_ipa_phones(a) for a in out]
        return out

    def prepare_text(self, text: str, source: str = "<transcript>") -> PreparedText:
        """`text.frontend.prepare_text` with this Aligner's lexicon; errors name `source`."""
        if not text or not text.strip():
            raise TranscriptError(f"{source}: transcript is empty")
        try:
            ctc = self.model.config.loss == "ctc"  # its path has no optional tokens
            return prepare_text(text, self.lexicon, self.pauses_in_words and not ctc,
                                self.sentence_gaps and not ctc)
        except ValueError as err:  # the front-end does not know the file: name it here
            raise type(err)(naming(source, err)) from None

    # ------------------------------------------------------------------ stage 1: encode
    def encode(self, waves: np.ndarray | torch.Tensor | Sequence[np.ndarray | torch.Tensor],
               priors: NormPrior | Sequence[NormPrior | None] | None = None
               ) -> Encoded | list[Encoded]:
        """The model's outputs for one recording, or for each of a list of recordings.

        One recording is an array or a tensor of samples at the model's rate: [N], or
        [N, channels] mixed to mono as `align` mixes them (a batch is a list, never a 2-D
        array). It is run in windows of CHUNK_SECONDS (memory bounded for any length; on a
        CUDA out-of-memory error it is redone on the CPU). A list is run as one padded batch
        (GPU throughput, and on the CPU half the time of one by one); recordings longer than
        one window go through the windows on their own. `priors`: the normalisation's prior
        in place of the model's (`speaker_priors`), one, or one per recording of a list (None:
        the model's); a model without a `norm_prior` takes none (its gates are the model's)."""
        from aligner.features import frame_levels, model_wave

        if self.model.norm_prior is None:
            priors = None
        if _is_one_recording(waves):
            mono = as_mono(waves)
            return self._encode_windowed(model_wave(mono), priors, frame_levels(mono).numpy())
        if priors is None or not isinstance(priors, (list, tuple)):
            priors = [priors] * len(waves)
        monos = [as_mono(w) for w in waves]
        return self._encode_batch([model_wave(m) for m in monos], list(priors),
                                  [frame_levels(m).numpy() for m in monos])

    def _encode_windowed(self, wave: np.ndarray, prior: NormPrior | None,
                         levels: np.ndarray) -> Encoded:
        import torch

        seconds = len(wave) / self.sample_rate
        try:
            return self._encode_on(self.model, wave, prior, levels)
        except (RuntimeError, MemoryError) as err:
            if not is_out_of_memory(err):
                raise
            if self.device.type != "cuda":
                raise DeviceMemoryError(f"out of memory running the model on the CPU "
                                        f"({seconds:.1f} s of audio)") from None
        with contextlib.suppress(Exception):
            torch.cuda.empty_cache()
        try:  # the GPU is too small for this recording: do it on the CPU instead
            if self._cpu_model is None:
                import copy

                self._cpu_model = copy.deepcopy(self.model).to("cpu")
            return self._encode_on(self._cpu_model, wave, prior, levels)
        except (RuntimeError, MemoryError) as err:
            if not is_out_of_memory(err):
                raise
            raise DeviceMemoryError(f"out of memory running the model on {self.device.type} and "
                                    f"on the CPU ({seconds:.1f} s of audio)") from None

    def _encode_on(self, model, wave: np.ndarray, prior: NormPrior | None,
                   levels: np.ndarray) -> Encoded:
        """Windows of CHUNK_SECONDS, each seeing CONTEXT_SECONDS more audio on both sides
        (cut away again), and the first and last the silence `edge_padding` adds, run on
        `model`'s device in its precision. levels: the recording's `frame_levels`."""
        import torch

        from aligner.features import edge_padding, num_frames, pad_edges

        param = next(model.parameters())
        before, after = edge_padding(wave, levels)
        total = num_frames(len(wave), self.hop)
        chunk = int(CHUNK_SECONDS / self.frame_duration)
        ctx = int(CONTEXT_SECONDS / self.frame_duration)
        log_probs = torch.empty(total, self.model.config.n_classes, dtype=torch.float32)
        weights = torch.empty(total, dtype=torch.float32)
        with torch.inference_mode():
            for first in range(0, total, chunk):
                last = min(total, first + chunk)
                lo, hi = max(0, first - ctx), min(total, last + ctx)
                left, right = before if lo == 0 else 0, after if hi == total else 0
                piece = pad_edges(wave[lo * self.hop: hi * self.hop], left, right, self.hop)
                feats, live = self._features(torch.from_numpy(piece))
                lengths = torch.tensor([feats.shape[0]], device=param.device)
                lp, wl = model(feats[None].to(param.device, param.dtype), lengths,
                               live[None].to(param.device), prior)
                keep = slice(left + first - lo, left + last - lo)
                log_probs[first:last] = lp[0, keep].float().cpu()
                weights[first:last] = wl[0, keep].float().cpu()
                if self.on_progress is not None:
                    self.on_progress(last, total)
        return Encoded(log_probs, weights, len(wave) / self.sample_rate, *self._fine(wave),
                       levels=levels)

    def _encode_batch(self, waves: list[np.ndarray], priors: list[NormPrior | None],
                      levels: list[np.ndarray]) -> list[Encoded]:
        import torch

        from aligner.features import edge_padding, num_frames, pad_edges

        limit = int(CHUNK_SECONDS * self.sample_rate)
        out: list = [None] * len(waves)
        short = [i for i, w in enumerate(waves) if len(w) <= limit]
        for i, w in enumerate(waves):
            if len(w) > limit:
                out[i] = self._encode_windowed(w, priors[i], levels[i])
        if not short:
            return out
        edges = {i: edge_padding(waves[i], levels[i]) for i in short}  # as _encode_on
        padded = {i: pad_edges(waves[i], *edges[i], self.hop) for i in short}
        param = next(self.model.parameters())
        lengths = torch.tensor([num_frames(len(padded[i]), self.hop) for i in short])
        with torch.inference_mode():
            # one recording at a time (a padded batch STFT took twice as long on the CPU, and
            # its padding would count as digital silence), then one batch through the model
            feats = torch.zeros(len(short), int(lengths.max()), self.features.n_mels)
            live = torch.zeros(len(short), int(lengths.max()), dtype=torch.bool)
            for row, i in enumerate(short):
                n = int(lengths[row])
                feats[row, :n], live[row, :n] = self._features(torch.from_numpy(padded[i]))
            lp, wl = self.model(feats.to(param.device, param.dtype), lengths.to(param.device),
                                live.to(param.device),
                                self._batch_prior([priors[i] for i in short]))
        for row, i in enumerate(short):
            keep = slice(edges[i][0], int(lengths[row]) - edges[i][1])
            out[i] = Encoded(lp[row, keep].float().cpu(), wl[row, keep].float().cpu(),
                             len(waves[i]) / self.sample_rate, *self._fine(waves[i]),
                             levels=levels[i])
        return out

    def speaker_prior(self, speaker: str | None, segments: Sequence[Segment]
                      ) -> NormPrior | None:
        """`speaker_priors[speaker]` when every segment holds that speaker's words; None when
        one is a tier named for someone else (an examiner's voice is not the speaker's)."""
        if any(_owner(segment, speaker) != speaker for segment in segments):
            return None
        return self.speaker_priors.get(speaker)

    def _batch_prior(self, priors: list[NormPrior | None]) -> NormPrior | None:
        """One prior per row (`model.stacked_priors`), the model's own for a row without one;
        None (the model's for all) when no row has one of its own."""
        from aligner.model import stacked_priors

        if all(p is None for p in priors):
            return None
        return stacked_priors([p if p is not None else self.model.norm_prior for p in priors])

    def recording_statistics(self, wave: np.ndarray
                             ) -> "tuple[torch.Tensor, torch.Tensor] | None":
        """`model.recording_statistics` of 16 kHz samples, as the model would count them
        (scaled up when quiet, digital silence left out): what a speaker's prior is made of."""
        import torch

        from aligner.features import model_wave
        from aligner.model import recording_statistics

        feats, live = self._features(torch.from_numpy(model_wave(as_mono(wave))))
        config = self.model.config
        return recording_statistics(feats, live, config.norm_top_db, config.norm_level)

    def _features(self, wave: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
        """The model's input for samples [N] on the CPU: (log-mels [T, n_mels] with the excess
        of digital silence filled in, which frames the normalisation counts)
        (`features.model_input`)."""
        from aligner.features import log_mel, model_input

        return model_input(log_mel(wave, self.features), self.features.log_floor)

    def _fine(self, wave: np.ndarray) -> "tuple[torch.Tensor | None, torch.Tensor | None]":
        """(the spectral change that boundaries snap to, the boundary network's rows) from one
        fine analysis of the recording (`features.fine_spectra`); each None when its step is
        off, and nothing is computed when both are (a tenth of the encoding time)."""
        import torch

        from aligner.boundary_net import piece_rows
        from aligner.features import fine_spectra, piece_change

        snap = self.refine_boundaries and self.snap_boundaries
        net = self.model.boundary_net if self.refine_boundaries and self.place_boundaries else None
        if not snap and net is None:
            return None, None
        changes, rows = [], []
        for piece in fine_spectra(torch.from_numpy(wave)):
            if snap:
                changes.append(piece_change(piece))
            if net is not None:
                rows.append(piece_rows(net, piece))
        return (torch.cat(changes) if snap else None,
                torch.cat(rows) if net is not None else None)

    # ------------------------------------------------------------------ stage 2: decode
    def decode(self, encoded: Encoded, prepared: PreparedText,
               method: str = DEFAULT_METHOD, sounding: np.ndarray | None = None) -> Alignment:
        """Words and phones of one utterance from the model's outputs for its audio (times from
        the start of that audio; no flags: `align_waveform` adds them per speaker).

        sounding: which frames of the audio hold sound (`boundaries.sounding_frames`); where
        words may pause between their phones (`with_pauses_in_words`), a word whose pause lies
        on sound is decoded again without its pauses: a pause is silence, and on learners'
        speech the model's silence took voiced stretches that match no phone well. (A reading's
        pauses alone are left as found: taken back and closed as these are, the synthetic
        voices' readings lost 0.06 and 0.2 points within 20 ms.)"""
        from aligner.boundaries import snap_to_change
        from aligner.boundary_net import move_boundaries
        from aligner.features import CHANGE_FEATURES
        from aligner.states import phone_log_probs, with_markup_scores
        from aligner.text.phones import (MARKUP_IDS, SILENCE, SPOKEN_NOISE, STAR, phone_ids,
                                         phone_label)

        decoder = self._decoder(method)
        if decoder.needs_weights and any(w.phone_pauses for w in prepared.words):
            # OT gives a pause inside a word no mass, so no frames: its phones are placed as
            # without it (with it, ot's gold-dev share fell 48.8% -> 47.0%)
            prepared = without_pauses_in(prepared, {k for k, w in enumerate(prepared.words)
                                                    if w.phone_pauses})
        if decoder.needs_weights and any(is_sentence_gap(w) for w in prepared.words):
            prepared = without_sentence_gaps(prepared)  # a wildcard has OT mass: it would
            # take frames wherever it stands
        duration = encoded.duration
        log_probs, weight_logits = encoded.log_probs, encoded.weight_logits
        ids = [phone_ids(p, markup=True) for p in prepared.phones]
        # once: the decoder and the variant choice
        phone_lp = phone_log_probs(log_probs, self.model.config.states)
        if any(ph in MARKUP_IDS for w in prepared.words for v in w.pronunciations for ph in v):
            # spoken noise and <star> are scored from the posteriors (aligner/states.py)
            log_probs, phone_lp = with_markup_scores(log_probs), with_markup_scores(phone_lp)
        spans, token_word, plan, path = self._spans(log_probs, weight_logits, ids, decoder,
                                                    phone_lp, prepared)
        held = (pauses_over_sound(prepared, token_word.tolist(), spans.start.tolist(),
                                  spans.end.tolist(), sounding, self.frame_duration)
                if sounding is not None and any(w.phone_pauses for w in prepared.words)
                else set())
        if held:
            prepared = without_pauses_in(prepared, held)
            ids = [phone_ids(p, markup=True) for p in prepared.phones]
            spans, token_word, plan, path = self._spans(log_probs, weight_logits, ids, decoder,
                                                        phone_lp, prepared)
        if self.choose_variants and any(len(w.pronunciations) > 1 for w in prepared.words):
            chosen = choose_variants(phone_lp.numpy(), prepared.words, spans, token_word,
                                     self.frame_duration, self.model.config.states)
            fits = phone_count(chosen) * self.model.config.states <= log_probs.shape[0]
            if chosen != prepared.phones and fits:
                changed = [k for k, (a, b) in enumerate(zip(prepared.phones, chosen)) if a != b]
                guide = None if path is None else (path, plan[1].tokens.numpy(),
                                                   plan[1].word.numpy(), changed)
                prepared = PreparedText(prepared.words, chosen, {
                    w.text: without_pauses(c) for w, c in zip(prepared.words, chosen) if w.unknown})
                ids = [phone_ids(p, markup=True) for p in chosen]
                spans, token_word, plan, path = self._spans(log_probs, weight_logits, ids,
                                                            decoder, phone_lp, prepared, guide)
        phones_out: list[Interval] = []
        owner: list[int] = []
        unheard: list[tuple[int, str, int]] = []  # (place among phones_out, label, word)
        flat = [ph for p in prepared.phones for ph in p]
        k = 0
        # as Python numbers once: indexing a tensor per token cost more than the rest of the loop
        starts, ends, confidences = (spans.start.tolist(), spans.end.tolist(),
                                     spans.confidence.tolist())
        gap = [is_sentence_gap(w) for w in prepared.words]
        for j, w in enumerate(token_word.tolist()):
            if w < 0:
                continue
            phone, k = flat[k], k + 1
            if gap[w]:  # a pause, as between two words: the speech it took lies outside words
                continue
            label = "" if phone == SILENCE else phone_label(phone)  # a `{SL} sil` word's pause
            if ends[j] - starts[j] < self.frame_duration / 2 and phone in (
                    STAR, SPOKEN_NOISE, SILENCE):  # optional, and it took no time
                inner = phone == SILENCE and not is_pause(prepared.phones[w])
                if phone != STAR and not inner:  # a transcript word: a sliver (`with_unheard`)
                    unheard.append((len(phones_out), label, w))
                continue  # the wildcard stands for what may not be there: no interval
            # markup has no confidence: nothing was said about what it sounds like (nor a
            # pause word's silence, which is no speech to doubt)
            conf = None if phone in MARKUP_IDS or phone == SILENCE else confidences[j]
            phones_out.append(Interval(starts[j], ends[j], label, conf))
            owner.append(w)
        on_model_grid = tidy_phones(phones_out, duration)  # what the fit below judges
        grid_words: list[list[Interval]] = [[] for _ in prepared.words]
        for p, o in zip(on_model_grid, owner):
            grid_words[o].append(p)
        if self.refine_boundaries and self.snap_boundaries and encoded.change is not None:
            phones_out = tidy_phones(snap_to_change(phones_out, encoded.change.numpy(),
                                                    CHANGE_FEATURES.frame_duration), duration)
        else:
            phones_out = on_model_grid
        rows = encoded.boundary_features
        if self.refine_boundaries and self.place_boundaries and rows is not None:
            pauses = {w for w, p in enumerate(prepared.phones) if is_pause(p)}  # `{SL}`: its
            kept = {k for k, o in enumerate(owner) if o in pauses} if pauses else ()  # edges stay
            phones_out = tidy_phones(move_boundaries(phones_out, rows, self.model.boundary_net,
                                                     kept), duration)
        if unheard:
            phones_out, owner = with_unheard(phones_out, owner, unheard, duration)
        by_word: list[list[Interval]] = [[] for _ in prepared.words]
        for p, o in zip(phones_out, owner):  # one pass: a 2-hour file has ~10^5 phones
            by_word[o].append(p)
        words_out, doubtful = [], {}
        for k, (word, mine) in enumerate(zip(prepared.words, by_word)):
            if not mine:  # a wildcard that took no time
                continue
            scored = [p.confidence for p in mine if p.confidence is not None]
            conf = float(np.exp(np.mean(np.log(np.clip(scored, 1e-12, 1))))) if scored else None
            words_out.append(Interval(mine[0].start, mine[-1].end, word.text, conf))
            if conf is not None and conf < DOUBTFUL_CONFIDENCE:
                doubtful[k] = words_out[-1]
        evidence = []
        if doubtful and plan is not None:
            x, states = plan
            edges = word_edges(starts, ends, token_word.tolist(), len(prepared.words),
                               self.frame_duration)
            markup = {k for k, pron in enumerate(ids)  # not a sentence gap: no wall, or no
                      if any(ph in MARKUP_IDS.values() for ph in pron)  # sentence's first or
                      and not gap[k]}  # last word would be judged (review 124)
            nats = word_evidence(x.log_probs, x.targets, states.word, x.optional, edges,
                                 list(doubtful), markup, cost=x.cost)
            evidence = [Evidence(doubtful[k].start, doubtful[k].end, doubtful[k].label, v)
                        for k, v in sorted(nats.items())]
        disagreement = 0.0
        alpha = None if plan is None else plan[0].alpha.float()
        if not decoder.needs_weights and plan is not None and not is_long(log_probs.shape[0]):
            disagreement = self._disagreement(plan, log_probs, weight_logits, ids, grid_words,
                                              duration, gap)
        return Alignment(words_out, phones_out, duration, None,
                         unknown_words=dict(prepared.unknown),
                         alpha=alpha.tolist() if alpha is not None else None,
                         transcript_fit=transcript_fit(phone_lp.numpy(), on_model_grid,
                                                       self.frame_duration,
                                                       [w.confidence for w in words_out],
                                                       disagreement),
                         word_evidence=evidence)

    def _disagreement(self, plan, log_probs, weight_logits, ids: list[list[int]],
                      by_word: list[list[Interval]], duration: float,
                      gaps: Sequence[bool] = ()) -> float:
        """`checks.decoder_disagreement` between the words of the Viterbi path (`by_word`: each
        word's phones on the model's grid, as the fit judges them, before any snapping) and
        those of the frame weights' transport plan, for the same
        pronunciations `ids`. Words wholly of markup are left out: a wildcard may take no time
        on the path while the plan gives it its mass. Short inputs only (`decode.is_long`):
        beyond, the plan is re-anchored on the path and would mostly agree with it anyway.
        plan: the Viterbi pass's (DecoderInput, state targets), whose weights and masses the
        transport plan takes as they are unless markup needs masses of its own. gaps: per word,
        whether it is a sentence gap, left out of the plan: its wildcard would take its mass
        (as `decode` leaves them out for ot)."""
        from aligner.decode import ot_boundaries
        from aligner.text.phones import MARKUP_IDS

        if any(gaps):
            keep = [k for k, g in enumerate(gaps) if not g]
            ids, by_word = [ids[k] for k in keep], [by_word[k] for k in keep]
        # the transport plan's boundaries alone: its confidences are not needed here
        x, states = plan
        if bool((states.tokens >= self.model.config.n_classes).any()):  # markup (a gap's too)
            x, _, states, _, _ = self._decoder_input(log_probs, weight_logits, ids,
                                                     DECODERS["ot"])
        start, end = ot_boundaries(x.alpha, x.beta)
        start, end = (start * self.frame_duration).tolist(), (end * self.frame_duration).tolist()
        edges: dict[int, tuple[float, float]] = {}
        for j, w in enumerate(states.word.tolist()):
            if w >= 0:
                lo, hi = edges.get(w, (math.inf, -math.inf))
                edges[w] = (min(lo, start[j]), max(hi, end[j]))
        path, weights = [], []
        for w, (mine, pron) in enumerate(zip(by_word, ids)):
            if mine and w in edges and not all(ph in MARKUP_IDS.values() for ph in pron):
                path.append((mine[0].start, mine[-1].end))
                weights.append(edges[w])
        return decoder_disagreement(path, weights, duration)

    def _decoder(self, method: str) -> Decoder:
        try:
            return decoder_for(method, self.model.config)
        except ValueError as err:
            raise AlignmentError(str(err)) from None

    def _spans(self, log_probs, weight_logits, ids: list[list[int]], decoder: Decoder, phone_lp,
               prepared: PreparedText, guide=None):
        """Token spans for the target sequence; returns (spans, word index per token, plan,
        path): the plan is the (DecoderInput, state targets) the decoder was given, None for a
        CTC model; the path, the decoder's (first, end) frames per state target when it decodes
        on the frame grid, else None.
        phone_lp: `phone_log_probs(log_probs, states)`, computed once per recording by the caller
        (a model with states scores its phones' confidence on them); prepared: the words whose
        pauses cost (`Word.phone_pauses`). guide: (path, state tokens, their words, the words
        changed) of an earlier call whose pronunciations differ only in those words: they are
        searched again around their place on that path (`decode.viterbi_respliced`)."""
        import torch

        from aligner import decode
        from aligner.states import merge_spans, span_confidence

        cfg = self.model.config
        if cfg.loss == "ctc":  # its Viterbi path, over the blank-extended sequence
            from aligner.ctc import ctc_token_spans

            tokens = torch.tensor([i for w in ids for i in w], dtype=torch.long)
            word = torch.tensor([w for w, p in enumerate(ids) for _ in p], dtype=torch.long)
            spans = ctc_token_spans(log_probs, tokens, frame_duration=self.frame_duration)
            return spans, word, None, None
        # A model with sub-phonetic states aligns every phone's states in order; the phones'
        # spans are then put back together from their states'.
        x, targets, states, first, last = self._decoder_input(
            log_probs, weight_logits, ids, decoder, [w.phone_pauses for w in prepared.words],
            [is_sentence_gap(w) for w in prepared.words])
        refine = self.refine_boundaries and decoder.on_grid
        rescored = cfg.states > 1 or refine  # the phones' confidence is computed below
        asked = replace(x, scored=not rescored)
        spans = (decode.viterbi_respliced(asked, states.word.numpy(), *guide)
                 if guide is not None and decoder.on_grid else None)
        if spans is None:
            spans = decoder(asked)
        path = None
        if decoder.on_grid:
            path = ((spans.start / self.frame_duration).round().long().numpy(),
                    (spans.end / self.frame_duration).round().long().numpy())
        if rescored:
            start, end = merge_spans(spans.start, spans.end, first, last)
            if refine:
                start, end = decode.refine_boundaries(phone_lp, targets.tokens, start, end,
                                                      self.frame_duration)
            confidence = span_confidence(phone_lp, targets.tokens, start, end, self.frame_duration)
            spans = decode.TokenSpans(start, end, confidence)
        return spans, targets.word, (x, states), path

    def _decoder_input(self, log_probs, weight_logits, ids: list[list[int]], decoder: Decoder,
                       paused: Sequence[bool] | None = None, gaps: Sequence[bool] = ()):
        """What an OTTC model's `decoder` takes for pronunciations `ids`: (DecoderInput, the
        phone targets, their state targets, each phone's first and last state): the frame
        weights, and, for a decoder that places boundaries from the weights, the markup
        tokens' masses. paused, gaps: per word, whether its pauses cost, whether it is a
        sentence gap (`token_costs`); paused None: nothing costs."""
        from aligner.ottc import frame_weights
        from aligner.states import expand_targets
        from aligner.targets import build_targets
        from aligner.text.phones import SILENCE_ID

        cfg = self.model.config
        targets = build_targets(ids, sil_mass=cfg.sil_mass, phone_mass=cfg.phone_mass_by_id())
        alpha = frame_weights(weight_logits[None], None)[0]
        states, first, last = expand_targets(targets, cfg.states)
        pause_word = any(w and all(i == SILENCE_ID for i in w) for w in ids)  # `{SL}`, `<sil>`
        x = DecoderInput(log_probs, states.tokens, states.optional, self.frame_duration, alpha,
                         states.beta, cost=None if paused is None else token_costs(
                             states.tokens, states.word, paused, gaps,
                             states.optional if pause_word else None))
        markup = states.tokens >= cfg.n_classes
        if decoder.needs_weights and bool(markup.any()):
            x = _with_markup_mass(x, markup)
        return x, targets, states, first, last


# A pause inside a word is taken back when more than this share of its frames holds sound.
SOUNDING_PAUSE_SHARE = 0.3
# What a pause inside a word costs the Viterbi path when it takes frames (nats).
PAUSE_IN_WORD_COST = 10.0
# What a sentence gap costs the path when it takes frames (`with_sentence_gaps`), besides the
# wildcard's penalty a frame: a missing sentence pays it many times over, a learner's poorly
# heard word does not. Chosen on 20 long recordings of speechocean762's held-out learners (40
# sentences each, one a line; 60 with one sentence left out): with no cost, a gap took the
# speech of a correct sentence's last words; at 50 nats 4 correct recordings of 20 were refused
# (2 without gaps), at 100 the same 2 and 55 of the 60 with a sentence missing (29 without
# gaps), at 200 51 (benchmarks/sentence_gaps.py). Checked on 4 others (review 123's): 19 of 20
# missing sentences refused.
SENTENCE_GAP_COST = 100.0


def token_costs(tokens: torch.Tensor, word: torch.Tensor, paused: Sequence[bool],
                gaps: Sequence[bool] = (), optional: torch.Tensor | None = None
                ) -> torch.Tensor | None:
    """Each decoded token's cost for taking frames: PAUSE_IN_WORD_COST for a pause between the
    phones of a word (`with_pauses_in_words`), SENTENCE_GAP_COST for a sentence gap's
    wildcard, PAUSE_WORD_PREFERENCE for an inserted silence beside a pause word, else 0; None
    when no token costs. tokens, word [S]: the decoder's tokens and the word of each (-1
    between words); paused: per word, whether its pauses cost (`Word.phone_pauses`: not those
    between a reading's words, which are free, as between the transcript's words); gaps: per
    word, whether it is a sentence gap (none when empty); optional [S]: the tokens that may
    take no frames (None: no pause word is looked for).

    Why a cost: free, the pauses let a transcript that stops short spread its words' phones
    over the speech it leaves out ("The passwords you entered" over the whole example: its
    last phone 2.4 s past the word, and no `untranscribed_speech`); at 10 nats that stays as
    before, while a real stop inside a word (its phones' fit on both sides) pays it many
    times over. On gold-dev's hand-labelled recordings, free pauses gave 84.9% of phone
    boundaries within 20 ms, 10 nats 85.3% (without pauses 84.6%)."""
    import torch

    from aligner.text.phones import SILENCE_ID

    costly = torch.tensor([*paused, False])
    inner = (tokens == SILENCE_ID) & costly[word]  # word -1 (between words): the last entry
    gap = torch.tensor([*gaps, False])[word] if SENTENCE_GAP_COST and any(gaps) else None
    beside = None if optional is None else beside_pause_words(tokens, word, optional)
    if not bool(inner.any()) and gap is None and beside is None:
        return None
    cost = inner.double() * PAUSE_IN_WORD_COST
    if beside is not None:
        cost = cost + beside.double() * PAUSE_WORD_PREFERENCE
    return cost if gap is None else cost + gap.double() * SENTENCE_GAP_COST


# What an inserted silence costs the path for taking frames when a pause word (`{SL}`,
# `<sil>`) stands in the same stretch between two words: the same frames cost the pause word
# nothing, so it holds the pause the transcript names. Without it the two silences tied, and
# the first took the pause: `IT <unk> {SL} BEAR` gave `{SL}` 12 ms after a 140 ms pause. A
# tie-breaker only: at 1 nat, one of 120 learners' transcripts with markup typed in (review
# 128: `I LEFT <unk> {SL} HER [laughter] <sil> AT HOME`) took a path that put HER 370 ms early.
PAUSE_WORD_PREFERENCE = 0.01


def beside_pause_words(tokens: torch.Tensor, word: torch.Tensor, optional: torch.Tensor
                       ) -> torch.Tensor | None:
    """[S] bool: the inserted silences (word -1) in a stretch of optional tokens (silences and
    markup between two words' phones) that holds a pause word's silence; None when there is
    none. tokens, word, optional [S] as `token_costs`'s."""
    import torch

    from aligner.text.phones import SILENCE_ID

    silent = tokens == SILENCE_ID
    # a word's silence: a pause word's, or a pause between a word's phones, which sits alone
    # in its stretch (required phones on both sides), so it marks no inserted silence
    pause_token = silent & (word >= 0) & optional
    if not bool(pause_token.any()):
        return None
    # stretches of optional tokens: a new one starts after every required token
    stretch = torch.cumsum((~optional).long(), 0)
    held = torch.zeros(int(stretch.max()) + 1, dtype=torch.bool)
    held[stretch[pause_token]] = True
    out = held[stretch] & silent & (word < 0)
    return out if bool(out.any()) else None


def pauses_over_sound(prepared: PreparedText, token_word: list[int], starts: list[float],
                      ends: list[float], sounding: np.ndarray, frame: float) -> set[int]:
    """The words (indexes into `prepared.words`) with a pause between their phones
    (`with_pauses_in_words`) over frames more than SOUNDING_PAUSE_SHARE of which are
    `sounding`; token_word, starts, ends: the decoded tokens' word (-1 between words) and
    times in seconds."""
    from aligner.text.phones import SILENCE

    own = iter([ph for p in prepared.phones for ph in p])  # the word tokens' phones, in order
    held = set()
    for j, w in enumerate(token_word):
        if w < 0:
            continue
        phone = next(own)
        if phone != SILENCE or is_pause(prepared.phones[w]):
            continue
        span = sounding[int(round(starts[j] / frame)): int(round(ends[j] / frame))]
        if span.size and float(span.mean()) > SOUNDING_PAUSE_SHARE:
            held.add(w)
    return held


def without_pauses_in(prepared: PreparedText, held: set[int]) -> PreparedText:
    """`prepared` with the pauses between the phones of words `held` taken out (all their
    variants)."""
    words = [replace(w, pronunciations=[without_pauses(v) for v in w.pronunciations],
                     phone_pauses=False) if k in held else w
             for k, w in enumerate(prepared.words)]
    phones = [without_pauses(p) if k in held else p for k, p in enumerate(prepared.phones)]
    return PreparedText(words, phones, prepared.unknown)


def without_sentence_gaps(prepared: PreparedText) -> PreparedText:
    """`prepared` without its sentence gaps (`text.frontend.with_sentence_gaps`)."""
    keep = [k for k, w in enumerate(prepared.words) if not is_sentence_gap(w)]
    return PreparedText([prepared.words[k] for k in keep], [prepared.phones[k] for k in keep],
                        prepared.unknown)


def _refuse_swapped(audio: object, transcript: object) -> None:
    problem = swapped_arguments(audio, transcript)
    if problem is not None:
        raise AlignmentError(f"{problem}: give the audio first, align(AUDIO, TRANSCRIPT)")


def _is_one_recording(waves: object) -> bool:
    """An array or a tensor is one recording (a tensor, iterated, would be taken apart sample by
    sample); a list or other sequence is a batch."""
    import torch

    return isinstance(waves, (np.ndarray, torch.Tensor))


def _with_markup_mass(x: DecoderInput, markup) -> DecoderInput:
    """A decoder that places boundaries from the weights needs a mass for each markup token
    (spoken noise, <star>): taken from a Viterbi pass (`fit_markup_mass`), whose path the long
    decoders reuse."""
    from aligner.decode import viterbi_segments, viterbi_segments_long
    from aligner.targets import fit_markup_mass

    search = viterbi_segments_long if is_long(x.log_probs.shape[0]) else viterbi_segments
    first, end, _ = search(x.log_probs, x.targets, x.optional, cost=x.cost)
    return replace(x, beta=fit_markup_mass(x.beta, markup, x.alpha, first, end), path=(first, end))


# ---------------------------------------------------------------------- pure helpers

def tidy_phones(phones: list[Interval], duration: float) -> list[Interval]:
    """Round to milliseconds and make the phones strictly ordered, non-overlapping, at least
    1 ms long and inside [0, duration] (decoders may give a phone a sliver of a frame, which
    rounding would otherwise turn into a zero-length interval)."""
    if not phones:
        return []
    step = 0.001
    end_max = last_ms(duration)
    starts = [round(p.start, 3) for p in phones]
    ends = [round(p.end, 3) for p in phones]
    prev = 0.0
    for i in range(len(phones)):  # forward: no overlap, minimum length
        starts[i] = max(starts[i], prev, 0.0)
        ends[i] = max(ends[i], starts[i] + step)
        prev = ends[i]
    nxt = end_max
    for i in reversed(range(len(phones))):  # backward: fit inside the audio
        ends[i] = min(ends[i], nxt)
        starts[i] = min(starts[i], ends[i] - step)
        nxt = starts[i]
    return [Interval(round(s, 3), round(e, 3), p.label, p.confidence)
            for s, e, p in zip(starts, ends, phones)]


def with_unheard(phones: list[Interval], owner: list[int], unheard: list[tuple[int, str, int]],
                 duration: float) -> tuple[list[Interval], list[int]]:
    """`phones` (tidy, in order) and their words `owner` with an interval of UNHEARD for each
    markup word the decoder gave no time (`[laughter]`, `{LG}`, a `{SL} sil` word where there
    is no pause): (place among `phones`, label, word) each, in order.

    Why: the words tier keeps every transcript token, but nothing was heard for these, so they
    must not move the words around them. They go into the pause where they were decoded: at
    its start when they open the recording, at its end when they close it, in its middle
    between two words; where the words touch, a pause word's silence beside it (`{SL}`) gives
    up the time, else the previous phone (the next one at the start), at most half of its
    own."""
    from aligner.boundaries import UNHEARD

    phones, owner = list(phones), list(owner)
    end_max = last_ms(duration)
    groups: dict[int, list[tuple[str, int]]] = {}
    for place, label, word in unheard:
        groups.setdefault(place, []).append((label, word))
    for place in sorted(groups, reverse=True):  # later places first: earlier indices hold
        items = groups[place]
        need = round(UNHEARD * len(items), 3)
        lo = phones[place - 1].end if place > 0 else 0.0
        hi = phones[place].start if place < len(phones) else end_max
        nxt = phones[place] if place < len(phones) else None
        before = phones[place - 1] if place > 0 else None
        if hi - lo < need and phones:  # the words touch: one of them gives the time
            if nxt is not None and not nxt.label and nxt.end - nxt.start >= 2 * need:
                hi = round(lo + need, 3)  # a pause word (`{SL}`) beside it: the pause gives it
                phones[place] = Interval(hi, nxt.end, nxt.label, nxt.confidence)
            elif before is not None and not before.label and before.end - before.start >= 2 * need:
                lo = round(hi - need, 3)
                phones[place - 1] = Interval(before.start, lo, before.label, before.confidence)
            elif place > 0:
                p = phones[place - 1]
                lo = max(round((p.start + p.end) / 2, 3), round(hi - need, 3))
                phones[place - 1] = Interval(p.start, lo, p.label, p.confidence)
            else:
                p = phones[0]
                hi = min(round((p.start + p.end) / 2, 3), round(lo + need, 3))
                phones[0] = Interval(hi, p.end, p.label, p.confidence)
        need = min(need, hi - lo)
        start = (lo if place == 0 else hi - need if place == len(phones)
                 else lo + (hi - lo - need) / 2)
        step = need / len(items)
        phones[place:place] = [Interval(round(start + n * step, 3), round(start + (n + 1) * step, 3),
                                        label, None) for n, (label, _) in enumerate(items)]
        owner[place:place] = [word for _, word in items]
    return tidy_phones(phones, duration), owner  # 1 ms each at least, where room ran out


def choose_variants(log_probs: np.ndarray, words: Sequence[Word], spans: TokenSpans,
                    token_word: torch.Tensor, frame_duration: float,
                    states: int = 1) -> list[list[str]]:
    """For each word with several pronunciations, the one whose best path through the word's
    frames (from a first alignment with the first variants) has the highest log-probability.

    Why: a lexicon lists "the" as DH AH0 and DH IY0, "1999" as two readings; the acoustics decide
    which was said, as in MFA. Every variant is scored on the same frames, so totals compare.
    A variant needs one frame per sub-phonetic state (`states` per phone) of the word's frames:
    "TWO" also reads as the letters T-W-O, ten phones that a 0.27 s recording of the word cannot
    hold at three states each (the decoder then failed the recording)."""
    from aligner.decode import word_token_ranges
    from aligner.text.phones import phone_ids

    starts, ends = np.asarray(spans.start), np.asarray(spans.end)
    n_frames = log_probs.shape[0]
    first_token, last_token = word_token_ranges(np.asarray(token_word))
    chosen: list[list[str]] = []
    for w, word in enumerate(words):
        variants = [list(v) for v in word.pronunciations]
        if len(variants) < 2:
            chosen.append(variants[0])
            continue
        lo = int(np.floor(starts[first_token[w]] / frame_duration + 1e-6))
        hi = int(np.ceil(ends[last_token[w]] / frame_duration - 1e-6))
        lo, hi = max(0, min(lo, n_frames - 1)), max(min(hi, n_frames), lo + 1)
        segment = log_probs[lo:hi]
        best, best_score = variants[0], -np.inf
        scored: set[tuple[int, ...]] = set()  # variants that differ in stress alone score alike
        for v in variants:
            ids = tuple(phone_ids(v, markup=True))
            if ids in scored or (v is not variants[0] and len(v) * states > len(segment)):
                continue
            scored.add(ids)
            score = _segment_score(segment, list(ids))
            if score > best_score + 1e-9:
                best, best_score = v, score
        chosen.append(best)
    return chosen


def _segment_score(log_probs: np.ndarray, ids: list[int]) -> float:
    """Best total log-probability of splitting all frames of `log_probs` [F, C] into the phones
    `ids` in order, each at least one frame but a silence between a reading's words, which may
    take none (-inf when there are fewer frames than phones).

    One cumulative sum for all phones (rows of cum [P, F], summed in float64 in frame order),
    then per phone: cur[u] = cum[j, u] + max_{v < u} (prev[v] - cum[j, v]) over end frames u."""
    from aligner.text.phones import SILENCE_ID

    n = log_probs.shape[0]
    if 1 + sum(i != SILENCE_ID for i in ids[1:]) > n:  # a frame each for the phones that need one
        return -np.inf
    cum = np.cumsum(np.ascontiguousarray(log_probs[:, ids].T), axis=1, dtype=np.float64)
    prev = cum[0]  # prev[i]: best score with the phones so far ending after frame i
    for j in range(1, len(ids)):
        # phone j ending after frame u starts after frame v < u; where no path ends at any such
        # v (prev -inf: too few frames for the phones before), neither does phone j
        run = np.maximum.accumulate(prev[:-1] - cum[j, :-1])
        cur = np.empty(n)
        cur[0] = -np.inf
        np.add(cum[j, 1:], run, out=cur[1:])
        if ids[j] == SILENCE_ID:  # a pause between a reading's words: or no frame at all
            np.maximum(cur, prev, out=cur)
        prev = cur
    return float(prev[-1])


def _owner(segment: Segment, speaker: str | None) -> str | None:
    """Whose words a segment holds: its tier's speaker, else the caller's."""
    return segment.speaker if segment.speaker is not None else speaker


def fill_gaps(intervals: list[Interval], duration: float) -> list[Interval]:
    """Insert empty-label (silence) intervals so the tier covers [0, duration] exactly: the
    last one ends at the exact duration (0.579625 s, not 0.58), as the written files do."""
    out: list[Interval] = []
    t = 0.0
    end_max = float(duration)
    for iv in sorted((i for i in intervals if i.label), key=lambda i: i.start):
        if iv.start > t + 1e-9:
            out.append(Interval(t, iv.start, ""))
        out.append(iv)
        t = max(t, iv.end)
    if end_max > t + 1e-9:
        out.append(Interval(t, end_max, ""))
    elif out and out[-1].end != end_max and abs(out[-1].end - end_max) <= 1e-9 \
            and out[-1].start < end_max:  # ends within a nanosecond of it: exactly there
        last = out[-1]
        out[-1] = Interval(last.start, end_max, last.label, last.confidence)
    return out


def _shift(a: Alignment, offset: float) -> Alignment:
    if offset == 0:
        return a
    move = lambda ivs: [Interval(round(i.start + offset, 3), round(i.end + offset, 3), i.label,
                                 i.confidence) for i in ivs]
    outside = a.voiced_outside and a.voiced_outside.shifted(offset)
    return Alignment(move(a.words), move(a.phones), a.duration + offset, a.speaker,
                     list(a.flags), dict(a.unknown_words), None, a.transcript_fit, a.voiced_share,
                     outside, word_evidence=[e.shifted(offset) for e in a.word_evidence])


def _merge(parts: list[Alignment], duration: float, speaker: str | None) -> Alignment:
    """One speaker's utterances -> one Alignment over the whole recording, silence filled."""
    words = [w for a in parts for w in a.words if w.label]
    phones = [p for a in parts for p in a.phones if p.label]
    unknown: dict[str, list[str]] = {}
    for a in parts:
        unknown.update(a.unknown_words)
    alpha = parts[0].alpha if len(parts) == 1 else None
    fits = [(a.transcript_fit, sum(p.end - p.start for p in a.phones) or 1.0)
            for a in parts if a.transcript_fit is not None]
    weight = sum(d for _, d in fits)
    fit = (float(np.exp(sum(d * np.log(max(f, 1e-12)) for f, d in fits) / weight))
           if fits and weight > 0 else None)  # geometric mean, weighted by speech time
    shares = [(a.voiced_share, sum(p.end - p.start for p in a.phones) or 1.0)
              for a in parts if a.voiced_share is not None]  # weighted by speech time
    voiced = (sum(v * d for v, d in shares) / sum(d for _, d in shares)
              if shares and sum(d for _, d in shares) > 0 else None)
    stretches = [a.voiced_outside for a in parts if a.voiced_outside is not None]
    outside = max(stretches, key=lambda s: s.end - s.start, default=None)
    if outside is not None:  # the longest of all, and all of them together
        outside = outside._replace(total=sum(s.total for s in stretches),
                                   stretches=sum(s.stretches for s in stretches))
    return Alignment(fill_gaps(words, duration), fill_gaps(phones, duration), duration, speaker,
                     [], unknown, alpha, transcript_fit=fit, voiced_share=voiced,
                     voiced_outside=outside,
                     word_evidence=[e for a in parts for e in a.word_evidence])


def _as_transcript_path(transcript: Path | str) -> Path | None:
    """A Path is a file. A str is a file name when it looks like one, so that a mistyped path
    is an error ("transcript not found") instead of being aligned as words; otherwise it is
    the transcript text. It looks like one when it is a single line and either
    - ends in .txt, .lab, .TextGrid or .cha (any case; or an alignment's suffix, .json, .csv, ...,
      refused later with a reason) and has no spaces, or has a '/', or names an existing file
      ("notes.txt", "my data/a.lab"), or
    - has no spaces, has a '/', and starts with '/', '.' or '~' or lies in an existing folder
      ("/tmp/x", "./a", "data/utt1"); "and/or" or "24/7" stay text.
    A leading '~' is the home folder only once the string is a file name ("~hmm ok" is text);
    one that cannot be expanded ('~nobody/x.txt') stays as written.
    """
    if isinstance(transcript, Path):
        return transcript
    text = str(transcript).strip()
    if not text or "\n" in text or len(text) >= 4096:
        return None
    one_token = not any(c.isspace() for c in text)
    has_sep = "/" in text or os.sep in text
    suffixed = text.lower().endswith(TRANSCRIPT_EXTENSIONS + NOT_TRANSCRIPTS + tuple(ANNOTATION_FILES))
    if not suffixed and not (one_token and has_sep):
        return None  # text: nothing below can make it a file name
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # '~user/...' of no such user (or no home folder)
        path = Path(text)
    named = suffixed and (one_token or has_sep or path.is_file())
    located = one_token and has_sep and (text.startswith(("/", ".", "~")) or path.parent.is_dir())
    return path if named or located else None


def _name(transcript: Path | str) -> str:
    p = _as_transcript_path(transcript)
    return str(p) if p is not None else "<transcript>"


def _load_lexicon(dictionary: str | Path | None):
    return load_lexicon(Path(dictionary) if dictionary is not None else None)


__all__ = ["Aligner", "AlignmentError", "AudioTooShortError", "NoSpeechError", "DeviceError",
           "DeviceMemoryError", "AudioError", "Encoded", "PreparedText", "Segment", "tidy_phones",
           "fill_gaps", "resolve_device"]
