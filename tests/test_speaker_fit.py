"""aligner/speaker_fit.py and the corpus run's check against a speaker's other recordings: a
wrong transcript of a speaker whose correct ones all fit poorly is still caught, a correct one of
that speaker is not, and the flag reaches the report, the JSON output and --strict."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from aligner import runner
from aligner.alignment import Alignment, Interval
from aligner.checks import STRICT_KINDS, Thresholds
from aligner.formats import write_json
from aligner.speaker_fit import MIN_OTHERS, SPEAKER_WEIGHT, relative_fits
from cli_helpers import cli
from conftest import NOT_STRICT, speechlike


def test_relative_fit_is_the_fit_over_the_root_of_the_others_median():
    rng = np.random.default_rng(0)
    for n in (MIN_OTHERS + 1, MIN_OTHERS + 2, 9, 20):  # odd and even numbers of others
        fits = [("a", float(x)) for x in rng.uniform(0.001, 1.0, n)]
        for i, rel in enumerate(relative_fits(fits)):
            others = [f for j, (_, f) in enumerate(fits) if j != i]
            median = float(np.exp(np.median(np.log(others))))
            assert rel is not None and rel.others == n - 1
            assert rel.speaker_median == pytest.approx(median)
            assert rel.relative == pytest.approx(fits[i][1] / median ** SPEAKER_WEIGHT)


def test_speakers_are_judged_apart_and_only_with_enough_others():
    fits = [("a", 0.5)] * MIN_OTHERS + [("b", 0.01)] * (MIN_OTHERS + 1) + [("c", 0.3)]
    out = relative_fits(fits)
    assert all(r is None for r in out[:MIN_OTHERS])  # a: each has MIN_OTHERS - 1 others
    assert all(r is not None and r.speaker_median == pytest.approx(0.01)
               for r in out[MIN_OTHERS:-1])
    assert out[-1] is None


def test_a_clear_voice_s_wrong_transcript_is_caught_and_a_hard_voice_s_right_ones_are_not():
    """Figures like speechocean762's learners' (correct transcripts: median fit 0.06, 1st
    percentile 0.006). Speaker `clear` fits well; its wrong transcript (0.006) passes the
    single-recording test and is caught against the speaker's others. Speaker `hard` fits
    poorly throughout, just above the single-recording threshold: none of its right
    transcripts is caught against its own norm."""
    th = Thresholds()
    hard = [0.006, 0.008, 0.007, 0.009, 0.0065, 0.0075]
    clear = [0.08, 0.1, 0.12, 0.09, 0.15]
    assert min(hard) > th.min_transcript_fit and 0.006 > th.min_transcript_fit
    fits = [("hard", f) for f in hard] + [("clear", f) for f in clear] + [("clear", 0.006)]
    caught = [r.relative < th.min_relative_fit for r in relative_fits(fits)]
    assert caught == [False] * len(hard) + [False] * len(clear) + [True]


def _result(tmp_path, name: str, speaker: str, fit: float, status: str = "aligned"):
    a = Alignment([Interval(0.0, 0.5, "hi")], [Interval(0.0, 0.5, "HH")], 0.5)
    path = write_json(a, tmp_path / f"{name}.json") if status != "skipped" else None
    return runner.Result(name, status, duration=0.5, words=1, transcript_fit=fit, speaker=speaker,
                         written=[path] if path else [])


def _speaker_results(tmp_path, wrong_fit: float = 0.006, skipped: int = 0):
    rights = [0.08, 0.1, 0.12, 0.09, 0.15]
    results = [_result(tmp_path, f"s/r{i}", "s", f, "skipped" if i < skipped else "aligned")
               for i, f in enumerate(rights)]
    (tmp_path / "s").mkdir(exist_ok=True)
    return results + [_result(tmp_path, "s/wrong", "s", wrong_fit)]


def test_judging_flags_the_outlier_and_adds_the_flag_to_its_json(tmp_path):
    results = _speaker_results(tmp_path)
    changed = runner.judge_against_speakers(results, Thresholds(), strict=NOT_STRICT)
    assert [r.name for r in changed] == ["s/wrong"]
    wrong = results[-1]
    assert wrong.status == "flagged" and wrong.flags[0].startswith("transcript_mismatch:")
    assert "for this speaker" in wrong.flags[0] and "other 5 recordings" in wrong.flags[0]
    flags = json.loads((tmp_path / "s" / "wrong.json").read_text())["flags"]
    assert [f["kind"] for f in flags] == ["transcript_mismatch"]
    assert all(r.status == "aligned" for r in results[:-1])
    # judged once: a second pass adds nothing
    assert runner.judge_against_speakers(results, Thresholds(), strict=NOT_STRICT) == []
    assert len(json.loads((tmp_path / "s" / "wrong.json").read_text())["flags"]) == 1


def test_strict_removes_the_outlier_s_outputs_and_fails_it(tmp_path):
    results = _speaker_results(tmp_path)
    runner.judge_against_speakers(results, Thresholds(), strict=STRICT_KINDS)
    wrong = results[-1]
    assert wrong.status == "failed" and wrong.cause == runner.STRICT and "--strict" in wrong.reason
    assert wrong.written == [] and not (tmp_path / "s" / "wrong.json").exists()


def test_skipped_recordings_are_judged_again_against_all_of_the_speaker_s(tmp_path):
    """A run that grew the corpus (or resumed an interrupted one) judged only its new
    recordings: a fresh run on the same corpus flagged others. Now every recording is judged
    against all of its speaker's, skipped ones included, whichever way the run came about."""
    results = _speaker_results(tmp_path, skipped=3)
    results[0].transcript_fit = 0.004  # aligned before, it stands out against all the others
    runner.judge_against_speakers(results, Thresholds(), strict=NOT_STRICT)
    assert results[0].status == "skipped" and "flagged against its speaker" in results[0].reason
    assert results[0].flags[0].startswith("transcript_mismatch:") and "other 5" in results[0].flags[0]
    assert results[-1].status == "flagged"
    assert [r.flags for r in results[1:-1]] == [[]] * 4


