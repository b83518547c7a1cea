"""benchmarks/common.py: result tables are written whole, or the previous ones stay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import common


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """RESULTS and DOCS under tmp_path (not yet created: write_results makes them)."""
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(common, "DOCS", tmp_path / "docs")
    return tmp_path / "results", tmp_path / "docs"


def test_write_results_writes_the_table_the_data_and_the_docs_page(folders, tmp_path):
    results, docs = folders
    common.write_results("x", "Title", "| a |\n", {"nan": float("nan"), "path": tmp_path}, "Why.")
    assert (results / "x.md").read_text(encoding="utf-8") == "# Title\n\n| a |\n"
    assert json.loads((results / "x.json").read_text()) == {"nan": None, "path": str(tmp_path)}
    assert (docs / "x.md").read_text(encoding="utf-8") == (
        "# Title\n\nWhy.\n\n## Latest results\n\n| a |\n")


def test_pages_show_repository_and_data_paths_as_a_reader_can_follow_them(folders, monkeypatch):
    """The pages name the repository's files from its root and the data folder as `$DATA`
    (when DATA is set), so a command on the page runs on another machine; the JSON keeps the
    paths as they were, and a folder that merely starts with the data folder's name is kept."""
    results, docs = folders
    monkeypatch.setenv("DATA", "/srv/d/")
    body = (f"Model `{common.REPO}/models/english`; corpus `/srv/d`, split /srv/d/synth/test "
            "and /srv/dx/other\n")
    common.write_results("x", "T", body, {"corpus": "/srv/d/synth"})
    assert (results / "x.md").read_text(encoding="utf-8") == (
        "# T\n\nModel `models/english`; corpus `$DATA`, split $DATA/synth/test and /srv/dx/other\n")
    assert json.loads((results / "x.json").read_text()) == {"corpus": "/srv/d/synth"}
    monkeypatch.delenv("DATA")
    assert common.portable_paths("/srv/d/synth") == "/srv/d/synth"  # unknown: left alone
    monkeypatch.setenv("DATA", "/srv/d")
    repo = str(common.REPO)
    assert common.portable_paths(f"see /srv/d. cd {repo} && /mnt{repo}/x") == (
        f"see $DATA. cd . && /mnt{repo}/x")  # a path inside another one is not ours


def test_failed_write_results_leaves_the_previous_results(folders):
    """Data that cannot be written (not JSON) must not leave a new table beside old data, or a
    temporary file behind."""
    results, docs = folders
    common.write_results("x", "Old", "old", {"v": 1})
    with pytest.raises(TypeError):
        common.write_results("x", "New", "new", {"v": object()})
    assert (results / "x.md").read_text(encoding="utf-8") == "# Old\n\nold\n"
    assert json.loads((results / "x.json").read_text()) == {"v": 1}
    assert sorted(p.name for p in [*results.iterdir(), *docs.iterdir()]) == ["x.json", "x.md", "x.md"]


