import numpy as np
import pytest

from aligner.quantile import percentile


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_percentile_is_numpys_to_the_bit(dtype):
    rng = np.random.default_rng(7)
    for _ in range(300):
        values = (rng.normal(size=int(rng.integers(1, 900))) * 30 - 40).astype(dtype)
        if rng.random() < 0.3:  # ties, as levels of digital silence have
            values[rng.random(values.size) < 0.5] = -120.0
        for q in (0, 5, 10, 37.5, 50, 90, 95, 100):
            expected = np.percentile(values, q)
            got = percentile(values, q)
            assert got == expected and type(got) is type(expected), (values.size, q)


def test_percentile_leaves_its_input_alone_and_takes_lists():
    values = np.array([3.0, 1.0, 2.0])
    assert percentile(values, 50) == 2.0
    assert values.tolist() == [3.0, 1.0, 2.0]
    assert percentile([4.0, 0.0], 25) == 1.0


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        percentile(np.zeros(0), 50)
