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


def _certified_batch(rng, size):
    """A batch with the verifier's verdicts at two radii: certified only where the example
    survived the attack (as a sound verifier's are), fewer at the larger radius."""
    labels, clean, attacked = _batch(rng, size)
    survived = (clean == labels) & (attacked["a"]["predictions"] == labels)
    at_small = survived & (rng.rand(size) < 0.7)
    return labels, clean, attacked, {"0.1": at_small & (rng.rand(size) < 0.5), "0.05": at_small}


def test_certified_counts_merge_and_judge_at_the_threat_radius(rng):
    parts = [_certified_batch(rng, n) for n in (9, 20, 3)]

    def count(labels, clean, attacked, certified):
        return rc.count_batch(labels, clean, attacked, 3, worst_names=["a"], certified=certified)

    def joined(pick):
        return np.concatenate([pick(p) for p in parts])

    merged = rc.merge(count(*part) for part in parts)
    keys = ("predictions", "noise_predictions", "norms")
    whole = count(
        joined(lambda p: p[0]),
        joined(lambda p: p[1]),
        {"a": {k: joined(lambda p, k=k: p[2]["a"][k]) for k in keys}},
        {r: joined(lambda p, r=r: p[3][r]) for r in ("0.1", "0.05")},
    )
    assert merged.certified == whole.certified and merged.certified_broken == 0
    assert merged.per_class_certified_correct == whole.per_class_certified_correct
    metrics = rm.to_metrics(merged, ["a", "b", "c"])
    threat = whole.certified["0.1"]  # the largest radius is the threat model's
    assert metrics["certified_accuracy"] == threat / merged.total
    assert sum(merged.per_class_certified_correct) == threat
    assert list(metrics["certified_by_radius"]) == ["0.05", "0.1"]
    assert metrics["certified_by_radius"]["0.05"] >= metrics["certified_accuracy"]
    assert metrics["certified_accuracy"] <= metrics["worst_case_robust_accuracy"]
    low, high = metrics["certified_accuracy_interval"]
    assert low <= metrics["certified_accuracy"] <= high


def test_a_certified_example_an_attack_broke_is_counted_as_broken():
    labels = np.array([0, 1, 2])
    attacked = {"a": {"predictions": np.array([0, 0, 2]), "noise_predictions": labels,
                      "norms": np.zeros(3)}}  # fmt: skip
    counts = rc.count_batch(
        labels, labels, attacked, 3, worst_names=["a"],
        certified={"0.2": np.array([True, True, False])},
    )  # fmt: skip
    assert counts.certified_broken == 1  # the second: certified, yet the attack broke it


def test_without_the_verifier_there_is_no_certified_figure(rng):
    metrics = rm.to_metrics(rc.count_batch(*_batch(rng, 10), num_classes=3), ["a", "b", "c"])
    assert "certified_accuracy" not in metrics and "certified_broken" not in metrics
