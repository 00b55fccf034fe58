"""Counting and merging: batch-wise counts merge to the same metrics as one big batch."""

import numpy as np
import pytest

from robustfx.robustness.verdict import counts as rc
from robustfx.robustness.verdict import metrics as rm


def _batch(rng, size):
    labels = rng.randint(0, 3, size)
    clean = np.where(rng.rand(size) < 0.9, labels, (labels + 1) % 3)
    adv = np.where(rng.rand(size) < 0.6, labels, (labels + 2) % 3)
    noise = np.where(rng.rand(size) < 0.85, labels, (labels + 1) % 3)
    norms = rng.uniform(0, 0.2, size)
    return labels, clean, {"a": {"predictions": adv, "noise_predictions": noise, "norms": norms}}


def test_merged_batches_equal_one_batch(rng):
    parts = [_batch(rng, n) for n in (7, 13, 1, 30)]
    merged = rc.merge(rc.count_batch(*part, num_classes=3) for part in parts)
    whole = rc.count_batch(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        {
            "a": {
                key: np.concatenate([p[2]["a"][key] for p in parts])
                for key in ("predictions", "noise_predictions", "norms")
            }
        },
        num_classes=3,
    )
    assert merged.attacks["a"].norm_sum == pytest.approx(whole.attacks["a"].norm_sum)
    merged.attacks["a"].norm_sum = whole.attacks["a"].norm_sum  # float summation order
    assert merged == whole


def test_metric_definitions():
    labels = np.array([0, 0, 1, 1])
    clean = np.array([0, 0, 1, 0])  # 3 of 4 correct
    attacked = {
        "a": {
            "predictions": np.array([0, 1, 0, 0]),  # 1 of 4 correct; flips 2 of the 3
            "noise_predictions": np.array([0, 0, 1, 1]),
            "norms": np.array([0.1, 0.2, 0.1, 0.0]),
        }
    }
    metrics = rm.to_metrics(rc.count_batch(labels, clean, attacked, 2), ["zero", "one"])
    attack = metrics["attacks"]["a"]
    assert metrics["clean_accuracy"] == 0.75
    assert attack["robust_accuracy"] == 0.25
    assert attack["attack_success_rate"] == pytest.approx(2 / 3)
    assert attack["noise_accuracy"] == 1.0
    assert attack["max_perturbation_norm"] == pytest.approx(0.2)
    assert attack["mean_perturbation_norm"] == pytest.approx(0.1)
    assert attack["per_class_robust_accuracy"] == {"zero": 0.5, "one": 0.0}
    assert metrics["per_class_clean_accuracy"] == {"zero": 1.0, "one": 0.5}
    assert not attack["gradient_masking_suspected"]


def test_noise_hurting_more_than_the_attack_flags_gradient_masking():
    labels = np.array([0, 1])
    attacked = {"a": {"predictions": labels, "noise_predictions": 1 - labels, "norms": np.zeros(2)}}
    metrics = rm.to_metrics(rc.count_batch(labels, labels, attacked, 2), ["0", "1"])
    assert metrics["attacks"]["a"]["gradient_masking_suspected"]


def test_counts_round_trip_through_dicts(rng):
    counts = rc.count_batch(*_batch(rng, 9), num_classes=3)
    assert rc.counts_from_dict(rc.counts_to_dict(counts)) == counts


def test_empty_split_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        rc.merge([])
