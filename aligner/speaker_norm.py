"""Speakers' own statistics for normalising their short recordings, in a corpus run.

The model normalises each recording by its own log-mel statistics. A recording too short or
too uniform to be a sample of its voice (a single word, a held vowel) has speech's statistics
counted beside its own (`model.NormPrior`, the model's `norm_prior`). In a corpus with speaker
folders, the speaker's other recordings are a better sample of their voice and microphone than
speech in general: per-speaker normalisation, as Kaldi and MFA compute it. On 300 spoken digits
(six speakers' folders, 8 kHz), correct transcripts flagged `transcript_mismatch` went from
16.0% to 12.7%, another digit's transcript caught from 90.3% to 93.0%
(benchmarks/real_speech.py); sentences, above the gates, are normalised as before.

Only a speaker with at least MIN_RECORDINGS recordings of SHORT_SECONDS or less (a word list, a
folder of digits) is read for it, at most MAX_RECORDINGS of their recordings: a corpus of
sentences costs nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aligner.corpus import Utterance
from aligner.runner import EXPECTED, durations

if TYPE_CHECKING:
    from aligner.align import Aligner
    from aligner.model import NormPrior

MIN_RECORDINGS = 5  # short ones a speaker needs, and readable ones their statistics need
MAX_RECORDINGS = 50  # read for a speaker's statistics, evenly spaced in name order
SHORT_SECONDS = 2.0  # a recording this short or shorter is a short one
LONGEST_SECONDS = 60.0  # longer recordings are not read for them


def statistics_sources(utterances: Sequence[Utterance], speakers: set[str | None]
                       ) -> dict[str, list[Utterance]]:
    """speaker -> the recordings their statistics are read from: for each of `speakers` with
    at least MIN_RECORDINGS recordings of SHORT_SECONDS or less in `utterances` (the whole
    corpus, so that a run that goes on from an interrupted one gets the same statistics), at
    most MAX_RECORDINGS of those up to LONGEST_SECONDS long, evenly spaced in name order. Only
    recordings with a transcript: one without may be anything (and is not aligned)."""
    by_speaker: dict[str, list[Utterance]] = {}
    for utt in sorted(utterances, key=lambda u: u.name):
        if utt.speaker is not None and utt.speaker in speakers and utt.transcript is not None:
            by_speaker.setdefault(utt.speaker, []).append(utt)
    sources = {}
    for speaker, utts in by_speaker.items():
        if len(utts) < MIN_RECORDINGS:
            continue
        seconds = durations(utts)
        usable = [u for u in utts if 0.0 < seconds[u.name] <= LONGEST_SECONDS]
        if sum(seconds[u.name] <= SHORT_SECONDS for u in usable) < MIN_RECORDINGS:
            continue
        step = max(1, len(usable) / MAX_RECORDINGS)
        sources[speaker] = [usable[int(i * step)] for i in range(min(len(usable), MAX_RECORDINGS))]
    return sources


def statistics_inputs(utterances: Sequence[Utterance], speakers: set[str | None]
                      ) -> dict[str, str]:
    """speaker -> 8 hex digits of what their statistics are read from (`statistics_sources`:
    each file's name, size and modification time), without reading the audio. Why: a corpus
    run records them with each utterance (`runner.utterance_settings`), and a later run with
    recordings added to a speaker (other statistics) aligns that speaker's earlier ones again:
    kept, 3 of 32 one-word clips' edges differed by more than 20 ms (up to 180 ms) from a run
    over the grown corpus at once, and two flags."""
    out = {}
    for speaker, sources in statistics_sources(utterances, speakers).items():
        h = hashlib.sha1()
        for utt in sources:
            try:
                st = os.stat(utt.audio)
                h.update(f"{utt.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            except OSError:
                h.update(f"{utt.name}\0missing\n".encode())
        out[speaker] = h.hexdigest()[:8]
    return out


def speaker_priors(aligner: Aligner, utterances: Sequence[Utterance],
                   speakers: set[str | None]) -> dict[str, NormPrior]:
    """speaker -> the model's prior with that speaker's statistics (`NormPrior.for_speaker`),
    for each of `speakers` with recordings to read them from (`statistics_sources`) and at
    least MIN_RECORDINGS of those readable. The median over recordings, band by band, so that
    a few that are not speech (a "no response" item of hiss) move it little. Unreadable
    recordings are passed over: aligning them says what is wrong."""
    base = aligner.model.norm_prior
    if base is None:
        return {}
    priors = {}
    for speaker, sources in statistics_sources(utterances, speakers).items():
        statistics = []
        for utt in sources:
            try:
                found = aligner.recording_statistics(aligner.load_waveform(utt.audio)[0])
            except EXPECTED:
                continue
            if found is not None:
                statistics.append(found)
        if len(statistics) >= MIN_RECORDINGS:
            priors[speaker] = base.for_speaker(statistics)
    return priors
