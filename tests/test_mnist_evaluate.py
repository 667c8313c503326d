"""The accuracy's standard error against resampling, the independent way of measuring it."""

from __future__ import annotations

import numpy as np
import torch
import pytest

from nnbook.mnist.evaluate import Evaluation


@pytest.mark.parametrize(("correct", "total"), [(9_940, 10_000), (90, 100), (500, 1_000)])
def test_standard_error_is_the_spread_of_resampled_accuracies(correct: int, total: int) -> None:
    result = Evaluation(loss=0.0, correct=correct, total=total)
    rng = np.random.default_rng(0)
    # the bootstrap: draw `total` images with replacement, 2,000 times; images 0 .. correct-1 are the
    # right ones (which images were right does not matter, only how many)
    draws = rng.integers(0, total, size=(2_000, total), dtype=np.int32)
    resampled = (draws < correct).mean(1)
    assert result.standard_error == pytest.approx(resampled.std(), rel=0.06)  # 2,000 draws: about 2 % noise


def test_standard_error_of_a_perfect_score_is_zero() -> None:
    assert Evaluation(loss=0.0, correct=100, total=100).standard_error == 0.0


def test_evaluate_is_the_mean_cross_entropy_and_the_count_of_right_answers() -> None:
    """Against the model called directly on the whole slice and PyTorch's mean cross-entropy,
    with the batching of ``evaluate`` (500 at a time on a CPU) not involved."""
    import torch.nn.functional as F

    from nnbook.mnist import checkpoint, data
    from nnbook.mnist import evaluate as ev
    from nnbook.mnist.results import run_dir

    model, _ = checkpoint.load_model(run_dir("book", "cpu", 1) / "model.pt")
    test = data.load_split(False)
    part = data.MnistSplit(test.images[:1200], test.labels[:1200])
    with torch.inference_mode():
        scores = model.eval()(part.images.float() / 255)
    got = ev.evaluate(model, part)
    assert got.total == 1200 and got.correct == int((scores.argmax(1) == part.labels).sum())
    assert got.loss == pytest.approx(float(F.cross_entropy(scores, part.labels)), rel=1e-5)
    assert got.accuracy == got.correct / 1200 and torch.allclose(got.scores, scores, atol=1e-5)
