"""`--ipa`: the phones tier written in IPA, with the same times, read back onto the same phones."""

from __future__ import annotations

import csv
import json
import re
import shutil

import soundfile as sf
import textgrid as tgpkg

from aligner.alignment import Alignment, Interval
from aligner.corpus import REPORT_NAME
from aligner.ipa import ARPABET_IPA, ipa_label, with_ipa_phones
from aligner.phone_folding import load_folding
from aligner.text.phones import PHONES
from cli_helpers import cli
from conftest import EXAMPLE_TXT, EXAMPLE_WAV, speechlike


def test_every_phone_of_the_model_has_its_own_ipa_symbol():
    assert set(ARPABET_IPA) == set(PHONES)
    assert len(set(ARPABET_IPA.values())) == len(PHONES)


def test_ipa_is_read_back_onto_the_phone_it_was_written_for():
    """`evaluate --hyp-fold ipa` folds what `--ipa` wrote onto the 39 phones it came from, for
    every phone and stress (ZH as cmu39 folds it)."""
    ipa, cmu = load_folding("ipa"), load_folding("cmu39")
    for phone in PHONES:
        for label in (phone, phone + "0", phone + "1", phone + "2"):
            assert ipa.fold_label(ipa_label(label)) == cmu.fold_label(label), label


def test_stress_chooses_the_reduced_vowel_and_other_labels_stay():
    assert [ipa_label(x) for x in ("AH0", "AH1", "AH2", "AH", "ER0", "ER1", "ER", "ah")] == [
        "ə", "ʌ", "ʌ", "ə", "ɚ", "ɝ", "ɚ", "ə"]
    assert [ipa_label(x) for x in ("SH", "sh", "CH", "JH", "R", "G", "IY1")] == [
        "ʃ", "ʃ", "tʃ", "dʒ", "ɹ", "ɡ", "i"]
    assert [ipa_label(x) for x in ("spn", "", "<star>", "X1")] == ["spn", "", "<star>", "X1"]


def test_only_the_phone_labels_change():
    a = Alignment(words=[Interval(0.1, 0.5, "she", 0.9)],
                  phones=[Interval(0.1, 0.3, "SH", 0.8), Interval(0.3, 0.5, "IY1", 0.7),
                          Interval(0.5, 0.6, "spn")],
                  duration=0.8, flags=["low_confidence: ..."])
    b = with_ipa_phones(a)
    assert [p.label for p in b.phones] == ["ʃ", "i", "spn"]
    assert [(p.start, p.end, p.confidence) for p in b.phones] == [
        (p.start, p.end, p.confidence) for p in a.phones]
    assert b.words == a.words and b.flags == a.flags and b.duration == a.duration
    assert [p.label for p in a.phones] == ["SH", "IY1", "spn"]  # the input is left alone


def _phones(path):
    grid = tgpkg.TextGrid.fromFile(str(path))
    tier = next(t for t in grid.tiers if t.name == "phones")
    return [(round(iv.minTime, 3), round(iv.maxTime, 3), iv.mark) for iv in tier if iv.mark]


def test_a_file_aligned_with_ipa_has_the_same_times_and_ipa_labels(tmp_path):
    arpabet, ipa = tmp_path / "a.TextGrid", tmp_path / "i.TextGrid"
    assert cli(EXAMPLE_WAV, EXAMPLE_TXT, "-o", arpabet, "-q").exit_code == 0
    result = cli(EXAMPLE_WAV, EXAMPLE_TXT, "-o", ipa, "--ipa", "-q")
    assert result.exit_code == 0, result.output
    a, i = _phones(arpabet), _phones(ipa)
    assert [(s, e) for s, e, _ in a] == [(s, e) for s, e, _ in i]
    assert [ipa_label(x) for _, _, x in a] == [x for _, _, x in i]
    assert {"CH", "R", "AY1"} <= {x for _, _, x in a} and {"tʃ", "ɹ", "aɪ"} <= {x for _, _, x in i}


def test_a_corpus_run_records_ipa_and_aligns_again_when_it_changes(tmp_path, tiny_model_dir):
    """The report records `phones=ipa`, so a rerun without --ipa rewrites the outputs rather
    than keeping the IPA ones as finished work; --jobs 2 writes IPA as one process does."""
    root, out = tmp_path / "corpus", tmp_path / "out"
    (root / "s").mkdir(parents=True)
    for k, text in enumerate(["she said yes", "a fish dish"]):
        sf.write(str(root / "s" / f"u{k}.wav"), speechlike(1.5, 16000, seed=k), 16000)
        (root / "s" / f"u{k}.lab").write_text(text, encoding="utf-8")
    shutil.copy(EXAMPLE_WAV, root / "s" / "x.wav")
    shutil.copy(EXAMPLE_TXT, root / "s" / "x.lab")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "--ipa", "--jobs", "2", "-q",
                 "--threshold", "max_phone_seconds=0.1")
    assert result.exit_code == 0, result.output
    labels = {x for f in out.rglob("*.TextGrid") for _, _, x in _phones(f)}
    assert "ʃ" in labels and not labels & set(PHONES)
    rows = list(csv.DictReader(open(out / REPORT_NAME, encoding="utf-8")))
    assert len(rows) == 3 and all("phones=ipa" in r["settings"] for r in rows)
    named = re.findall(r"phone '([^']*)'", (out / REPORT_NAME).read_text(encoding="utf-8"))
    assert named and not [x for x in named if x.rstrip("012") in PHONES]  # the report's flags
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0, result.output
    labels = {x for f in out.rglob("*.TextGrid") for _, _, x in _phones(f)}
    assert "SH" in labels and "ʃ" not in labels


