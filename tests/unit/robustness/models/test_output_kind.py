"""A softmax output is told from logits by its rows: non-negative and summing to 1."""

import numpy as np
import pytest

from robustfx.robustness.models.model_interface import LOGITS, PROBABILITIES
from robustfx.robustness.models.scores import PROBABILITY_TOLERANCE, output_kind


def _softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


LOGITS_ROWS = np.random.RandomState(0).normal(size=(64, 10)).astype(np.float32)


@pytest.mark.parametrize(
    "values, kind",
    [
        (_softmax(LOGITS_ROWS), PROBABILITIES),
        (_softmax(LOGITS_ROWS * 50), PROBABILITIES),  # saturated rows: zeros and ones
        (np.eye(10, dtype=np.float32)[:7], PROBABILITIES),
        (LOGITS_ROWS, LOGITS),
        (np.maximum(LOGITS_ROWS, 0), LOGITS),  # ReLU'd scores: non-negative, not summing to 1
        (_softmax(LOGITS_ROWS) * (1 + 3 * PROBABILITY_TOLERANCE), LOGITS),
        (_softmax(LOGITS_ROWS) + np.array([-1.0, 1.0] + [0.0] * 8), LOGITS),  # sums to 1
    ],
    ids=["softmax", "saturated", "one-hot", "logits", "relu", "off-by-more", "negative"],
)
def test_rows_tell_probabilities_from_logits(values, kind):
    assert output_kind(np.asarray(values, np.float32)) == kind
