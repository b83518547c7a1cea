"""Phone boundaries placed on the acoustic change that marks them.

The model sees the signal through 25 ms windows every 10 ms and decides, frame by frame, which
phone is sounding; where two phones of different manners meet (a fricative and a vowel, a vowel
and a stop closure, a nasal and a vowel), the spectrum changes abruptly, and that instant is
where people put the boundary. `snap_to_change` moves each such boundary to the strongest
spectral change (`aligner.features.spectral_change`, every 2.5 ms) near the model's boundary,
the nearer the likelier (a Gaussian of SIGMA around it). On hand-labelled real recordings this
put 5 points more of the phone boundaries within 20 ms (gold-dev, `benchmarks/real_speech.py`);
its settings were chosen on the synthetic dev split, whose gold is exact.

Boundaries next to silence, markup or a phone of the same manner stay where the model put them:
there the change is gradual or the model's silence decision is already the better evidence.
Pure: intervals and an array in, intervals out.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable

import numpy as np

from aligner.alignment import Interval
from aligner.quantile import percentile
from aligner.text.phones import SPOKEN_NOISE, manner

SIGMA = 0.012  # s: how far from the model's boundary the change is looked for (Gaussian width)
RADIUS = 0.03  # s: never further than this
MIN_PHONE = 0.012  # s: each of the two phones keeps at least this much (or all it had)


def snap_to_change(phones: list[Interval], change: np.ndarray, hop: float) -> list[Interval]:
    """Phones with each boundary between two touching phones of different manners moved to
    the peak of `change` (values at (t + 0.5) * hop s) times a Gaussian prior around it.
    Times, labels and confidences of everything else are kept; the order never changes."""
    out = list(phones)
    if len(out) < 2 or len(change) == 0:
        return out
    times = (np.arange(len(change)) + 0.5) * hop
    grid = times.tolist()  # bisect on a list: a tenth of np.searchsorted's call, same answer
    manners = [manner(p.label) for p in out]
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        if abs(a.end - b.start) > 1e-6:
            continue
        left, right = manners[i], manners[i + 1]
        if left is None or right is None or left == right:
            continue
        # each phone keeps MIN_PHONE, or what it has if that is less: the window always holds
        # the model's boundary, so a short phone is never stretched without a change to go to
        lo = max(a.end - RADIUS, min(a.start + MIN_PHONE, a.end))
        hi = min(a.end + RADIUS, max(b.end - MIN_PHONE, a.end))
        first, last = bisect_left(grid, lo), bisect_right(grid, hi)
        if last <= first:
            continue
        near = times[first:last]
        score = change[first:last] * np.exp(-0.5 * ((near - a.end) / SIGMA) ** 2)
        t = round(grid[first + int(score.argmax())], 6)
        out[i] = Interval(a.start, t, a.label, a.confidence)
        out[i + 1] = Interval(t, b.end, b.label, b.confidence)
    return out


# A word's end at a pause is moved over the voicing that goes on after it (`extend_into_voicing`).
TAIL_KINDS = ("vowel", "nasal", "approximant")  # phones whose end is the voice's end
TAIL_DB = 25.0  # dB below its word's loudest frame at which a fading sound has ended (Praat's
#                 default silence threshold, "To TextGrid (silences)": -25 dB re the maximum)
TAIL_PAUSE = 0.1  # s: only a word followed by at least this much before the next word
TAIL_GAP = 0.05  # s: a tail must fade this far short of the next word
UNHEARD = 0.01  # s: a markup word nothing was heard for (`align.with_unheard`), and what a
#                pause word (`{SL} sil`) keeps when a voiced end runs into it
TAIL_MAX = 0.3  # s: and within this of the word's end; voicing that goes on longer is more
#                 speech (a filler, words the transcript left out), not the end of this word


def voiced_tail(voiced: np.ndarray, levels: np.ndarray, first: int, t: int, below_db: float,
                stop: int) -> int:
    """How many frames from `t` on (before `stop`) are voiced and within `below_db` of the
    loudest of `levels[first:t]`: the voice running on after a word that spans frames
    [first, t). The scan `extend_into_voicing` uses, and the real-speech benchmark's measure."""
    floor = float(levels[first:t].max()) - below_db
    run = 0
    while t + run < stop and voiced[t + run] and levels[t + run] >= floor:
        run += 1
    return run