def _resumed_speaker(tmp_path):
    """8 recordings of speaker s aligned before (skipped now). An earlier run flagged r0
    against the 4 recordings it had then (median fit 0.25); against all 8 (median 0.05) it fits.
    r1's own fit failed the single-recording test (0.0053996, 0.0054 in the report); r2 stands
    out against all 8 too."""
    from aligner.checks import Flag
    from aligner.formats import add_flag, write_csv

    fits = [0.03, 0.0054, 0.004, 0.05, 0.06, 0.05, 0.04, 0.06]
    results = [_result(tmp_path / "out", f"s/r{i}", "s", f) for i, f in enumerate(fits)]
    a = Alignment([Interval(0.0, 0.5, "hi")], [Interval(0.0, 0.5, "HH")], 0.8)
    texts = ["transcript fit 0.03 is very low for this speaker (their other 4 recordings: "
             "median 0.25); the transcript may not match the audio",
             "transcript fit 0.0054 is very low; the transcript may not match the audio",
             "transcript fit 0.004 is very low for this speaker (their other 4 recordings: "
             "median 0.25); the transcript may not match the audio"]
    for r, text in zip(results, texts):
        r.status, r.written = "skipped", [write_json(a, tmp_path / "out" / f"{r.name}.json"),
                                           write_csv(a, tmp_path / "out" / f"{r.name}.csv")]
        flag = Flag("transcript_mismatch", text)
        for path in r.written:
            add_flag(path, flag, 0.8)
        r.flags = [str(flag)]
    return results


