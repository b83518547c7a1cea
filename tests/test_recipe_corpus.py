"""Build a tiny synthetic corpus with the recipe (Festival kal_diphone + espeak-ng native voices,
as CI has them) and check the gold TextGrids against the audio."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

textgrid = pytest.importorskip("textgrid")

from aligner.text.phones import PHONES  # noqa: E402
from recipes.synth.build import MANIFEST_COLUMNS, main, word_label  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("festival") is None or shutil.which("espeak-ng") is None,
    reason="festival and espeak-ng are needed to build the tiny corpus")

VOICES = "fest-kal,esp-en-us-m1,esp-en-029-m2"
ARGS = ["--voices", VOICES, "--train-per-voice", "4", "--dev-per-voice", "2",
        "--test-per-voice", "3", "--train-sentences", "40", "--batch-size", "3",
        "--workers", "2", "--no-progress", "--seed", "7"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    assert main(["--out", str(out), *ARGS]) == 0
    return out


def _manifest(out: Path) -> list[dict]:
    with (out / "manifest.tsv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _tiers(path: Path):
    tg = textgrid.TextGrid.fromFile(str(path))
    names = [t.name for t in tg.tiers]
    assert names == ["words", "phones"], names
    return tg, tg.getFirst("words"), tg.getFirst("phones")


def test_layout_manifest_and_splits(corpus: Path) -> None:
    rows = _manifest(corpus)
    assert list(rows[0].keys()) == MANIFEST_COLUMNS
    splits = {r["split"] for r in rows}
    assert splits == {"train", "dev", "test"}
    test_speakers = {r["speaker"] for r in rows if r["split"] == "test"}
    other_speakers = {r["speaker"] for r in rows if r["split"] != "test"}
    assert test_speakers == {"esp-en-029-m2"} and not test_speakers & other_speakers
    train_text = {r["text"] for r in rows if r["split"] == "train"}
    assert not train_text & {r["text"] for r in rows if r["split"] == "dev"}
    for r in rows:
        audio = corpus / r["audio"]
        stem = audio.with_suffix("")
        assert audio.exists() and stem.with_suffix(".lab").exists()
        assert stem.with_suffix(".TextGrid").exists()
        assert audio.parent.name == r["speaker"] and audio.parent.parent.name == r["split"]
        assert stem.with_suffix(".lab").read_text(encoding="utf-8").strip() == r["text"]
    assert (corpus / "summary.json").exists()


def test_textgrids_cover_file_and_nest(corpus: Path) -> None:
    for r in _manifest(corpus):
        audio, sr = sf.read(corpus / r["audio"], dtype="float32")
        assert sr == 16000
        dur = len(audio) / sr
        tg, words, phones = _tiers((corpus / r["audio"]).with_suffix(".TextGrid"))
        for tier in (words, phones):
            assert tier.minTime == 0 and abs(tier.maxTime - dur) < 1e-3
            assert tier[0].minTime == 0 and abs(tier[-1].maxTime - dur) < 1e-3
            for a, b in zip(tier, tier[1:]):
                assert abs(a.maxTime - b.minTime) < 1e-6 and a.maxTime > a.minTime
        labels = [p.mark for p in phones if p.mark]
        assert labels and set(labels) <= set(PHONES), set(labels) - set(PHONES)
        # words tier shows the user's tokens, in order, without sentence punctuation
        expected = [word_label(t) for t in r["text"].split()]
        assert [w.mark for w in words if w.mark] == expected
        # every phone lies inside a word, every word holds phones, boundaries coincide
        spans = [(w.minTime, w.maxTime) for w in words if w.mark]
        for p in phones:
            if p.mark:
                assert any(a - 1e-6 <= p.minTime and p.maxTime <= b + 1e-6 for a, b in spans)
        for a, b in spans:
            inside = [p for p in phones if p.mark and a - 1e-6 <= p.minTime < b]
            assert inside
            assert abs(inside[0].minTime - a) < 1e-6 and abs(inside[-1].maxTime - b) < 1e-6


def _frame_db(audio: np.ndarray, sr: int, hop_s: float = 0.01) -> np.ndarray:
    hop = int(sr * hop_s)
    n = len(audio) // hop
    return 10 * np.log10(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)


def test_energy_silence_where_gold_says_silence(corpus: Path) -> None:
    """In clean utterances (no noise/reverb), the middle of every gold pause >= 150 ms is much
    quieter (20 dB) than the speech, and the middle of every vowel is loud."""
    vowels = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY",
              "UH", "UW"}
    checked = 0
    for r in _manifest(corpus):
        if any(k in r["augment"] for k in ("noise", "reverb")):
            continue
        audio, sr = sf.read(corpus / r["audio"], dtype="float32")
        db = _frame_db(audio, sr)
        _, words, phones = _tiers((corpus / r["audio"]).with_suffix(".TextGrid"))
        speech_ref = np.percentile(db, 90)
        for p in phones:
            i0, i1 = int(p.minTime * 100), int(p.maxTime * 100)
            if not p.mark and p.maxTime - p.minTime >= 0.15:
                mid = db[i0 + 4:i1 - 4]
                if mid.size:
                    assert np.max(mid) < speech_ref - 20, (r["utt"], p.minTime, p.maxTime)
                    checked += 1
            elif p.mark in vowels and p.maxTime - p.minTime >= 0.06:
                mid = db[(i0 + i1) // 2]
                assert mid > speech_ref - 30, (r["utt"], p.mark, p.minTime)
    assert checked >= 5


def test_resume_and_determinism(corpus: Path, tmp_path: Path) -> None:
    """A rerun does no work and yields the same manifest; a fresh build with the same seed gives
    the same files (names, text, durations, augmentation)."""
    before = (corpus / "manifest.tsv").read_text(encoding="utf-8")
    assert main(["--out", str(corpus), *ARGS]) == 0
    assert (corpus / "manifest.tsv").read_text(encoding="utf-8") == before
    fresh = tmp_path / "again"
    args = list(ARGS)
    args[args.index(VOICES)] = "fest-kal"
    assert main(["--out", str(fresh), *args]) == 0
    again = [r for r in _manifest(fresh)]
    first = {r["utt"]: r for r in _manifest(corpus)}
    assert again
    for r in again:
        assert r == first[r["utt"]]
        a, _ = sf.read(fresh / r["audio"], dtype="float32")
        b, _ = sf.read(corpus / r["audio"], dtype="float32")
        np.testing.assert_array_equal(a, b)