def extend_into_voicing(words: list[Interval], phones: list[Interval], voiced: np.ndarray,
                        levels: np.ndarray, frame: float, duration: float
                        ) -> tuple[list[Interval], list[Interval]]:
    """Words (and their last phones) that end in a vowel, nasal or approximant before a pause,
    moved over the frames right after their end that are voiced and within TAIL_DB of the
    word's loudest frame, when those fade within TAIL_MAX and TAIL_GAP short of the next word.
    `voiced` [T] (`features.voiced_frames`, frame t judged on the 40 ms around t * frame) and
    `levels` [T] in dB (`features.frame_levels`, the 20 ms around (t + 0.5) * frame) are on the
    model's 10 ms frame grid.

    Why: a word's last sound before a pause fades out over 100-300 ms (a final /l/ or /n/, a
    lengthened vowel), and the model hands that fading end to silence. It learned to from its
    synthetic voices, whose gold ends the last phone before a pause while the voice goes on
    10-20 dB below the word's peak for another 50-100 ms (the synthesiser's phone-to-pause
    unit). On learners' recordings, 24% of the shipped model's word ends at a pause were
    followed by 60 ms or more of voicing within 20 dB of the word's peak (pocketsphinx: 6%);
    praatio's hand-labelled "barrel" ended 113 ms early. Stops and fricatives end in silence
    or noise, not in voicing, and keep their end; so does a word whose voicing runs on to the
    end of what can be measured (the last frames of a recording or segment cut mid-speech).
    Pure: intervals and arrays in, intervals out; labels and confidences kept, and the moved
    words' starts (the pause words and unheard markup after one move along with its end)."""
    words, phones = list(words), list(phones)
    # a word that is a pause (`{SL}`, a dictionary's `{SL} sil`: its phone is silence, "") or
    # markup nothing was heard for (`<unk>`, `[laughter]`: an UNHEARD sliver of spoken noise) is
    # no neighbour: the voice may run into it, and it moves along (keeping UNHEARD)
    phone_at = {(round(p.start, 6), round(p.end, 6)): j for j, p in enumerate(phones)
                if not p.label or (p.label == SPOKEN_NOISE and p.end - p.start <= UNHEARD + 1e-6)}
    aside = {i: phone_at[(round(w.start, 6), round(w.end, 6))] for i, w in enumerate(words)
             if w.label and (round(w.start, 6), round(w.end, 6)) in phone_at}
    spoken = [i for i, w in enumerate(words) if w.label and i not in aside]
    last_phone = {round(p.end, 6): j for j, p in enumerate(phones) if p.label}
    measured = min(len(voiced), len(levels)) - 2  # voiced_frames cannot judge the last two
    for n, i in enumerate(spoken):
        w = words[i]
        nxt = words[spoken[n + 1]].start if n + 1 < len(spoken) else None
        if (nxt if nxt is not None else duration) - w.end < TAIL_PAUSE:
            continue
        j = last_phone.get(round(w.end, 6))
        if j is None or manner(phones[j].label) not in TAIL_KINDS:
            continue
        t = int(round(w.end / frame))
        first = min(int(round(w.start / frame)), t - 1)
        if first < 0 or t >= measured:
            continue
        limit = min(w.end + TAIL_MAX, nxt - TAIL_GAP if nxt is not None else duration)
        # the pauses and slivers between this word and the next keep UNHEARD each
        between = [k for k in range(i + 1, spoken[n + 1] if n + 1 < len(spoken) else len(words))
                   if k in aside]
        if between:
            limit = min(limit, words[between[-1]].end - UNHEARD * len(between))
        # frames up to the limit's, whose own voicing says whether the tail ended by the limit
        stop = min(measured, int(np.floor(limit / frame + 1e-9)) + 1)
        run = voiced_tail(voiced, levels, first, t, TAIL_DB, stop)
        if run and t + run < stop:  # the voice faded (or went unvoiced) in time
            end = round((t + run) * frame, 3)
            words[i] = Interval(w.start, end, w.label, w.confidence)
            p = phones[j]
            phones[j] = Interval(p.start, end, p.label, p.confidence)
            for k in between:  # pushed along where the voice now runs over them
                q, r = words[k], phones[aside[k]]
                if q.start >= end:
                    break
                stop_at = round(end + UNHEARD, 3)  # a sliver; a pause keeps its end
                stop_at = stop_at if r.label else max(stop_at, q.end)
                words[k] = Interval(end, stop_at, q.label, q.confidence)
                phones[aside[k]] = Interval(end, stop_at, r.label, r.confidence)
                end = stop_at
    return words, phones