def test_a_speaker_flag_an_earlier_run_set_on_fewer_recordings_is_lifted(tmp_path):
    """r0's flag leaves the report, the JSON and the CSV; r1's, earned by its own fit (which
    the report rounds to the threshold), and r2's, which still stands out, stay."""
    from aligner.formats import read_csv, read_json

    results = _resumed_speaker(tmp_path)
    lifted, own, still = results[:3]
    changed = runner.judge_against_speakers(results, Thresholds(), strict=NOT_STRICT)
    assert changed == [lifted] and lifted.flags == [] and "no longer flagged" in lifted.reason
    assert read_json(lifted.written[0])[0].flags == []
    rows = list(csv.DictReader(open(lifted.written[1], encoding="utf-8")))
    assert "recording" not in [r["Type"] for r in rows] and read_csv(lifted.written[1])
    for kept in (own, still):
        assert kept.status == "skipped" and kept.flags[0].startswith("transcript_mismatch")
        assert [f.kind for f in read_json(kept.written[0])[0].flags] == ["transcript_mismatch"]


def test_strict_waits_for_the_speaker_s_judgement_before_refusing(tmp_path):
    """--strict refused an earlier run's speaker flag as it recalled the report, before the
    speaker was judged again, so a resumed strict run deleted r0, which a fresh one keeps."""
    results = _resumed_speaker(tmp_path)
    report = runner.write_report(results, tmp_path / runner.REPORT_NAME)
    again = [runner.Result(r.name, "skipped", speaker="s", written=r.written) for r in results]
    runner.recall_previous(again, report, strict=STRICT_KINDS)
    assert [r.status for r in again[:3]] == ["skipped", "failed", "skipped"]  # r1: its own fit
    runner.judge_against_speakers(again, Thresholds(), strict=STRICT_KINDS)
    assert [r.status for r in again[:3]] == ["skipped", "failed", "failed"]
    assert all(p.exists() for p in again[0].written) and again[0].flags == []
    assert again[2].cause == runner.STRICT and again[2].written == []
    assert not (tmp_path / "out" / "s" / "r2.json").exists()


def test_a_speaker_with_too_few_recordings_is_not_judged(tmp_path):
    results = _speaker_results(tmp_path)[-MIN_OTHERS:]  # MIN_OTHERS - 1 others
    assert runner.judge_against_speakers(results, Thresholds(), strict=NOT_STRICT) == []


def test_the_report_keeps_fits_for_a_resumed_run(tmp_path):
    results = _speaker_results(tmp_path, wrong_fit=0.012345678)
    report = runner.write_report(results, tmp_path / runner.REPORT_NAME)
    again = [runner.Result(r.name, "skipped", speaker="s") for r in results]
    runner.recall_previous(again, report, strict=NOT_STRICT)
    assert again[-1].transcript_fit == pytest.approx(0.01235, rel=1e-3)
    runner.recall_previous(again, tmp_path / "missing.csv", strict=NOT_STRICT)  # nothing, no error


def _corpus_with_fits(root: Path, fits: dict[str, float], write_wav, monkeypatch) -> Path:
    """A corpus at `root` of one short recording per name of `fits`, whose transcript fits are
    replaced by the chosen ones (the tiny model's own are meaningless) and flags by none:
    everything else is the real run."""
    real_summarise = runner.summarise

    def summarise(utt, alignments):
        result = real_summarise(utt, alignments)
        result.transcript_fit, result.flags, result.status = fits[utt.name], [], "aligned"
        return result

    monkeypatch.setattr(runner, "summarise", summarise)
    for i, name in enumerate(fits):
        write_wav(root / f"{name}.wav", speechlike(0.6, seed=i))
        (root / f"{name}.lab").write_text("hello there", encoding="utf-8")
    return root


