"""Praat itself reads the TextGrids ottc-align writes, exactly as we meant them.

Phoneticians open our output in Praat, so "praatio can read it back" is not enough: here the
real program (`praat --run`, headless) reads each TextGrid and dumps every tier's name and
intervals; we compare with what we wrote: tier names and order, interval count, times within
1e-6 s and labels exactly (non-ASCII words, apostrophes and double quotes included).

Skipped only where the `praat` binary is absent; CI installs it (see .ci/run).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aligner.alignment import Alignment, Interval

PRAAT = shutil.which("praat")
pytestmark = pytest.mark.skipif(PRAAT is None, reason="praat is not installed")

# Writes, as Praat reads the TextGrid:  grid TAB xmin TAB xmax, then per tier
# tier TAB class TAB name TAB count, then one line per interval (xmin TAB xmax TAB label) or
# point (time TAB label). One writeFile at the end: Praat picks the encoding (ASCII, or UTF-16
# with a byte-order mark when a label is not ASCII), and the reader below decodes either.
DUMP_SCRIPT = r"""
form Dump TextGrid
  sentence inFile
  sentence outFile
endform
tg = Read from file: inFile$
gridStart = Get start time
gridEnd = Get end time
out$ = "grid" + tab$ + fixed$(gridStart, 9) + tab$ + fixed$(gridEnd, 9) + newline$
nTiers = Get number of tiers
for itier to nTiers
  selectObject: tg
  name$ = Get tier name: itier
  isInterval = Is interval tier: itier
  if isInterval
    n = Get number of intervals: itier
    out$ = out$ + "tier" + tab$ + "IntervalTier" + tab$ + name$ + tab$ + string$(n) + newline$
    for i to n
      xmin = Get start time of interval: itier, i
      xmax = Get end time of interval: itier, i
      label$ = Get label of interval: itier, i
      out$ = out$ + fixed$(xmin, 9) + tab$ + fixed$(xmax, 9) + tab$ + label$ + newline$
    endfor
  else
    n = Get number of points: itier
    out$ = out$ + "tier" + tab$ + "TextTier" + tab$ + name$ + tab$ + string$(n) + newline$
    for i to n
      t = Get time of point: itier, i
      label$ = Get label of point: itier, i
      out$ = out$ + fixed$(t, 9) + tab$ + label$ + newline$
    endfor
  endif
endfor
writeFile: outFile$, out$
"""

Tier = tuple[str, list[tuple[float, float, str]]]


def praat_read(textgrid: Path, workdir: Path) -> tuple[tuple[float, float], list[Tier]]:
    """((xmin, xmax), [(tier name, [(xmin, xmax, label), ...]), ...]) as Praat reads the file."""
    script = workdir / "dump_textgrid.praat"
    script.write_text(DUMP_SCRIPT, encoding="utf-8")
    out = workdir / f"{textgrid.stem}.praat.txt"
    home = workdir / "praat-home"  # Praat saves preferences on exit: keep them out of $HOME
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    proc = subprocess.run([PRAAT, "--run", str(script), str(textgrid), str(out)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, f"praat failed on {textgrid}: {proc.stdout}{proc.stderr}"
    raw = out.read_bytes()
    text = raw.decode("utf-16") if raw[:2] in (b"\xfe\xff", b"\xff\xfe") else raw.decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    head = lines.pop(0).split("\t")
    assert head[0] == "grid"
    tiers: list[Tier] = []
    counts: list[int] = []
    for line in lines:
        if line.startswith("tier\t"):  # interval lines start with a number
            _, kind, name, count = line.split("\t")
            assert kind == "IntervalTier", f"unexpected point tier {name!r}"
            tiers.append((name, []))
            counts.append(int(count))
        else:
            xmin, xmax, label = line.split("\t", 2)
            tiers[-1][1].append((float(xmin), float(xmax), label))
    assert [len(ivs) for _, ivs in tiers] == counts, "dump is truncated"
    return (float(head[1]), float(head[2])), tiers


def expected_tier(intervals: list[Interval], duration: float) -> list[tuple[float, float, str]]:
    """What a TextGrid tier should hold for `intervals`: labelled intervals at ms precision,
    gaps (and explicit silences) as empty intervals, covering 0..duration."""
    out: list[tuple[float, float, str]] = []
    t = 0.0
    for iv in intervals:
        if not iv.label:
            continue
        start, end = round(iv.start, 3), round(iv.end, 3)
        if start > t + 1e-9:
            out.append((t, start, ""))
        out.append((start, end, iv.label))
        t = end
    if round(duration, 3) > t + 1e-9:
        out.append((t, round(duration, 3), ""))
    return out


def assert_same_tier(got: list[tuple[float, float, str]], want: list[tuple[float, float, str]],
                     name: str) -> None:
    assert len(got) == len(want), f"tier {name!r}: Praat read {len(got)} intervals, wrote {len(want)}"
    for (g0, g1, gl), (w0, w1, wl) in zip(got, want):
        assert math.isclose(g0, w0, abs_tol=1e-6) and math.isclose(g1, w1, abs_tol=1e-6), \
            f"tier {name!r}: Praat read {gl!r} at {g0}-{g1}, we wrote {wl!r} at {w0}-{w1}"
        assert gl == wl, f"tier {name!r}: Praat read label {gl!r}, we wrote {wl!r}"


def alignment(words: list[str], speaker: str | None = None, offset: float = 0.0,
              duration: float = 6.0) -> Alignment:
    """Words of 0.4 s with a pause between the second and third, two phones each."""
    ws, ps = [], []
    t = 0.1234 + offset  # not on a millisecond: the writer rounds
    for i, w in enumerate(words):
        ws.append(Interval(t, t + 0.4, w, 0.9))
        ps += [Interval(t, t + 0.15, "D"), Interval(t + 0.15, t + 0.4, "AO")]
        t += 0.4 + (0.25 if i == 1 else 0.0)
    return Alignment(ws, ps, duration, speaker)


def pyread(path: Path) -> list[Tier]:
    """The same file as praatio (our reader's library) reads it, empty intervals included."""
    from praatio import textgrid

    tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=True)
    return [(name, [(e.start, e.end, e.label) for e in tg.getTier(name).entries])
            for name in tg.tierNames]