HOLD_BRIDGE = 0.05  # s: a break this short inside a held sound does not end it
HOLD_ABOVE_QUIET = 10.0  # dB: a held fricative's frames are this far above the recording's
#                          quietest tenth at least (its noise is no voice to tell it by)
DIGITAL_SILENCE_DB = -110.0  # dB: frames this quiet are exact zeros (an editor's padding)


def hold_single_sound(words: list[Interval], phones: list[Interval], voiced: np.ndarray,
                      levels: np.ndarray, frame: float, duration: float
                      ) -> tuple[list[Interval], list[Interval]]:
    """A transcript that is one sound (one word of one vowel, nasal, approximant or fricative:
    "ah", "ooh", "mm", "sss"), its word and phone widened to the whole of that sound they lie
    in: for a vowel, nasal or approximant the frames voiced and within TAIL_DB of the
    recording's loudest voiced frame; for a fricative (a voiceless one has no voice) the frames
    within TAIL_DB of the loudest frame and HOLD_ABOVE_QUIET above the quietest tenth of those
    that are not digital silence (where that tenth is itself within 2 * HOLD_ABOVE_QUIET of the
    loudest, the hiss fills the recording: within HOLD_ABOVE_QUIET of the loudest); breaks of
    up to HOLD_BRIDGE bridged. `voiced`, `levels` as for `extend_into_voicing`.

    Why: a clinician's sustained vowel (maximum phonation time) or /s/ and /z/ (the s/z ratio)
    is one sound held for seconds, as no speech holds one; the model hears most of it as
    silence or as other sounds, and the Viterbi path puts the word on 20-150 ms of it (of 16
    learners' vowels held 0.9-2.4 s, the word covered 57% of the voicing;
    `benchmarks/held_vowels.py`). Neither the model's posteriors nor the spectrum's steadiness
    told a held vowel from words the transcript left out (measured on speechocean762's
    held-out learners), so the rule keys on the transcript: when it names a single sound, the
    sound around it can only be that one (or speech the transcript does not hold, which
    `untranscribed_speech` then no longer sees). Any other transcript is returned as it was;
    `Aligner.align_waveform` applies it to a whole recording's transcript only, not to an
    interval of a TextGrid, where a backchannel's "mm" may overlap another speaker's words.
    Pure: intervals and arrays in, intervals out."""
    spoken = [i for i, w in enumerate(words) if w.label]
    sounds = [j for j, p in enumerate(phones) if p.label]
    n = min(len(voiced), len(levels))
    if len(spoken) != 1 or len(sounds) != 1 or n == 0:
        return list(words), list(phones)
    (i,), (j,) = spoken, sounds
    w, p = words[i], phones[j]
    kind, db = manner(p.label), levels[:n]
    if kind in TAIL_KINDS and voiced[:n].any():
        held = voiced[:n] & (db >= float(db[voiced[:n]].max()) - TAIL_DB)
    elif kind == "fricative":
        top, sound = float(db.max()), db[db > DIGITAL_SILENCE_DB]  # zeros are no room's tone
        quiet = float(percentile(sound, 10)) if len(sound) else top
        # above the room's tone, or, where the hiss fills the recording, near its loudest
        held = db >= max(top - TAIL_DB, min(quiet, top - 2 * HOLD_ABOVE_QUIET) + HOLD_ABOVE_QUIET)
    else:
        return list(words), list(phones)
    on = np.flatnonzero(held)
    if len(on) == 0:
        return list(words), list(phones)
    breaks = np.flatnonzero(np.diff(on) > int(round(HOLD_BRIDGE / frame)) + 1)
    runs = zip(on[np.r_[0, breaks + 1]], on[np.r_[breaks, len(on) - 1]] + 1)  # [first, last)
    lo = int(round(w.start / frame))
    hi = max(int(round(w.end / frame)), lo + 1)
    start, end = w.start, w.end
    for a, b in runs:
        if a < hi and b > lo:  # the sound the word lies in
            start = min(start, round(float(a) * frame, 3))
            end = max(end, min(round(float(b) * frame, 3), duration))
    words, phones = list(words), list(phones)
    words[i] = Interval(start, end, w.label, w.confidence)
    phones[j] = Interval(start, end, p.label, p.confidence)
    return words, phones