def test_a_corpus_run_flags_a_transcript_that_fits_far_worse_than_the_speaker_s(
        tmp_path, tiny_model_dir, write_wav, monkeypatch):
    """Through the command line: the tiny model's fits are replaced by chosen ones (its own are
    meaningless), everything else is the real run: report, JSON, summary and --strict."""
    chosen = {f"spk/u{i}": f for i, f in enumerate([0.08, 0.1, 0.12, 0.09, 0.15, 0.006])}
    root = _corpus_with_fits(tmp_path / "corpus", chosen, write_wav, monkeypatch)
    out = tmp_path / "out"
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json,csv")
    assert result.exit_code == 0, result.output
    first = next(csv.DictReader(open(out / "spk" / "u5.csv", encoding="utf-8")))
    assert (first["Type"], first["Flags"]) == ("recording", "transcript_mismatch")
    assert next(csv.DictReader(open(out / "spk" / "u0.csv", encoding="utf-8")))["Type"] != "recording"
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert rows["spk/u5"]["status"] == "flagged" and "for this speaker" in rows["spk/u5"]["flags"]
    assert all(rows[f"spk/u{i}"]["status"] == "aligned" for i in range(5))
    assert "transcript_mismatch" in [f["kind"] for f in
                                     json.loads((out / "spk" / "u5.json").read_text())["flags"]]
    assert "1 aligned utterance(s) have flags" in result.stdout

    strict_out = tmp_path / "strict"
    result = cli(root, "-o", strict_out, "--model", tiny_model_dir, "-f", "json", "--strict")
    assert result.exit_code == 1, result.output
    assert not (strict_out / "spk" / "u5.json").exists() and (strict_out / "spk" / "u0.json").exists()
    rows = {r["utterance"]: r for r in csv.DictReader(open(strict_out / runner.REPORT_NAME,
                                                           encoding="utf-8"))}
    assert rows["spk/u5"]["status"] == "failed" and "--strict" in rows["spk/u5"]["reason"]


def test_a_run_killed_before_judging_has_its_recordings_judged_when_resumed(
        tmp_path, tiny_model_dir, write_wav, monkeypatch):
    """A run killed hard (kill -9) after aligning every recording but before the end of run,
    where recordings are judged against their speaker's, leaves only its journal. The resumed
    run skips the recordings, and judges the ones that journal holds: the wrong transcript is
    flagged in the report and its JSON (with --strict: removed and failed)."""
    chosen = {f"spk/u{i}": f for i, f in enumerate([0.08, 0.1, 0.12, 0.09, 0.15, 0.006])}
    real_summarise, real_judge = runner.summarise, runner.judge_against_speakers

    def summarise(utt, alignments):
        result = real_summarise(utt, alignments)
        result.transcript_fit, result.flags, result.status = chosen[utt.name], [], "aligned"
        return result

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):
        raise Killed  # the end of run never comes: no judging, no report

    monkeypatch.setattr(runner, "summarise", summarise)
    root = tmp_path / "corpus"
    for i, name in enumerate(chosen):
        write_wav(root / f"{name}.wav", speechlike(0.6, seed=i))
        (root / f"{name}.lab").write_text("hello there", encoding="utf-8")
    for strict in ((), ("--strict",)):
        out = tmp_path / f"out{len(strict)}"
        monkeypatch.setattr(runner, "judge_against_speakers", killed)
        with pytest.raises(Killed):
            cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json", *strict)
        assert not (out / runner.REPORT_NAME).exists()
        assert runner.journal_path(out / runner.REPORT_NAME).is_file()
        monkeypatch.setattr(runner, "judge_against_speakers", real_judge)
        result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json", *strict)
        rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME,
                                                               encoding="utf-8"))}
        assert all(rows[f"spk/u{i}"]["status"] == "skipped" and not rows[f"spk/u{i}"]["flags"]
                   for i in range(5))
        assert "for this speaker" in rows["spk/u5"]["flags"]
        if strict:
            assert result.exit_code == 1, result.output
            assert rows["spk/u5"]["status"] == "failed" and not (out / "spk" / "u5.json").exists()
        else:
            assert result.exit_code == 0, result.output
            assert rows["spk/u5"]["status"] == "skipped" and "speaker" in rows["spk/u5"]["reason"]
            kinds = [f["kind"] for f in json.loads((out / "spk" / "u5.json").read_text())["flags"]]
            assert kinds[0] == "transcript_mismatch" and kinds.count("transcript_mismatch") == 1
        # judged once: a third run finds it in the report and judges nothing again
        again = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json", *strict)
        assert again.exit_code == result.exit_code
        if not strict:
            kinds = [f["kind"] for f in json.loads((out / "spk" / "u5.json").read_text())["flags"]]
            assert kinds.count("transcript_mismatch") == 1  # (the tiny model's own flags aside)