NON_ASCII = ["café", "Zürich", "naïve", "don't", "Œuvre", "straße", "日本"]


def test_praat_runs_headless():
    proc = subprocess.run([PRAAT, "--version"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "Praat" in proc.stdout


def test_single_speaker_textgrid_round_trip(tmp_path):
    from aligner.formats import write_textgrid

    a = alignment(NON_ASCII)
    path = write_textgrid(a, tmp_path / "one.TextGrid")
    (xmin, xmax), tiers = praat_read(path, tmp_path)
    assert (xmin, xmax) == (0.0, 6.0)
    assert [name for name, _ in tiers] == ["words", "phones"]
    assert_same_tier(tiers[0][1], expected_tier(a.words, a.duration), "words")
    assert_same_tier(tiers[1][1], expected_tier(a.phones, a.duration), "phones")
    # And Praat agrees with praatio, the library our own reader uses.
    for (name, got), (pyname, ours) in zip(tiers, pyread(path)):
        assert name == pyname
        assert_same_tier(got, ours, name)


def test_multi_speaker_textgrid_round_trip(tmp_path):
    from aligner.formats import write_textgrid

    ann = alignment(["café", "don't", "Zürich"], speaker="ann", offset=0.0)
    bob = alignment(["naïve", "l'été", "Ωmega"], speaker="bob", offset=2.5)
    path = write_textgrid([ann, bob], tmp_path / "two.TextGrid")
    _, tiers = praat_read(path, tmp_path)
    assert [name for name, _ in tiers] == ["ann - words", "ann - phones", "bob - words",
                                            "bob - phones"]
    for (name, got), a, kind in zip(tiers, [ann, ann, bob, bob], ["words", "phones"] * 2):
        assert_same_tier(got, expected_tier(getattr(a, kind), a.duration), name)


@pytest.mark.parametrize("label", ['say "hi"', "tab\tin", "a  b", "ünïcödé's"])
def test_awkward_labels_survive(tmp_path, label):
    """Quotes are doubled in the TextGrid syntax; Praat must undo exactly that."""
    from aligner.formats import write_textgrid

    a = Alignment([Interval(0.5, 1.0, label)], [Interval(0.5, 1.0, "AH")], 2.0)
    path = write_textgrid(a, tmp_path / "odd.TextGrid")
    _, tiers = praat_read(path, tmp_path)
    assert_same_tier(tiers[0][1], expected_tier(a.words, a.duration), "words")


def test_textgrid_from_the_aligner_round_trip(tmp_path, aligner, write_wav):
    """A TextGrid written by the real pipeline (tiny random model: times are arbitrary but the
    file is what users get), with non-ASCII words from the transcript."""
    from aligner.formats import write_outputs
    from tests.conftest import speechlike

    wav = write_wav(tmp_path / "utt.wav", speechlike(3.0))
    result = aligner.align(wav, "Don't visit Zürich, said the naïve café owner.")
    [path] = write_outputs(result, tmp_path / "utt", ["textgrid"])
    _, tiers = praat_read(path, tmp_path)
    assert [name for name, _ in tiers] == ["words", "phones"]
    words = [label for _, _, label in tiers[0][1] if label]
    assert words == [w.label for w in result.words if w.label]
    assert "Zürich" in "".join(words) and "naïve" in words and "café" in words
    for (name, got), kind in zip(tiers, ["words", "phones"]):
        assert_same_tier(got, expected_tier(getattr(result, kind), result.duration), name)
