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