def test_a_rerun_that_adds_a_format_takes_a_lifted_flag_off_the_outputs_it_keeps(
        tmp_path, tiny_model_dir, write_wav, monkeypatch):
    """A second run asking for one more format aligns every recording again but keeps the JSON
    the first wrote (only missing formats are written). When the speaker has grown so that the
    outlier now fits, the kept JSON loses the first run's flag with the report; the one still
    flagged keeps it, once."""
    fits = {f"spk/u{i}": f for i, f in enumerate([0.08, 0.1, 0.12, 0.09, 0.15, 0.006, 0.0005])}
    root = _corpus_with_fits(tmp_path / "corpus", fits, write_wav, monkeypatch)
    out = tmp_path / "out"
    assert cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json", "-q").exit_code == 0

    def kinds(name):
        return [f["kind"] for f in json.loads((out / "spk" / f"{name}.json").read_text())["flags"]]

    assert "transcript_mismatch" in kinds("u5")
    for i in range(10):  # the speaker grows by recordings that fit as poorly as u5
        fits[f"spk/v{i}"] = 0.006
        write_wav(root / "spk" / f"v{i}.wav", speechlike(0.6, seed=10 + i))
        (root / "spk" / f"v{i}.lab").write_text("hello there", encoding="utf-8")
    result = cli(root, "-o", out, "--model", tiny_model_dir, "-f", "json,vtt", "-q")
    assert result.exit_code == 0, result.output
    rows = {r["utterance"]: r for r in csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))}
    assert rows["spk/u5"]["status"] == "aligned" and (out / "spk" / "u5.vtt").is_file()
    assert "transcript_mismatch" not in kinds("u5")
    assert rows["spk/u6"]["status"] == "flagged" and kinds("u6").count("transcript_mismatch") == 1


def test_the_benchmark_judges_a_swapped_transcript_against_the_speaker_s_other_recordings():
    """benchmarks/real_speech.py: a swapped transcript of a recording is judged as in a corpus
    where only that transcript is wrong (against the speaker's correct recordings but its own),
    and the calibration picks the relative threshold on one half of the speakers."""
    from benchmarks.real_speech import Fit, calibrate_relative_fit, corpus_flagged, relative_rows

    right = [Fit(f"SPEAKER{s:04d}/u{i}", 0.05 + 0.01 * i + 0.001 * s, 0.05 + 0.01 * i + 0.001 * s)
             for s in range(1, 5) for i in range(6)]
    wrong = [Fit("SPEAKER0001/u0", 0.004, 0.004), Fit("SPEAKER0002/u5", 0.009, 0.009)]
    rows_right, rows_wrong = relative_rows(right, wrong)
    assert all(r is not None for _, _, r in rows_right)
    own = [f.fit for f in right if f.key.startswith("SPEAKER0002/") and f.key != "SPEAKER0002/u5"]
    median = float(np.median(own))  # five others: the middle one
    assert rows_wrong[1][2] == pytest.approx(0.009 / median ** SPEAKER_WEIGHT)
    # in noise: the relative fit from the plain fits, the single-recording test on the judged
    noisy = relative_rows(right, [Fit("SPEAKER0002/u5", 0.009, 0.006)])[1][0]
    assert noisy == ("SPEAKER0002/u5", 0.006, rows_wrong[1][2])
    # the single-recording threshold alone catches the first; the relative one both
    assert corpus_flagged(rows_wrong, 0.0055, 0.0) == 0.5
    assert corpus_flagged(rows_wrong, 0.0055, 0.04) == 1.0
    assert corpus_flagged(rows_wrong, 0.0055, 0.04, refused=2) == 1.0
    # --strict in a corpus run: also what the recording's own flags refuse, by key
    assert corpus_flagged(rows_wrong, 0.0055, 0.0, strict=set()) == 0.5
    assert corpus_flagged(rows_wrong, 0.0055, 0.0, strict={"SPEAKER0002/u5"}) == 1.0
    assert corpus_flagged(rows_wrong, 0.0055, 0.0, refused=2, strict=set()) == 0.75
    cal = calibrate_relative_fit(rows_right, rows_wrong, 0, 0.0055, flag_share=0.2)
    assert [d["chosen_on"] for d in cal["directions"]] == ["odd", "even"]
    assert cal["judged"] == len(right) and 0 < cal["suggested"] < 0.3


