"""A CHAT file (CLAN's `.cha`: AphasiaBank, CHILDES, TalkBank) as a transcript's utterances.

A whole `.cha` holds much that nobody said: headers (`@Begin`, `@Participants: PAR ...`),
dependent tiers under each utterance (`%mor: n:prop|Kate v|get&PAST`, `%gra`, `%com`) and media
bullets (`\\x15 2880_6940 \\x15`, milliseconds). Read as plain text all of it was aligned as
words. Here only the main tiers (`*PAR:`, `*INV:`, their tab-indented continuation lines) are
kept. When every utterance carries a bullet, each is aligned inside its own time span and with
its own speaker, as an utterance TextGrid's intervals are (a tier per speaker); otherwise the
utterances are one text in their order. The codes inside an utterance are the text
front-end's to read (`aligner/text/normalise.py`): each segment keeps its `*PAR:` code, which
is what tells the front-end that the line is CHAT.
"""

from __future__ import annotations

import re

from aligner.formats import Segment

_MAIN_TIER_RE = re.compile(r"^\*([A-Z0-9]{2,4}):[ \t]*(.*)$")  # the codes the front-end drops
# CLAN writes a bullet between two NAK characters (U+0015); a text export may lose them, or
# show them as `•` (U+2022), and put it straight after the terminator (`ok.7000_8000`).
_BULLET_RE = re.compile(r"[\x15\u2022]?(?<!\w)(\d+)_(\d+)(?![\w.])[\x15\u2022]?")
# An utterance of "0" alone: an action with no speech (`*PAR: 0 [=! points] .`).
_NO_SPEECH_RE = re.compile(r"^\s*0\s*(\[[^\]]*\]\s*)*[.?!]?\s*$")


def is_chat_file(text: str) -> bool:
    """Whether `text` is a CHAT file rather than one line of CHAT: a main tier line (`*PAR:`)
    beside a header (`@Begin`) or a dependent tier (`%mor:`), or several main tier lines."""
    lines = text.splitlines()
    main = sum(1 for line in lines if _MAIN_TIER_RE.match(line))
    if main == 0:
        return False
    other = any(line.startswith("@") or re.match(r"^%[A-Za-z]+:", line) for line in lines)
    return other or main > 1


def _logical_lines(text: str) -> list[str]:
    """CHAT's lines with their continuation lines (those opening with a tab, or with spaces
    where an editor turned the tab into them) joined on."""
    out: list[str] = []
    for line in text.splitlines():
        if line[:1] in ("\t", " ") and out:
            out[-1] += " " + line.strip()
        elif line.strip():
            out.append(line.rstrip())
    return out


def _utterances(text: str) -> list[tuple[str, str, tuple[float, float] | None]]:
    """(speaker code, words without bullets, (start, end) s, None without a usable bullet) of
    each main tier that holds speech."""
    utterances = []
    for line in _logical_lines(text):
        m = _MAIN_TIER_RE.match(line)
        if m is None:
            continue  # a header (@...), a dependent tier (%mor: ...) or a stray line
        speaker, body = m.group(1), m.group(2)
        bullets = [(int(a), int(b)) for a, b in _BULLET_RE.findall(body)]
        words = _BULLET_RE.sub(" ", body).strip()
        if not words or _NO_SPEECH_RE.match(words):
            continue
        span = (min(a for a, _ in bullets) / 1000, max(b for _, b in bullets) / 1000) if bullets else None
        if span is not None and span[1] <= span[0]:  # a bullet of no length times nothing
            span = None
        utterances.append((speaker, words, span))
    return utterances


def read_chat(text: str, source: str) -> list[Segment]:
    """The utterances of a CHAT file: one Segment per main tier line, timed by its bullet and
    named by its speaker code, when every one has a bullet; else one Segment over the whole
    recording holding every main tier in order (several speakers then share one tier: there is
    no time to tell them apart by). Utterances of `0` alone (no speech) are left out. `source`
    names the file in error messages. Returns [] when no main tier holds speech."""
    utterances = _utterances(text)
    if not utterances:
        return []
    if all(span is not None for _, _, span in utterances):
        return [Segment(f"*{speaker}:\t{words}", f"{source} [{speaker} {span[0]:.2f}s]", speaker,
                        span[0], span[1]) for speaker, words, span in utterances]
    return [Segment("\n".join(f"*{speaker}:\t{words}" for speaker, words, _ in utterances), source)]


def untimed_utterances(text: str) -> tuple[int, int]:
    """(utterances without a usable bullet, utterances) of a CHAT file: any of the first makes
    `read_chat` align the whole file as one text, untimed (`validate` says so)."""
    spans = [span for _, _, span in _utterances(text)]
    return sum(span is None for span in spans), len(spans)


def chat_speakers(segments: list[Segment]) -> list[str]:
    """The speaker codes of a whole-recording CHAT segment's main tiers, in order of first turn:
    more than one means their words share one tier (`validate` says so)."""
    found: list[str] = []
    for segment in segments:
        if segment.whole:
            for line in segment.text.splitlines():
                m = _MAIN_TIER_RE.match(line)
                if m and m.group(1) not in found:
                    found.append(m.group(1))
    return found
