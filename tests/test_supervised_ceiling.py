"""recipes/train/supervised_ceiling.py: gold TextGrid phones to frame labels (diagnostic recipe)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aligner.alignment import Alignment, Interval  # noqa: E402
from aligner.formats import write_textgrid  # noqa: E402
from aligner.text.phones import VOCAB  # noqa: E402
from recipes.train.supervised_ceiling import frame_labels  # noqa: E402


def test_frame_labels_follow_the_gold_phones_at_frame_centres(tmp_path):
    phones = [Interval(0.0, 0.03, ""), Interval(0.03, 0.07, "AA"), Interval(0.07, 0.10, "XX"),
              Interval(0.10, 0.12, "T")]
    grid = tmp_path / "g.TextGrid"
    write_textgrid(Alignment([Interval(0.03, 0.12, "word")], phones, 0.13), grid)
    vocab = list(VOCAB)
    y = frame_labels(grid, 13, vocab)
    sil, aa, t = vocab.index("sil"), vocab.index("AA"), vocab.index("T")
    # centres 5, 15, ... 125 ms: 5-25 silence, 35-65 AA, 75-95 an unknown phone, 105-115 T,
    # 125 the silence the writer puts after the last phone
    assert y.tolist() == [sil] * 3 + [aa] * 4 + [-100] * 3 + [t] * 2 + [sil]
