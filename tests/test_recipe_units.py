"""Unit tests of the corpus recipe's pure parts (no TTS engine needed)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from aligner.text.phones import PHONES
from recipes.synth import augment
from recipes.synth.build import choose_augment, per_voice, plan, prepare, word_label
from recipes.synth.espeak_engine import _segments, _word_index, native_reference, word_offsets
from recipes.synth.festival_engine import group_words
from recipes.synth.frication import stops_after_frication
from recipes.synth.gold import Segment, build_tiers, map_segments, shift_scale, textgrid_text
from recipes.synth.numbers import spoken_words
from recipes.synth.phonemap import TABLES, UnmappedPhone, to_arpabet
from recipes.synth.voices import BY_SPEAKER, MAIN, select
from recipes.real.allison import keep, read_prompt

textgrid = pytest.importorskip("textgrid")


@pytest.mark.parametrize("token,words", [
    ("1999", "nineteen ninety nine"), ("1905", "nineteen oh five"), ("2007", "two thousand seven"),
    ("$25", "twenty five dollars"), ("$1.05", "one dollar and five cents"),
    ("$38,687.84", "thirty eight thousand six hundred eighty seven dollars and eighty four cents"),
    ("15%", "fifteen percent"), ("21st", "twenty first"), ("12th", "twelfth"),
    ("3:30", "three thirty"), ("7:05", "seven oh five"), ("9:00", "nine o'clock"),
    ("24.9", "twenty four point nine"), ("1,500", "one thousand five hundred"),
    ("don't", "don't"), ("well-known,", "well known"), ("Dr.", "doctor"), ('"Where\'s', "where's"),
    ("airport?", "airport"), ("X-ray", "x ray"),
])
def test_spoken_words(token: str, words: str) -> None:
    assert spoken_words(token) == words.split()


def test_spoken_words_rejects_unknown_shapes() -> None:
    with pytest.raises(ValueError, match="not readable"):
        spoken_words("a_b")


def test_word_label_keeps_user_spelling() -> None:
    assert word_label("airport?") == "airport"
    assert word_label('"Where\'s') == "Where's"
    assert word_label("Dr.") == "Dr."
    assert word_label("$1,500.") == "$1,500"
    assert word_label("1999,") == "1999"


def test_prepare_maps_words_back_to_tokens() -> None:
    p = prepare("In 1999, Dr. Smith paid $25 for a well-known X-ray?", random.Random(0),
                pause_prob=0.0)
    assert p.tts_text == ("in nineteen ninety nine, doctor smith paid twenty five dollars for "
                          "a well known x ray?")
    assert len(p.words) == len(p.word_to_token)
    assert [p.tokens[t] for t in p.word_to_token][1:4] == ["1999,"] * 3


def test_prepare_extra_pause_is_not_in_transcript() -> None:
    text = "Anna sold the small red car on Monday."
    tts = {prepare(text, random.Random(i), pause_prob=1.0).tts_text for i in range(5)}
    assert all(t.count(",") == 1 for t in tts) and len(tts) > 1


def test_group_words_merges_engine_splits() -> None:
    assert group_words(["robert", "'s", "car"], ["robert's", "car"]) == [0, 0, 1]
    assert group_words(["s", "q", "l"], ["sql"]) == [0, 0, 0]
    assert group_words(["a", "b"], ["ab", "c"]) is None
    assert group_words(["a", "b", "c"], ["a", "b"]) is None


def test_espeak_glued_function_words_are_split_by_counts() -> None:
    text = "from the desk."
    offs = word_offsets(text)
    assert offs == [1, 6, 10]
    phones = [("f", 0, 1), ("r", 1, 1), ("V", 2, 1), ("m", 3, 1), ("D", 4, 1), ("@2", 5, 1),
              ("d", 6, 10), ("E", 7, 10), ("s", 8, 10), ("k", 9, 10), ("_:", 10, 15)]
    counts = {"from": 4, "the": 2, "desk": 4}
    assert _word_index(phones, text, counts.get) == [0, 0, 0, 0, 1, 1, 2, 2, 2, 2, -1]
    counts["the"] = 3
    assert _word_index(phones, text, counts.get) is None


@pytest.mark.parametrize("bias", [0.0, -0.05])
def test_a_stop_starts_where_the_audio_falls_silent_for_native_and_lagging_voices(bias) -> None:
    # /s/ (noise) to 0.30 s, the /t/ closure's silence, its burst at 0.40 s, then /a/. A native
    # voice reports /t/ at its burst; an mbrola voice reports it 30 ms into its closure, and
    # 50 ms late: either way the search walks back through the silence to 0.30 s.
    sr = 16000
    audio = np.zeros(int(0.6 * sr), dtype=np.float32)
    noise = np.random.default_rng(0).normal(0, 0.3, audio.size).astype(np.float32)
    audio[: int(0.30 * sr)] = noise[: int(0.30 * sr)]
    audio[int(0.40 * sr):] = noise[int(0.40 * sr):]
    t_event = 0.40 if bias == 0.0 else 0.33 - bias
    phones = [("s", int((0.10 - bias) * sr), 1), ("t", int(t_event * sr), 1),
              ("a", int((0.45 - bias) * sr), 1)]
    segs = _segments(phones, audio.size, sr, [0, 0, 0], audio, bias)
    s, t = segs[0], segs[1]
    assert s.end == t.start
    assert abs(t.start + bias - 0.30) <= 0.002  # in the audio's time, as the caller shifts it


def _fricative_then_stop(noise_until: float, closure_voiced: bool = False) -> np.ndarray:
    """/s/ (noise) to `noise_until`, the /t/ closure (silence, or a voicing bar) to 0.40 s, its
    burst and /a/ after: 0.6 s at 16 kHz."""
    sr = 16000
    noise = np.random.default_rng(1).normal(0, 0.3, int(0.6 * sr)).astype(np.float32)
    audio = noise.copy()
    closure = slice(int(noise_until * sr), int(0.40 * sr))
    audio[closure] = 0.1 * np.sin(np.arange(closure.stop - closure.start) / 10) if closure_voiced \
        else 0.0
    return audio


def _s_t_a(boundary: float) -> list[Segment]:
    return [Segment("S", 0.1, boundary, 0), Segment("T", boundary, 0.42, 0),
            Segment("AA", 0.42, 0.6, 0)]


def test_a_stop_after_a_fricative_starts_where_the_noise_stops() -> None:
    # a diphone voice's /s/-/t/ boundary 15 ms inside the noise: moved to the closure's silence
    audio = _fricative_then_stop(0.30)
    s, t, a = stops_after_frication(_s_t_a(0.285), audio, 16000)
    assert s.end == t.start and abs(t.start - 0.30) <= 0.002
    assert (a.start, a.end) == (0.42, 0.6)
    # where the boundary lies in the silence already, or the closure is never quiet, or the
    # phone before is no fricative, nothing moves
    assert stops_after_frication(_s_t_a(0.31), audio, 16000)[1].start == 0.31
    voiced = _fricative_then_stop(0.30, closure_voiced=True)
    assert stops_after_frication(_s_t_a(0.285), voiced, 16000)[1].start == 0.285
    vowel = [Segment("AA", 0.1, 0.285, 0), Segment("T", 0.285, 0.42, 0)]
    assert stops_after_frication(vowel, audio, 16000)[1].start == 0.285
    # and never further than REACH_S: noise running on 60 ms past the boundary stays labelled
    far = _fricative_then_stop(0.345)
    assert stops_after_frication(_s_t_a(0.285), far, 16000)[1].start == 0.285


def test_phone_tables_map_into_arpabet() -> None:
    for name, table in TABLES.items():
        for src, arpa in table.items():
            assert set(arpa) <= set(PHONES), (name, src, arpa)
    assert to_arpabet("espeak", "'aI") == ("AY",)
    with pytest.raises(UnmappedPhone):
        to_arpabet("festival_radio", "zz")


def _segs() -> list[Segment]:
    return [Segment("pau", 0.0, 0.2, -1), Segment("n", 0.2, 0.3, 0), Segment("ay", 0.3, 0.45, 0),
            Segment("n", 0.45, 0.5, 0), Segment("t", 0.5, 0.55, 1), Segment("iy", 0.55, 0.7, 1),
            Segment("pau", 0.7, 0.9, -1), Segment("el", 0.9, 1.1, 2), Segment("pau", 1.1, 1.2, -1)]


def test_build_tiers_merges_token_and_covers_file() -> None:
    segs = map_segments(_segs(), "festival_radio")
    assert [s.phone for s in segs if s.phone] == ["N", "AY", "N", "T", "IY", "AH", "L"]
    words, phones = build_tiers(segs, [0, 0, 1], ["1999", "el"], duration=1.3)
    assert [(w.label, round(w.start, 3), round(w.end, 3)) for w in words] == [
        ("", 0.0, 0.2), ("1999", 0.2, 0.7), ("", 0.7, 0.9), ("el", 0.9, 1.1), ("", 1.1, 1.3)]
    assert phones[0].label == "" and phones[-1].end == 1.3
    assert all(a.end == b.start for a, b in zip(phones, phones[1:]))


def test_textgrid_text_parses(tmp_path: Path) -> None:
    segs = map_segments(_segs(), "festival_radio")
    words, phones = build_tiers(segs, [0, 0, 1], ['say "hi"', "el"], duration=1.3)
    path = tmp_path / "x.TextGrid"
    path.write_text(textgrid_text({"words": words, "phones": phones}, 1.3))
    tg = textgrid.TextGrid.fromFile(str(path))
    assert [t.name for t in tg.tiers] == ["words", "phones"]
    assert tg.tiers[0][1].mark == 'say "hi"'
    assert tg.tiers[1].maxTime == pytest.approx(1.3)


def _burst(sr: int = 16000, at: float = 0.5) -> np.ndarray:
    x = np.zeros(sr, dtype=np.float32)
    i = int(at * sr)
    x[i:i + 1600] = np.sin(np.arange(1600) * 0.3).astype(np.float32)
    return x


def _onset(x: np.ndarray, sr: int = 16000) -> float:
    return int(np.argmax(np.abs(x) > 0.05 * np.max(np.abs(x)))) / sr


def test_speed_rescales_times() -> None:
    x = _burst()
    for factor in (0.9, 1.12):
        y, scale = augment.speed(x, factor, 16000)
        assert scale == pytest.approx(1 / factor, rel=1e-3)
        assert _onset(y) == pytest.approx(0.5 * scale, abs=0.002)
        moved = shift_scale([Segment("AA", 0.5, 0.6, 0)], scale=scale)[0]
        assert moved.start == pytest.approx(_onset(y), abs=0.002)


def test_time_preserving_augmentations_keep_onset() -> None:
    x = _burst()
    rng = np.random.default_rng(0)
    assert _onset(augment.reverb(x, 0.5, rng, 16000)) == pytest.approx(0.5, abs=0.002)
    assert _onset(augment.telephone(x, 16000)) == pytest.approx(0.5, abs=0.003)
    assert _onset(augment.gain(x, -10)) == pytest.approx(0.5, abs=1e-4)
    y, off = augment.pad(x, 16000, 0.25, 0.1)
    assert off == 0.25 and _onset(y) == pytest.approx(0.75, abs=1e-4)
    assert len(augment.reverb(x, 0.5, rng, 16000)) == len(x)


def test_noise_hits_requested_snr() -> None:
    x = _burst()
    rng = np.random.default_rng(1)
    y = augment.add_noise(x, 10.0, rng, 16000)
    noise = y - x
    speech = x[8000:9600]
    snr = 10 * np.log10(np.mean(speech**2) / np.mean(noise**2))
    assert snr == pytest.approx(10.0, abs=0.5)


def test_augment_choice_is_deterministic_and_mixed() -> None:
    a = [choose_augment(random.Random(f"7:u{i}"), 0.5) for i in range(200)]
    b = [choose_augment(random.Random(f"7:u{i}"), 0.5) for i in range(200)]
    assert a == b
    assert 60 < sum(1 for x in a if {"noise", "reverb", "telephone"} & x.keys()) < 140
    assert any("speed" in x for x in a)


def test_per_voice_spec() -> None:
    assert per_voice("700", "fest-kal") == 700
    assert per_voice("fest-:700,esp-:150", "esp-en-m3") == 150
    assert per_voice("fest-:700", "mb-us1") == 0


def test_cross_language_voices_are_their_own_corpus_with_held_out_voices() -> None:
    # the main corpus's default voice set must not grow when voices are added
    assert select(None) == list(MAIN) and not any(v.speaker.startswith("mbx-") for v in MAIN)
    mbx = select("mbx-")
    held = [v for v in mbx if v.split == "unseen-dev"]
    assert len(held) >= 2 and all(v.split in ("train", "unseen-dev") for v in mbx)
    voices = [BY_SPEAKER["mbx-de4-en"], held[0]]
    jobs = plan(voices, seed=3, train_per_voice=6, dev_per_voice=2, test_per_voice=4,
                n_dev_sentences=20, n_test_sentences=20, n_train_sentences=40)
    by_split: dict[str, set] = {}
    for j in jobs:
        by_split.setdefault(j.split, set()).add(j.voice.speaker)
    assert by_split == {"train": {"mbx-de4-en"}, "dev": {"mbx-de4-en"}, "unseen-dev": {held[0].speaker}}
    train_text = {j.text for j in jobs if j.split == "train"}
    unseen = [j for j in jobs if j.split == "unseen-dev"]
    assert len(unseen) == 4 and not train_text & {j.text for j in unseen}
    # every mbrola voice copies its word positions from a native voice; native ones need none
    assert all(native_reference(v.name) == "en" for v in mbx)
    assert native_reference("mb-us2") == "en-us" and native_reference("en-029+m2") is None


def test_allison_filter_drops_descriptions() -> None:
    assert keep("Please enter your password followed by the pound key.")
    assert keep("1")
    assert not keep("[ascending tones]")
    assert not keep("(10 seconds of silence)")
    assert not keep("<beep ascending>")
    assert not keep("at [@]")
    assert not keep("Please leave your message after the tone. (simple tone sound plays)")


def test_allison_prompts_read_from_wav_and_from_wideband_g722(tmp_path: Path) -> None:
    import soundfile as sf
    from G722 import G722

    t = np.arange(16000) / 16000
    wide = (0.3 * np.sin(2 * np.pi * 500 * t) + 0.2 * np.sin(2 * np.pi * 5000 * t)).astype(np.float32)
    (tmp_path / "wide.g722").write_bytes(G722(16000, 64000).encode((wide * 32767).astype(np.int16)))
    sf.write(tmp_path / "narrow.wav", wide[::2], 8000)  # the telephone package is 8 kHz
    got = read_prompt(tmp_path, "wide", "g722")
    assert got is not None and got.dtype == np.float32 and len(got) == 16000

    def share_above_4k(x: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(x[1600:])) ** 2
        return float(spec[np.fft.rfftfreq(len(x) - 1600, 1 / 16000) > 4000].sum() / spec.sum())

    # G.722 keeps the 5 kHz tone (wideband), which the 8 kHz file cannot hold.
    assert share_above_4k(got) > 0.2
    narrow = read_prompt(tmp_path, "narrow", "wav")
    assert narrow is not None and len(narrow) == 16000 and share_above_4k(narrow) < 0.05
    assert read_prompt(tmp_path, "absent", "g722") is None


def test_speechocean_split_links_only_that_splits_speakers(tmp_path: Path) -> None:
    from recipes.real.speechocean import link_split

    src = tmp_path / "so"
    for split, spk in (("train", "0001"), ("test", "0002")):
        (src / "meta" / split).mkdir(parents=True)
        (src / "meta" / split / "utt2spk").write_text(f"{spk}0011 {spk}\n")
        (src / f"SPEAKER{spk}").mkdir()
        (src / f"SPEAKER{spk}" / f"{spk}0011.txt").write_text("HELLO\n")
        (src / f"SPEAKER{spk}" / f"{spk}0011.opus").write_bytes(b"x")
    assert link_split(src, "train", tmp_path / "out") == 2
    linked = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*"))
    assert linked == ["SPEAKER0001/00010011.opus", "SPEAKER0001/00010011.txt"]
    assert (tmp_path / "out" / "SPEAKER0001" / "00010011.txt").read_text() == "HELLO\n"


def test_landmarks_read_the_change_peak_at_abrupt_boundaries_only():
    """A vowel into a voiceless fricative (and back) is read: the offset is where the spectral
    change peaks less the gold time; a vowel into a nasal is not a landmark and is skipped, as
    is a boundary with a pause between the phones."""
    from recipes.synth.landmarks import STEP, gold_offsets, landmark_peaks

    change = np.zeros(400)  # 1 s at 2.5 ms
    change[int(0.212 / STEP)] = 5.0  # 12 ms after the AA > S boundary at 0.200
    change[int(0.290 / STEP)] = 5.0  # 10 ms before the S > IY boundary at 0.300
    change[int(0.400 / STEP)] = 9.0  # at the IY > N boundary: not a landmark
    phones = [("AA", 0.1, 0.2), ("S", 0.2, 0.3), ("IY", 0.3, 0.4), ("N", 0.4, 0.5),
              ("AA", 0.5, 0.6), ("S", 0.65, 0.7)]  # a gap before the last S
    offsets = gold_offsets(landmark_peaks(change, phones), phones)
    assert len(offsets) == 2
    assert offsets[0] == pytest.approx(0.012, abs=STEP / 2 + 1e-9)
    assert offsets[1] == pytest.approx(-0.010, abs=STEP / 2 + 1e-9)


def test_landmarks_read_only_gain_augmented_utterances():
    from recipes.synth.landmarks import gain_only

    assert gain_only("gain-5.8dB") and gain_only("gain+1.0dB") and gain_only("")
    assert not gain_only("speed1.146+gain+1.0dB")
    assert not gain_only("reverb+gain-3.0dB")
    assert not gain_only("gain-3.0dB+telephone")
    assert not gain_only("noisepink5dB+gain-3.0dB")


def test_a_gold_shifted_by_a_constant_reads_as_that_constant():
    """Landmarks where the sound changes, gold moved 10 ms early or late throughout: the offsets
    say so (the search is centred on the gold, but sees 25 ms either side)."""
    from recipes.synth.landmarks import STEP, gold_offsets, landmark_peaks

    rng = np.random.default_rng(0)
    change = rng.uniform(0.0, 0.3, 1200)
    phones, t = [], 0.05
    for k in range(60):
        label = ("AA", "S", "IY", "T")[k % 4]
        phones.append((label, t, t + 0.05))
        change[int(t / STEP)] = 3.0  # every boundary here is abrupt
        t += 0.05
    for shift in (-0.010, 0.010):
        moved = [(lab, a + shift, b + shift) for lab, a, b in phones]
        offsets = gold_offsets(landmark_peaks(change, moved), moved)
        assert len(offsets) > 40
        assert float(np.median(offsets)) == pytest.approx(-shift, abs=STEP)


def test_the_reference_is_the_native_voices_median_and_their_absence_an_error():
    from recipes.synth.landmarks import reference, spread

    medians = {"esp-en-m1": -0.001, "esp-en-f2": -0.002, "esp-en-m3": 0.001, "fest-us1": 0.011}
    assert reference(medians) == pytest.approx(-0.001)
    with pytest.raises(SystemExit, match="native"):
        reference({"fest-us1": 0.011})
    iqr, edge = spread([0.0, 0.001, 0.002, 0.003, 0.025])
    assert iqr == pytest.approx(0.002) and edge == pytest.approx(0.2)



def test_model_offsets_compare_the_model_with_the_same_landmarks():
    """The model's boundary is read against the landmark found near the gold one, through the
    phone pairing: a model early at the S gets a positive offset, a phone it left out none."""
    from aligner.alignment import Interval
    from recipes.synth.landmarks import landmark_peaks, model_offsets

    gold = [Interval(0.0, 0.1, ""), Interval(0.1, 0.2, "AA"), Interval(0.2, 0.3, "S"),
            Interval(0.3, 0.4, "IY"), Interval(0.4, 0.5, "K"), Interval(0.5, 0.6, "")]
    change = np.zeros(240)
    for t in (0.205, 0.300, 0.395):  # the landmarks: AA > S, S > IY, IY > K
        change[int(t / 0.0025)] = 1.0
    peaks = landmark_peaks(change, [(p.label, p.start, p.end) for p in gold])
    assert [i for i, _ in peaks] == [2, 3, 4]
    hyp = [Interval(0.0, 0.12, ""), Interval(0.12, 0.2015, "AA"), Interval(0.2015, 0.31, "S"),
           Interval(0.31, 0.5, "IY"), Interval(0.5, 0.6, "")]  # K left out
    offsets = model_offsets(peaks, gold, hyp)
    assert len(offsets) == 2
    assert offsets[0] == pytest.approx(peaks[0][1] - 0.2015)
    assert offsets[1] == pytest.approx(peaks[1][1] - 0.31)