def test_data_paths_come_from_arguments_or_the_environment(monkeypatch, tmp_path):
    """No machine's data folders are built in: unset, the variable makes its option required.
    A scratch folder falls back to the user's cache instead, so that a results page's command
    runs as printed (it stopped on "required: --cache")."""
    import argparse

    def parse(option, *argv: str) -> argparse.Namespace:
        ap = argparse.ArgumentParser()
        option(ap, "--work", "OTTC_BENCH_WORK", "scratch", "long")
        return ap.parse_args(argv)

    monkeypatch.delenv("OTTC_BENCH_WORK", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(SystemExit):
        parse(common.path_option)
    assert parse(common.scratch_option).work == str(
        tmp_path / "cache" / "ottc-align" / "benchmarks" / "work" / "long")
    for option in (common.path_option, common.scratch_option):
        assert parse(option, "--work", "w").work == "w"
    monkeypatch.setenv("OTTC_BENCH_WORK", str(tmp_path))
    for option in (common.path_option, common.scratch_option):
        assert parse(option).work == str(tmp_path / "long")
    monkeypatch.delenv("OTTC_BENCH_RUNS", raising=False)
    assert common.find_ctc_model(None) is None and common.find_ctc_model("m") == Path("m")


def test_model_tag_follows_the_weights_and_config_not_the_folder_or_the_card(tmp_path):
    """Two copies of one model share a tag (a page from another clone names the same model);
    a changed weight or config byte gives another, a rewritten card does not."""
    a, b = tmp_path / "a", tmp_path / "elsewhere" / "b"
    for d in (a, b):
        d.mkdir(parents=True)
        (d / "model.safetensors").write_bytes(b"weights")
        (d / "config.json").write_text("{}")
        (d / "MODEL_CARD.md").write_text(f"card of {d}")
    assert common.model_tag(a) == common.model_tag(b)
    assert common.model_tag(a / "model.safetensors") == common.model_tag(a)  # as aligning takes it
    assert common.model_tag(tmp_path / "nowhere") == "missing"
    from aligner.runner import run_settings  # the report's model= is the same digest

    assert f"model={common.model_tag(a)} " in run_settings(a, "viterbi")
    (b / "config.json").write_text('{"x": 1}')
    assert common.model_tag(a) != common.model_tag(b)
    (b / "config.json").write_text("{}")
    (b / "model.safetensors").write_bytes(b"weightz")
    assert common.model_tag(a) != common.model_tag(b)


def test_wilson_interval_matches_the_textbook_values():
    lo, hi = common.wilson_interval(0.5, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    lo, hi = common.wilson_interval(1.0, 10)  # never past 100%, never the empty interval
    assert hi == 1.0 and lo == pytest.approx(0.7225, abs=1e-4)
    assert common.wilson_interval(0.77, 290)[1] - common.wilson_interval(0.77, 290)[0] < 0.1
    assert all(x != x for x in common.wilson_interval(0.5, 0))


def test_real_speech_gold_row_gives_the_20ms_share_its_interval():
    from aligner.alignment import Interval
    from aligner.evaluate import score_tier
    from benchmarks.real_speech import GOLD_HEADER, tier_row

    gold = [Interval(0.1 * i, 0.1 * (i + 1), "AA") for i in range(11)]
    late = [0.03 if i % 2 else 0.0 for i in range(11)]  # half the inner boundaries 30 ms late
    hyp = [Interval(0.1 * i + late[i], 0.1 * (i + 1) + (0.03 - late[i]), "AA") for i in range(11)]
    row, data = tier_row("set", "ottc-align", 1, 0, [score_tier(gold, hyp)], [])
    cells = dict(zip(GOLD_HEADER, row))
    assert cells["within 20 ms"] == "50.0%"
    lo, hi = data["phones"]["within_20ms_interval95"]
    assert cells["95% interval (20 ms)"] == f"{100 * lo:.0f}-{100 * hi:.0f}%"
    assert lo < 0.5 < hi and hi - lo > 0.4  # ten boundaries say little


@pytest.mark.parametrize("kind", ["substituted", "added"])
def test_real_speech_one_word_edits_replace_or_add_one_word_the_transcript_lacks(kind):
    """`substituted_pairs` replaces one word, `added_pairs` puts one in; either way the word is
    one the transcript lacks, of three letters or more, and the choices are seeded."""
    from benchmarks import real_speech
    from benchmarks.real_speech import Item

    make = getattr(real_speech, f"{kind}_pairs")
    items = [Item(f"SPEAKER000{i}/u", Path("x.wav"), text) for i, text in enumerate(
        ["the cat sat down", "a dog ran off quickly", "two words", "birds sing at dawn"])]
    pairs = make(items, 10)
    assert [p[0].key for p in pairs] == ["SPEAKER0000/u", "SPEAKER0001/u", "SPEAKER0003/u"]
    for item, text, i in pairs:
        old, new = item.text.split(), text.split()
        if kind == "substituted":
            assert len(new) == len(old)
            assert [j for j in range(len(old)) if old[j] != new[j]] == [i]
        else:
            assert new[:i] + new[i + 1:] == old
        assert new[i].upper() not in {w.upper() for w in old} and len(new[i]) >= 3
    assert make(items, 10) == pairs  # seeded: runs compare
    assert len(make(items, 2)) == 2 and make(items, 0) == []


def test_real_speech_truncation_keeps_the_first_half_of_transcripts_of_four_words_or_more():
    from benchmarks.real_speech import Item, truncated_pairs

    items = [Item(f"SPEAKER000{i}/u", Path("x.wav"), text) for i, text in enumerate(
        ["the cat sat down", "a dog ran off quickly", "two words", "birds sing at dawn today"])]
    pairs = truncated_pairs(items, 10)
    assert [(p[0].key, p[1]) for p in pairs] == [
        ("SPEAKER0000/u", "the cat"), ("SPEAKER0001/u", "a dog"), ("SPEAKER0003/u", "birds sing")]
    assert len(truncated_pairs(items, 2)) == 2 and truncated_pairs(items, 0) == []
    assert [p[1] for p in truncated_pairs(items, 10, drop=2)] == [  # its last words left out
        "the cat", "a dog ran", "birds sing at"]
    assert [p[1] for p in truncated_pairs(items, 10, drop=1)][0] == "the cat sat"


def test_real_speech_repetition_copies_a_word_before_the_middle_one_with_quiet_around_it():
    import numpy as np

    from aligner.alignment import Interval
    from benchmarks.real_speech import REPEAT_PAUSE, repeat_a_word

    rate = 1000
    x = np.full(3000, 0.5, dtype=np.float32)
    x[:200] = 0.0  # the quietest stretch
    x[200:500] = 0.9  # word "a", 0.3 s: the first of 0.2-0.6 s
    words = [Interval(0.2, 0.5, "a"), Interval(0.5, 0.8, "b"), Interval(0.8, 1.5, "c"),
             Interval(1.5, 2.0, "d")]
    y = repeat_a_word(x, words, rate)
    pause = int(REPEAT_PAUSE * rate)
    assert len(y) == len(x) + 2 * pause + 300
    cut = int(words[2].start * rate)  # before the middle word, the third of four
    assert np.array_equal(y[:cut], x[:cut]) and np.array_equal(y[-(len(x) - cut):], x[cut:])
    inserted = y[cut: cut + 2 * pause + 300]
    assert np.all(inserted[:pause] == 0.0) and np.all(inserted[-pause:] == 0.0)
    assert np.all(inserted[pause:pause + 300] == np.float32(0.9))
    assert repeat_a_word(x, words[:2], rate) is None  # fewer than three words
    assert repeat_a_word(x, [Interval(0.2, 1.5, "a"), Interval(1.5, 2.9, "b"),
                             Interval(2.9, 3.0, "c")], rate) is None  # no word of 0.2-0.6 s


def test_real_speech_low_confidence_words_skip_silence_and_follow_the_threshold():
    from aligner.alignment import Alignment, Interval
    from benchmarks.real_speech import low_confidence_words

    from aligner.checks import Thresholds

    words = [Interval(0.0, 0.2, ""), Interval(0.2, 0.5, "a", 0.0021),
             Interval(0.5, 0.8, "b", 0.001), Interval(0.8, 1.0, "c", None)]
    th = Thresholds()
    assert low_confidence_words(Alignment(words, [], 1.0), th) == [False, True, False]
    # in background noise the product's floor rises (to 0.0026 at a 15 dB margin): so here
    noisy = Alignment(words, [], 1.0, noise_margin=15.0)
    assert low_confidence_words(noisy, th) == [True, True, False]


def test_long_real_joins_recordings_and_finds_words_outside_their_sentence():
    import numpy as np

    from aligner.alignment import Interval
    from benchmarks.long_real import join_recordings, misplaced

    wave, segments = join_recordings([np.ones(16000), np.ones(8000)], ["a b", "c"], 16000, gap=0.5)
    assert len(wave) == 16000 + 8000 + 8000
    assert [(g.text, g.start, g.end) for g in segments] == [("a b", 0.0, 1.0), ("c", 1.5, 2.0)]
    words = [Interval(0.1, 0.4, "a"), Interval(1.5, 1.7, "b"), Interval(1.7, 2.0, "c")]
    ref = [Interval(0.1, 0.4, "a"), Interval(0.5, 0.9, "b"), None]
    outside, moved = misplaced(words, segments, ref)
    assert outside == [1] and moved == [1]  # "b" sits in the next sentence; "c" not compared
    assert misplaced(words, segments) == ([1], [])  # no reference: nothing compared
    with pytest.raises(ValueError, match="2 aligned words for 3"):
        misplaced(words[:2], segments)


def test_real_speech_isolated_words_cover_every_speaker_evenly(tmp_path):
    """FSDD's layout (speaker folders of `<digit>_<speaker>_<n>` audio + text): recordings
    without audio are skipped, and a limit thins evenly, so every speaker stays in."""
    from benchmarks.real_speech import isolated_words

    for spk in ("ann", "bob", "cy"):
        (tmp_path / spk).mkdir()
        for n in range(10):
            (tmp_path / spk / f"{n}_{spk}_0.txt").write_text("ZERO\n", encoding="utf-8")
            if n != 9:
                (tmp_path / spk / f"{n}_{spk}_0.opus").write_bytes(b"")
    items = isolated_words(tmp_path, 0)
    assert len(items) == 27 and items[0].key == "ann/0_ann_0" and items[0].text == "ZERO"
    thinned = isolated_words(tmp_path, 6)
    assert len(thinned) == 6 and {it.key.split("/")[0] for it in thinned} == {"ann", "bob", "cy"}


def test_padding_benchmark_maps_padded_and_trimmed_times_back_to_the_clip():
    import numpy as np

    from benchmarks.padding import RATE, TRIM_SECONDS, moved_ms, padded, trimmed

    x = np.ones(2 * RATE, dtype=np.float32)
    for condition, y, shift in padded(x, 0):
        pad = (len(y) - len(x)) // 2
        assert shift == -pad / RATE and np.array_equal(y[pad: pad + len(x)], x), condition
    edges = np.array([[0.5, 0.9], [0.9, 1.4]])
    cut, start = trimmed(x, edges)
    assert start == 0.5 - TRIM_SECONDS and len(cut) == int((1.4 + TRIM_SECONDS) * RATE) - int(start * RATE)
    assert np.allclose(moved_ms(edges, edges + [[0.0, 0.03], [0.0, 0.0]]), [0, 30, 0, 0])
    assert moved_ms(edges, None) is None and moved_ms(edges, edges[:1]) is None


def test_real_speech_voiced_tails_count_word_ends_that_leave_the_voice_to_silence(tmp_path):
    """A voice from 0.1 to 0.7 s, then silence: a word ending at 0.4 s leaves 300 ms of its
    voice after it, one ending at 0.7 s none; a word followed by another within 100 ms is not
    at a pause and is not counted."""
    import numpy as np
    import soundfile as sf

    from aligner.alignment import Alignment, Interval
    from benchmarks.real_speech import Item, voiced_tails

    t = np.arange(16000) / 16000
    x = np.where((t >= 0.1) & (t < 0.7), 0.3 * np.sin(2 * np.pi * 150 * t), 0.0).astype(np.float32)
    sf.write(tmp_path / "a.wav", x, 16000)
    item = Item("a", tmp_path / "a.wav", "hello")
    early = Alignment([Interval(0.1, 0.4, "hello")], [], 1.0)
    whole = Alignment([Interval(0.1, 0.7, "hello")], [], 1.0)
    inside = Alignment([Interval(0.1, 0.4, "hel"), Interval(0.45, 0.7, "lo")], [], 1.0)
    got = voiced_tails([item], {"early": {"a": early}, "whole": {"a": whole},
                                "inside": {"a": inside}})
    assert got["early"] == {"word_ends_at_pauses": 1, "voiced_60ms": 1.0, "voiced_100ms": 1.0,
                            "pauses_under_100ms": 0, "voiced_throughout": 0}
    assert got["whole"] == {"word_ends_at_pauses": 1, "voiced_60ms": 0.0, "voiced_100ms": 0.0,
                            "pauses_under_100ms": 0, "voiced_throughout": 0}
    assert got["inside"]["word_ends_at_pauses"] == 1 and got["inside"]["voiced_100ms"] == 0.0
    # its 50 ms gap lies inside the voice: no pause at all
    assert (got["inside"]["pauses_under_100ms"], got["inside"]["voiced_throughout"]) == (1, 1)


def test_adaptation_criteria_edit_distance_counts_substitutions_insertions_deletions():
    from benchmarks.adaptation_criteria import edit_distance

    assert edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert edit_distance([1, 2, 3], [1, 9, 3]) == 1
    assert edit_distance([1, 2, 3], [1, 3]) == 1 and edit_distance([1, 3], [1, 2, 3]) == 1
    assert edit_distance([], [4, 5]) == 2 and edit_distance([4, 5], []) == 2


def test_adaptation_gold_sample_links_the_last_recordings_of_each_speaker(tmp_path):
    from benchmarks.adaptation import gold_sample

    corpus = tmp_path / "c"
    for spk in ("a", "b"):
        (corpus / spk).mkdir(parents=True)
        for k in range(4):
            for suffix in (".wav", ".lab", ".TextGrid"):
                (corpus / spk / f"u{k}{suffix}").write_text("x")
    (corpus / "b" / "u3.TextGrid").unlink()  # no gold: not a candidate
    gold = gold_sample(str(corpus), 2, tmp_path / "g")
    assert sorted(p.relative_to(gold).as_posix() for p in gold.rglob("*.wav")) == [
        "a/u2.wav", "a/u3.wav", "b/u1.wav", "b/u2.wav"]
    assert (gold / "a" / "u3.TextGrid").resolve() == (corpus / "a" / "u3.TextGrid").resolve()


def test_noise_benchmark_scores_the_peer_on_what_it_aligned_and_counts_its_failures():
    """pocketsphinx's columns beside ottc-align's in noise: a share over the recordings it
    aligned, and how many it failed on (a share alone would hide that it gave up)."""
    from aligner.alignment import Interval
    from aligner.evaluate import score_tier
    from benchmarks.accuracy_in_noise import peer_cells

    gold = [Interval(0.0, 0.1, "AA"), Interval(0.1, 0.2, "B"), Interval(0.2, 0.3, "K")]
    near = score_tier(gold, [Interval(0.0, 0.11, "AA"), Interval(0.11, 0.2, "B"),
                             Interval(0.2, 0.3, "K")])
    far = score_tier(gold, [Interval(0.0, 0.15, "AA"), Interval(0.15, 0.25, "B"),
                            Interval(0.25, 0.3, "K")])
    cells, data = peer_cells([near, None, far])
    assert data["pocketsphinx_failed"] == 1 and cells[2] == 1
    assert 0.0 < data["pocketsphinx_within_20ms"] < 1.0
    cells, data = peer_cells([None, None])
    assert cells == ["-", "-", 2] and data["pocketsphinx_within_20ms"] is None


def test_noise_benchmark_keeps_a_noisy_copy_within_full_scale_for_both_systems():
    """Speech and noise added can pass 1.0; pocketsphinx takes 16-bit samples and heard such
    a copy clipped while ottc-align heard it whole. Scaled down, both hear the same samples."""
    import numpy as np

    from benchmarks.accuracy_in_noise import within_full_scale

    loud = np.array([0.5, -2.0, 1.0], dtype=np.float32)
    assert np.allclose(within_full_scale(loud), [0.2475, -0.99, 0.495])
    quiet = np.array([0.5, -0.9], dtype=np.float32)
    assert within_full_scale(quiet) is quiet


def test_accuracy_cache_is_new_for_a_corpus_rebuilt_in_the_same_place(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from benchmarks.accuracy import cache_dir

    corpus = tmp_path / "synth"
    corpus.mkdir()
    (corpus / "manifest.tsv").write_text("test\tv\tu1\ttest/v/u1.flac\t1.000\n")
    args = SimpleNamespace(corpus=str(corpus), cache=str(tmp_path / "cache"))
    system = SimpleNamespace(name="pocketsphinx")
    first = cache_dir(args, "test", system)
    assert cache_dir(args, "test", system) == first
    (corpus / "manifest.tsv").write_text("test\tv\tu1\ttest/v/u1.flac\t1.020\n")
    assert cache_dir(args, "test", system) != first
    assert cache_dir(args, "test", system).parent.parent.name.startswith("synth-")


def test_real_speech_without_its_data_stops_before_writing_a_page(tmp_path: Path, capsys) -> None:
    from benchmarks import real_speech

    name = "test_real_speech_without_data"
    pages = [Path(real_speech.__file__).parent / "results" / f"{name}.md",
             Path(real_speech.__file__).parents[1] / "docs" / "benchmarks" / f"{name}.md"]
    assert real_speech.main(["--data", str(tmp_path / "nowhere"), "--name", name]) == 2
    err = capsys.readouterr().err
    assert "nowhere holds neither gold-dev/ recordings nor real/speechocean762/" in err
    # a gold-dev/ with its set folders but no recordings in them is nothing to measure either
    for folder in real_speech.GOLD_SETS:
        (tmp_path / "half" / "gold-dev" / folder).mkdir(parents=True)
    (tmp_path / "half" / "real" / "speechocean762").mkdir(parents=True)
    assert real_speech.main(["--data", str(tmp_path / "half"), "--name", name]) == 2
    assert "half holds neither" in capsys.readouterr().err
    assert not any(p.exists() for p in pages)
