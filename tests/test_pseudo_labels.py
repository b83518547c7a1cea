"""recipes/train/pseudo_labels.py: which recordings a second training stage sees as gold."""

from __future__ import annotations

from recipes.train.pseudo_labels import drop_unlabelled, link_speakers


def test_only_recordings_with_an_alignment_stay_in_the_pseudo_corpus(tmp_path):
    """Links for the chosen speakers only; a recording the corpus run refused (no TextGrid)
    loses its links, so the next stage never trains on a transcript the first one doubted;
    re-linking adds only what is missing, and the source is never touched."""
    source = tmp_path / "source"
    for spk in ("a", "b"):
        (source / spk).mkdir(parents=True)
        for utt in ("u1", "u2"):
            (source / spk / f"{utt}.wav").write_bytes(b"RIFF")
            (source / spk / f"{utt}.txt").write_text("hello", encoding="utf-8")
    (source / "a" / "u1.TextGrid").write_text("a user's own grid", encoding="utf-8")
    out = tmp_path / "out"
    assert link_speakers(source, out, ["a"]) == 4  # the source's TextGrid is not linked
    assert not (out / "b").exists()
    (out / "a" / "u2.TextGrid").write_text("aligned", encoding="utf-8")  # u1 was refused
    assert drop_unlabelled(out) == (1, 1)
    assert sorted(p.name for p in (out / "a").iterdir()) == ["u2.TextGrid", "u2.txt", "u2.wav"]
    assert (source / "a" / "u1.wav").is_file() and (source / "a" / "u1.TextGrid").is_file()
    assert link_speakers(source, out, ["a"]) == 2


def test_silence_next_to_speech_is_left_out_of_the_frame_labels():
    """The first stage's word edges at pauses are its least trusted times: silence within the
    margin of speech becomes '?', which gold_frame_labels ignores (-100); a short pause between
    words goes whole; the phones and the silence beyond the margins stay."""
    from aligner.alignment import Interval
    from aligner.dataset import gold_frame_labels
    from recipes.train.pseudo_labels import UNSURE, unsure_edges

    phones = [Interval(0.5, 0.6, "AH1"), Interval(0.6, 0.8, "B"), Interval(0.9, 1.0, "K"),
              Interval(1.5, 1.7, "S")]
    marked = unsure_edges(phones, 2.0, 0.15)
    assert [(round(p.start, 3), round(p.end, 3)) for p in marked if p.label == UNSURE] == [
        (0.35, 0.5), (0.8, 0.9), (1.0, 1.15), (1.35, 1.5), (1.7, 1.85)]
    assert [p for p in marked if p.label != UNSURE] == phones
    labels = gold_frame_labels([(p.start, p.end, p.label) for p in marked], 200)
    assert (labels[:35] == labels[0]).all() and labels[0] >= 0  # silence far from speech
    assert (labels[35:50] == -100).all() and (labels[50:60] >= 0).all()
    assert (labels[185:] == labels[0]).all()