def test_recordings_refused_by_strict_still_count_towards_the_norm(tmp_path):
    results = _speaker_results(tmp_path)[2:]  # three right ones and the wrong one
    refused = runner.Result("s/r0", "failed", "flagged (--strict): ...", transcript_fit=0.1,
                            speaker="s", cause=runner.STRICT)
    assert runner.judge_against_speakers(results, Thresholds(), strict=STRICT_KINDS) == []  # 3 others
    changed = runner.judge_against_speakers([refused, *results], Thresholds(), strict=STRICT_KINDS)
    assert [r.name for r in changed] == ["s/wrong"] and refused.status == "failed"


def test_a_recording_refused_for_another_flag_still_gets_its_speaker_flag(tmp_path):
    """--strict-flags low_confidence refused the wrong recording for a word before its speaker
    was judged: the report must still give the reason that matters, the transcript that does
    not fit the speaker's other recordings."""
    from aligner.checks import parse_strict_flags

    results = _speaker_results(tmp_path)
    wrong = results[-1]
    wrong.flags = ["low_confidence: word 'x' at 0.1-0.2 s confidence 0.00"]
    kinds = parse_strict_flags("low_confidence")
    runner.refuse(wrong, kinds)
    assert runner.judge_against_speakers(results, Thresholds(), strict=kinds) == [wrong]
    assert wrong.status == "failed" and wrong.cause == runner.STRICT
    assert runner.is_speaker_mismatch(wrong.flags[0]) and len(wrong.flags) == 2
    assert wrong.reason.startswith("flagged (--strict): low_confidence")
    assert wrong.reason.endswith("(1 other flag(s) only reported)")
    both = parse_strict_flags("default,low_confidence")  # the mismatch refuses now: named first
    wrong.flags = wrong.flags[1:]
    runner.refuse(wrong, both)
    assert runner.judge_against_speakers(results, Thresholds(), strict=both) == [wrong]
    assert wrong.reason.startswith("flagged (--strict): transcript_mismatch")
    assert "(+1 more that --strict refuses)" in wrong.reason
    assert runner.judge_against_speakers(results, Thresholds(), strict=both) == []  # once


def test_the_benchmark_judges_flat_folders_of_mixed_speakers_as_one_speaker():
    """benchmarks/real_speech.py's flat-folder figure: folders drawn from correct recordings,
    one transcript in each swapped; a wrong fit far below the folder's median is caught, a
    folder of equal fits flags none of its correct recordings."""
    from benchmarks.real_speech import Fit, flat_folder

    right = [Fit(f"S{i}/u", 0.1, 0.1) for i in range(30)]
    out = flat_folder(right, [Fit("S0/w", 0.001, 0.001)], 5, 0.0054, 0.0349)
    assert out == {"size": 5, "correct_flagged": 0.0, "swapped_flagged": 1.0}
    passes = flat_folder(right, [Fit("S0/w", 0.05, 0.05)], 5, 0.0054, 0.0349)  # half the median
    assert passes["swapped_flagged"] == 0.0
    # judged below the file threshold (a noisy recording's allowance): caught by that test
    noisy = flat_folder(right, [Fit("S0/w", 0.05, 0.005)], 5, 0.0054, 0.0349)
    assert noisy["swapped_flagged"] == 1.0
    assert flat_folder([], [], 5, 0.0054, 0.0349)["swapped_flagged"] == 0.0