def test_evaluate_says_which_option_reads_an_ipa_hypothesis(tmp_path):
    """Read without `--hyp-fold ipa`, half the labels of an `--ipa` file count as mismatches:
    a note names the option; with it, every label matches its ARPAbet twin."""
    arpabet, ipa = tmp_path / "a.TextGrid", tmp_path / "i.TextGrid"
    assert cli(EXAMPLE_WAV, EXAMPLE_TXT, "-o", arpabet, "-q").exit_code == 0
    assert cli(EXAMPLE_WAV, EXAMPLE_TXT, "-o", ipa, "--ipa", "-q").exit_code == 0
    plain = cli("evaluate", arpabet, ipa)
    assert plain.exit_code == 0 and "--hyp-fold ipa" in plain.stderr
    folded = cli("evaluate", arpabet, ipa, "--hyp-fold", "ipa", "--json", tmp_path / "s.json")
    assert folded.exit_code == 0 and "note:" not in folded.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["phones"]["match_rate"] == 1.0


def test_a_flag_on_a_phone_names_it_in_ipa_and_stays_on_its_csv_row(tmp_path):
    """Review 127: `long_phone` on AE1 was left on a row of its own (Type `span`) in an `--ipa`
    CSV, which attaches a flag to the phone of its label and time, and the JSON named 'AE1'
    beside a tier of `æ`."""
    from aligner.checks import Flag
    from aligner.formats import write_csv

    phone = Interval(0.2, 0.45, "AE1", 0.05)
    a = Alignment(words=[Interval(0.1, 0.5, "at", 0.3)],
                  phones=[phone, Interval(0.45, 0.5, "T", 0.5)], duration=0.6,
                  flags=[Flag("long_phone", "phone 'AE1' at 0.200-0.450 s lasts 0.25 s",
                              "phones", 0.2, 0.45, "AE1"),
                         Flag("low_confidence", "word 'at' ...", "words", 0.1, 0.5, "at")])
    b = with_ipa_phones(a)
    assert b.flags[0].label == "æ" and "phone 'æ' at 0.200" in b.flags[0]
    assert b.flags[0].kind == "long_phone" and b.flags[1] == a.flags[1]
    rows = list(csv.reader(open(write_csv(b, tmp_path / "x.csv"), encoding="utf-8")))
    (row,) = [r for r in rows if r[2] == "æ"]
    assert row[:4] == ["0.200", "0.450", "æ", "phones"] and row[6] == "long_phone"
    assert not [r for r in rows if r[3] == "span"]


def test_the_console_names_a_flagged_phone_as_the_files_do(tmp_path):
    """The Aligner labels the phones last (`Aligner.ipa`): the console's flags, like the files',
    name `æ`, not AE1."""
    result = cli(EXAMPLE_WAV, EXAMPLE_TXT, "-o", tmp_path / "x.json", "--ipa", "-v",
                 "--threshold", "max_phone_seconds=0.15")
    assert result.exit_code == 0, result.output
    assert "phone 'æ'" in result.output and "AE1" not in result.output
    flags = json.loads((tmp_path / "x.json").read_text())["flags"]
    assert "long_phone" in {f["kind"] for f in flags}
    assert all(f["label"].rstrip("012") not in PHONES for f in flags if f.get("tier") == "phones")


def test_an_aligner_set_to_ipa_returns_ipa_phones_with_the_same_times():
    from aligner.align import Aligner

    aligner = Aligner.load(device="cpu")
    arpabet = aligner.align(EXAMPLE_WAV, EXAMPLE_TXT)
    aligner.ipa = True
    ipa = aligner.align(EXAMPLE_WAV, EXAMPLE_TXT)
    assert [(p.start, p.end) for p in ipa.phones] == [(p.start, p.end) for p in arpabet.phones]
    assert [p.label for p in ipa.phones] == [ipa_label(p.label) for p in arpabet.phones]
    assert ipa.words == arpabet.words


def test_plot_draws_the_phones_in_ipa_read_or_aligned(tmp_path, monkeypatch):
    """`plot --ipa` labels the phones of an ARPAbet TextGrid as `align --ipa` would write them."""
    import aligner.plot

    drawn = []
    monkeypatch.setattr(aligner.plot, "plot_alignment",
                        lambda samples, rate, alignments, path, **kw: drawn.append(alignments)
                        or [path])
    grid = EXAMPLE_WAV.with_suffix(".TextGrid")
    result = cli("plot", EXAMPLE_WAV, grid, "-o", tmp_path / "x.png", "--ipa", "-q")
    assert result.exit_code == 0, result.output
    labels = [p.label for a in drawn[0] for p in a.phones if p.label]
    assert labels and "tʃ" in labels and not [x for x in labels if x.rstrip("012") in PHONES]