# Gaps between two words shorter than this are closed (`close_short_pauses`), as MFA's
# minimum pause.
MIN_PAUSE = 0.03  # s


STOP_GAP = 0.1  # s: a shorter gap between two words beside a stop or affricate is its closure


VOICED_GAP = 0.1  # s: a shorter gap between two words that is voiced at speech level is no pause
VOICED_GAP_DB = TAIL_DB  # ... within this of the louder word's loudest frame, every frame


SOUNDING_DB = TAIL_DB  # dB: a frame this close to the recording's loud frames holds sound


def sounding_frames(voiced: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Which frames hold sound, not a pause: voiced, or within SOUNDING_DB of the recording's
    loud frames (the 95th percentile of `levels`, dB per frame as `features.frame_levels`).
    [min(len(voiced), len(levels))] booleans, for `Aligner.decode`'s pauses inside words."""
    n = min(len(voiced), len(levels))
    if n == 0:
        return np.zeros(0, dtype=bool)
    return voiced[:n].astype(bool) | (levels[:n] >= percentile(levels[:n], 95) - SOUNDING_DB)


def voiced_through(voiced: np.ndarray, levels: np.ndarray, left: Interval, right: Interval,
                   frame: float) -> bool:
    """Whether the gap between two words is voice throughout: every frame of it voiced and
    within VOICED_GAP_DB of the louder word's loudest frame (`voiced`, `levels` as for
    `extend_into_voicing`)."""
    lo, hi = int(round(left.end / frame)), int(round(right.start / frame))
    a, b = int(round(left.start / frame)), int(round(right.end / frame))
    if not 0 <= a <= lo < hi <= b <= min(len(voiced), len(levels)) - 2:
        return False  # no frame, or where voicing cannot be judged (the last two)
    floor = float(levels[a:b].max()) - VOICED_GAP_DB
    return bool(voiced[lo:hi].all() and (levels[lo:hi] >= floor).all())


def _closed_at(before: str, after: str, start: float, end: float, min_pause: float,
               voiced_gap: Callable[[], bool]) -> float | None:
    """Where the gap [start, end) between the phones `before` and `after` is closed, or None
    when it stays a pause: shorter than `min_pause`, or than STOP_GAP beside a stop or an
    affricate (its closure: the stop takes it when it comes next, else the phone before runs
    on), or than VOICED_GAP and voiced throughout (`voiced_gap()`, asked only then: closed at
    its middle, the least a wrong call costs). The rule of `close_short_pauses` and
    `close_short_inner_pauses`."""
    gap = end - start
    stop_next = manner(after) in ("stop", "affricate")
    stop_before = manner(before) in ("stop", "affricate")
    short = gap < min_pause - 1e-9
    closure = (stop_next or stop_before) and gap < max(min_pause, STOP_GAP) - 1e-9
    if not (short or closure or (gap < VOICED_GAP - 1e-9 and voiced_gap())):
        return None
    return start if stop_next else end if short or closure else round((start + end) / 2, 3)


def close_short_pauses(words: list[Interval], phones: list[Interval],
                       min_pause: float = MIN_PAUSE, voiced: np.ndarray | None = None,
                       levels: np.ndarray | None = None, frame: float = 0.01
                       ) -> tuple[list[Interval], list[Interval]]:
    """Words and their phones with every gap shorter than `min_pause` between two words closed,
    and every gap shorter than STOP_GAP (or `min_pause`, the larger) where a stop or an affricate
    borders it: when the next word starts with one, it starts where the word before ends (the
    gap is its closure); else the word before runs on to where the next starts.

    Why: the model puts 10-30 ms of silence between words said without a pause, 142 of 772 of
    its pauses in 300 learner recordings (pocketsphinx: 8 of 236), often inside the voicing; a
    pause that short is neither heard nor counted. Closed, on gold-dev 77.4% of phone
    boundaries and 70.3% of word boundaries are within 20 ms (76.8% and 68.4% with the gaps,
    benchmarks/real_speech.py); splitting the gap in the middle or always lengthening the word
    before scored the same, 50 ms as good. A stop's closure is silent too, and the model gave
    40-80 ms closures inside fluent speech to silence ("rolled | the", "the | barrel" in
    praatio's example, the stop left with its 20 ms burst): people label them part of the stop,
    and pauses that short are not counted as pauses. With gaps under 100 ms beside a stop
    closed as well, gold-dev's word boundaries within 20 ms went 70.3% -> 72.2% and its phone
    boundaries 77.4% -> 77.9% (the synthetic unseen voices 82.2% -> 82.1%).

    With `voiced` and `levels` (as for `extend_into_voicing`, on the grid of `frame` seconds),
    a gap under VOICED_GAP that is voiced throughout at the level of speech (`voiced_through`)
    is closed too, at its middle: a pause is silence, and the model put 35-50 ms
    "pauses" inside continuous voicing ("young | man", voiced throughout at 62 dB; a real pause
    in the same recording is unvoiced, at 40-45 dB: the voicing tells them apart, the level only
    keeps out voice far below the words'); of 170 gaps under 0.1 s in 300 learners' recordings,
    50 were voice throughout. Gold-dev's figures are unchanged (none of its gaps is). Pure: intervals
    and arrays in, intervals out."""
    words, phones = list(words), list(phones)
    if min_pause <= 0:  # --min-pause 0: every gap the model found is kept
        return words, phones
    spoken = [i for i, w in enumerate(words) if w.label]
    first_phone = {round(p.start, 6): j for j, p in enumerate(phones) if p.label}
    last_phone = {round(p.end, 6): j for j, p in enumerate(phones) if p.label}
    for a, b in zip(spoken, spoken[1:]):
        left, right = words[a], words[b]
        gap = right.start - left.end
        if not 0 < gap < max(min_pause, STOP_GAP, VOICED_GAP) - 1e-9:  # the longest closed
            continue
        j, k = last_phone.get(round(left.end, 6)), first_phone.get(round(right.start, 6))
        if j is None or k is None or SPOKEN_NOISE in (phones[j].label, phones[k].label):
            continue  # markup's edges are no one's: it may be a sliver where nothing was heard
        t = _closed_at(phones[j].label, phones[k].label, left.end, right.start, min_pause,
                       lambda: voiced is not None and levels is not None
                       and voiced_through(voiced, levels, left, right, frame))
        if t is None:
            continue
        words[a] = Interval(left.start, t, left.label, left.confidence)
        words[b] = Interval(t, right.end, right.label, right.confidence)
        p, q = phones[j], phones[k]
        phones[j] = Interval(p.start, t, p.label, p.confidence)
        phones[k] = Interval(t, q.end, q.label, q.confidence)
    return words, phones


def close_short_inner_pauses(words: list[Interval], phones: list[Interval],
                             min_pause: float = MIN_PAUSE, voiced: np.ndarray | None = None,
                             levels: np.ndarray | None = None, frame: float = 0.01
                             ) -> list[Interval]:
    """`phones` with each pause inside a word (`text.frontend.with_pauses_in_words`, and a
    reading's, when those are on) closed by the rule `close_short_pauses` applies between
    words (`_closed_at`). Why: a 40 ms silence before a word's /t/ is the /t/'s closure, as
    between words; longer ones are the speaker's pause and stay. Pure."""
    phones = list(phones)
    if min_pause <= 0:
        return phones
    spans = [(w.start, w.end) for w in words if w.label]
    starts = [lo for lo, _ in spans]

    def inside(p: Interval) -> bool:  # strictly within a word: not a pause word (`{SL}`)
        k = bisect_right(starts, p.start) - 1
        return k >= 0 and spans[k][0] < p.start and p.end < spans[k][1]

    out: list[Interval] = []
    i = 0
    while i < len(phones):
        p = phones[i]
        left, right = (out[-1] if out else None), (phones[i + 1] if i + 1 < len(phones) else None)
        t = None
        if (not p.label and left is not None and right is not None and left.label
                and right.label and inside(p) and SPOKEN_NOISE not in (left.label, right.label)):
            t = _closed_at(left.label, right.label, p.start, p.end, min_pause,
                           lambda: voiced is not None and levels is not None
                           and voiced_through(voiced, levels, left, right, frame))
        if t is None:
            out.append(p)
            i += 1
            continue
        out[-1] = Interval(left.start, t, left.label, left.confidence)
        out.append(Interval(t, right.end, right.label, right.confidence))
        i += 2
    return out