def test_speaker_characters_groups_a_flat_folder_by_name(tmp_path, tiny_model_dir, write_wav,
                                                         monkeypatch):
    """A flat folder holds two voices, one fitting poorly whatever the transcript: pooled as one
    speaker, the poor voice's recordings stand out against the other's and are flagged; with
    --speaker-characters 3 (MFA's option: the speaker is the name's first 3 characters) each is
    judged against its own voice and none is."""
    fits = {**{f"aaa_{i}": 0.2 for i in range(5)}, **{f"bbb_{i}": 0.009 for i in range(5)}}
    root = _corpus_with_fits(tmp_path / "corpus", fits, write_wav, monkeypatch)

    def flagged(out):
        rows = csv.DictReader(open(out / runner.REPORT_NAME, encoding="utf-8"))
        return sorted(r["utterance"] for r in rows if "for this speaker" in r["flags"])

    result = cli(root, "-o", tmp_path / "pooled", "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0, result.output
    assert flagged(tmp_path / "pooled") == [f"bbb_{i}" for i in range(5)]
    for option in ("--speaker-characters", "--speaker_characters", "-s"):
        out = tmp_path / option.strip("-")
        result = cli(root, "-o", out, "--model", tiny_model_dir, "-q", option, "3")
        assert result.exit_code == 0 and flagged(out) == [], result.output
    # the same output folder aligned again with another -s: the speakers, and so the flags,
    # are those of this run's -s (recorded in the report's settings), not the earlier one's
    pooled = tmp_path / "pooled"
    assert cli(root, "-o", pooled, "--model", tiny_model_dir, "-q", "-s", "5").exit_code == 0
    assert flagged(pooled) == []  # each its own speaker: too few others to judge
    assert cli(root, "-o", pooled, "--model", tiny_model_dir, "-q").exit_code == 0
    assert flagged(pooled) == [f"bbb_{i}" for i in range(5)]
    wav, lab = root / "aaa_0.wav", root / "aaa_0.lab"
    result = cli(wav, lab, "--model", tiny_model_dir, "-s", "3", "-o", tmp_path / "one.json")
    assert result.exit_code == 2 and "--speaker-characters is for corpus runs" in result.stderr


def test_a_refused_recording_loses_a_speaker_flag_its_speaker_no_longer_supports(tmp_path):
    """An earlier run flagged it against fewer of its speaker's recordings; this run refuses it
    for another flag (recall_previous) and, judged against them all, it fits: the stale
    speaker flag goes, and the reason quotes the flag that refuses it."""
    results = _speaker_results(tmp_path)
    r = results[0]  # fit 0.08, as its speaker's others
    r.flags = ["transcript_mismatch: transcript fit 0.08 is very low for this speaker (their "
               "other 4 recordings: median 2)", "untranscribed_speech: voiced 0.1-1.0 s"]
    runner.refuse(r, STRICT_KINDS)
    assert r.reason.startswith("flagged (--strict): transcript_mismatch")
    assert r in runner.judge_against_speakers(results, Thresholds(), strict=STRICT_KINDS)
    assert [f.split(":")[0] for f in r.flags] == ["untranscribed_speech"]
    assert r.status == "failed" and r.reason.startswith("flagged (--strict): untranscribed_speech")


def test_the_benchmark_calibrates_the_file_threshold_on_the_judged_fits():
    """benchmarks/real_speech.py's calibration picks the threshold that flags a share of each
    half's correct transcripts on the fits as `find_flags` weighs them (over the noise
    allowance), not the plain fits."""
    from benchmarks.real_speech import Fit, calibrate_fit

    right = [Fit(f"SPEAKER{s:04d}/u{i}", 0.1 + 0.01 * i, (0.1 + 0.01 * i) / 2)
             for s in range(1, 5) for i in range(10)]
    wrong = [Fit("SPEAKER0001/u0", 0.08, 0.04), Fit("SPEAKER0002/u0", 0.2, 0.2)]
    cal = calibrate_fit(right, wrong, refused=1, flag_share=0.0)
    assert cal["suggested"] == pytest.approx(0.05)  # the lowest judged fit of each half
    assert cal["suggested_swapped_caught"] == pytest.approx(2 / 3)  # 0.04, and the refused one
    assert cal["suggested_correct_flagged"] == 0.0
