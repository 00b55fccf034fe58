"""Mergeable robustness counts. Pure NumPy, no TF.

A batch of predictions becomes ``RobustnessCounts``; counts from any number of batches and
workers merge by addition (``merge``), so memory stays constant however large the split is.
``metrics.to_metrics`` turns the merged totals into exact ratios.
"""

import dataclasses
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np


@dataclasses.dataclass
class AttackCounts:
    """Counts for one attack on one model."""

    correct: int = 0  # examples still classified correctly under attack
    flipped: int = 0  # correct when clean, wrong under attack (attack successes)
    noise_correct: int = 0  # correct under random noise of the same epsilon
    norm_sum: float = 0.0  # sum of the applied perturbation sizes
    norm_max: float = 0.0  # largest applied perturbation
    per_class_correct: List[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class CascadeCounts:
    """Counts for one attack of the cascade on one model."""

    correct: int = 0  # examples still correct after this attack and every earlier one
    broken: int = 0  # examples this attack broke that every earlier attack had not
    norm_max: float = 0.0  # largest perturbation it applied
    per_class_correct: List[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class RobustnessCounts:
    """Counts for one model over some examples."""

    num_classes: int
    total: int = 0
    clean_correct: int = 0
    per_class_total: List[int] = dataclasses.field(default_factory=list)
    per_class_clean_correct: List[int] = dataclasses.field(default_factory=list)
    attacks: Dict[str, AttackCounts] = dataclasses.field(default_factory=dict)
    cascade: Dict[str, CascadeCounts] = dataclasses.field(default_factory=dict)
    # Correct under every attack of the cascade and every reference attack.
    worst_correct: int = 0
    per_class_worst_correct: List[int] = dataclasses.field(default_factory=list)
    # The write-ups' transfer protocol: examples crafted against a reference model.
    transfer_correct: int = 0
    transfer_total: int = 0
    # Natural corruptions: corruption name -> severity (as text, as JSON keys are) -> the
    # examples still classified correctly under it.
    corruptions: Dict[str, Dict[str, int]] = dataclasses.field(default_factory=dict)
    # The verifier's: radius (``certified_pass.radius_key``) -> the examples certified in
    # that ball; empty when no certificate was computed. The largest radius is the threat
    # model's, which the per-class counts and ``certified_broken`` are at.
    certified: Dict[str, int] = dataclasses.field(default_factory=dict)
    per_class_certified_correct: List[int] = dataclasses.field(default_factory=list)
    # Certified at the threat model, yet broken by an attack of the worst case: a fault of
    # the verifier (or of the model it read), which the validity checks refuse.
    certified_broken: int = 0

    def __post_init__(self) -> None:
        self.per_class_total = self.per_class_total or [0] * self.num_classes
        self.per_class_clean_correct = self.per_class_clean_correct or [0] * self.num_classes
        self.per_class_worst_correct = self.per_class_worst_correct or [0] * self.num_classes
        self.per_class_certified_correct = self.per_class_certified_correct or (
            [0] * self.num_classes
        )


def _bincount(labels: np.ndarray, weights: np.ndarray, num_classes: int) -> List[int]:
    return (
        np.bincount(labels, weights=weights.astype(np.int64), minlength=num_classes)[:num_classes]
        .astype(np.int64)
        .tolist()
    )


# Predictions under natural corruptions: corruption name -> severity -> int [batch].
CorruptedPredictions = Mapping[str, Mapping[int, np.ndarray]]
MEAN = "mean"  # the key of the mean over corruptions in ``corruption_scores``


def corruption_scores(labels: np.ndarray, corrupted: CorruptedPredictions) -> Dict[str, np.ndarray]:
    """Per example: for each corruption, the fraction of its severities under which it was
    classified correctly; and under ``MEAN``, the mean of those over the corruptions. Empty
    when no corruption ran."""
    labels = np.asarray(labels, np.int64).reshape(-1)
    scores = {
        name: np.mean([np.asarray(p).reshape(-1) == labels for p in by_severity.values()], axis=0)
        for name, by_severity in corrupted.items()
    }
    if scores:
        scores[MEAN] = np.mean(list(scores.values()), axis=0)
    return scores


# The verifier's verdicts on a batch: radius -> certified, bool [batch].
Certified = Mapping[str, np.ndarray]


def threat_radius(certified: Mapping[str, object]) -> str:
    """The threat model's radius among the verifier's radii: the largest (the sweep's are
    fractions of it)."""
    return max(certified, key=float)


def survivors(
    labels: np.ndarray,
    clean_predictions: np.ndarray,
    attacked: Mapping[str, Mapping[str, np.ndarray]],
    cascade: Optional[Mapping[str, Mapping[str, np.ndarray]]] = None,
    worst_names: Sequence[str] = (),
) -> Dict[str, np.ndarray]:
    """Per example: ``clean`` (classified correctly) and ``worst`` (also survived every
    attack of the cascade and every attack in ``worst_names``). Arguments as in
    ``count_batch``."""
    labels = np.asarray(labels, np.int64).reshape(-1)
    clean_ok = np.asarray(clean_predictions).reshape(-1) == labels
    worst = clean_ok.copy()
    for result in (cascade or {}).values():
        worst &= np.asarray(result["correct"], bool).reshape(-1)
    for name in worst_names:
        worst &= np.asarray(attacked[name]["predictions"]).reshape(-1) == labels
    return {"clean": clean_ok, "worst": worst}


def count_batch(
    labels: np.ndarray,
    clean_predictions: np.ndarray,
    attacked: Mapping[str, Mapping[str, np.ndarray]],
    num_classes: int,
    transfer_predictions: Optional[np.ndarray] = None,
    cascade: Optional[Mapping[str, Mapping[str, np.ndarray]]] = None,
    worst_names: Sequence[str] = (),
    outcomes: Optional[Mapping[str, np.ndarray]] = None,
    corrupted: Optional[CorruptedPredictions] = None,
    certified: Optional[Certified] = None,
) -> RobustnessCounts:
    """Counts one batch.

    Args:
      labels: int [batch] true classes.
      clean_predictions: int [batch] predicted classes on the clean images.
      attacked: attack name -> {'predictions': int [batch], 'noise_predictions': int [batch],
        'norms': float [batch] applied perturbation sizes}.
      num_classes: number of classes.
      transfer_predictions: int [batch] predictions on examples crafted against a reference
        model (the write-ups' protocol), if one was given.
      cascade: attack name -> {'correct': bool [batch] still correct after it and every
        earlier attack, 'norms': float [batch]}, in cascade order.
      worst_names: the attacks of ``attacked`` that count in the worst case besides the
        cascade (the references at the threat model).
      outcomes: ``survivors`` of this batch, when the caller already has them.
      corrupted: predictions under each natural corruption and severity.
      certified: the examples the verifier certified at each radius, when it ran.
    """
    labels = np.asarray(labels, np.int64).reshape(-1)
    outcomes = outcomes or survivors(labels, clean_predictions, attacked, cascade, worst_names)
    clean_ok, worst = outcomes["clean"], outcomes["worst"]
    counts = RobustnessCounts(
        num_classes=num_classes,
        total=int(labels.size),
        clean_correct=int(clean_ok.sum()),
        per_class_total=_bincount(labels, np.ones_like(labels), num_classes),
        per_class_clean_correct=_bincount(labels, clean_ok, num_classes),
    )
    if transfer_predictions is not None:
        counts.transfer_total = int(labels.size)
        counts.transfer_correct = int((np.asarray(transfer_predictions) == labels).sum())
    previous = clean_ok
    for name, result in (cascade or {}).items():
        still = np.asarray(result["correct"], bool).reshape(-1) & previous
        counts.cascade[name] = CascadeCounts(
            correct=int(still.sum()),
            broken=int((previous & ~still).sum()),
            norm_max=float(np.asarray(result["norms"], np.float64).max(initial=0.0)),
            per_class_correct=_bincount(labels, still, num_classes),
        )
        previous = still
    counts.worst_correct = int(worst.sum())
    counts.corruptions = {
        name: {
            str(severity): int((np.asarray(p).reshape(-1) == labels).sum())
            for severity, p in by_severity.items()
        }
        for name, by_severity in (corrupted or {}).items()
    }
    counts.per_class_worst_correct = _bincount(labels, worst, num_classes)
    if certified:
        proven = np.asarray(certified[threat_radius(certified)], bool).reshape(-1)
        counts.certified = {radius: int(np.sum(c)) for radius, c in certified.items()}
        counts.per_class_certified_correct = _bincount(labels, proven, num_classes)
        counts.certified_broken = int((proven & ~worst).sum())
    for name, result in attacked.items():
        adv_ok = np.asarray(result["predictions"]).reshape(-1) == labels
        noise_ok = np.asarray(result["noise_predictions"]).reshape(-1) == labels
        norms = np.asarray(result["norms"], np.float64).reshape(-1)
        counts.attacks[name] = AttackCounts(
            correct=int(adv_ok.sum()),
            flipped=int((clean_ok & ~adv_ok).sum()),
            noise_correct=int(noise_ok.sum()),
            norm_sum=float(norms.sum()),
            norm_max=float(norms.max(initial=0.0)),
            per_class_correct=_bincount(labels, adv_ok, num_classes),
        )
    return counts


def _add(left: List[int], right: List[int]) -> List[int]:
    return [a + b for a, b in zip(left, right, strict=True)]


def merge(counts: Iterable[RobustnessCounts]) -> RobustnessCounts:
    """Sums counts from many batches (associative and commutative, as Beam needs)."""
    counts = list(counts)
    if not counts:
        raise ValueError("no counts to merge: the evaluated split is empty")
    total = RobustnessCounts(num_classes=counts[0].num_classes)
    for part in counts:
        total.total += part.total
        total.clean_correct += part.clean_correct
        total.transfer_total += part.transfer_total
        total.transfer_correct += part.transfer_correct
        total.per_class_total = _add(total.per_class_total, part.per_class_total)
        total.per_class_clean_correct = _add(
            total.per_class_clean_correct, part.per_class_clean_correct
        )
        total.worst_correct += part.worst_correct
        total.per_class_worst_correct = _add(
            total.per_class_worst_correct, part.per_class_worst_correct
        )
        for radius, certified in part.certified.items():
            total.certified[radius] = total.certified.get(radius, 0) + certified
        total.per_class_certified_correct = _add(
            total.per_class_certified_correct, part.per_class_certified_correct
        )
        total.certified_broken += part.certified_broken
        for name, by_severity in part.corruptions.items():
            into = total.corruptions.setdefault(name, {})
            for severity, correct in by_severity.items():
                into[severity] = into.get(severity, 0) + correct
        for name, step in part.cascade.items():
            into = total.cascade.setdefault(
                name, CascadeCounts(per_class_correct=[0] * total.num_classes)
            )
            into.correct += step.correct
            into.broken += step.broken
            into.norm_max = max(into.norm_max, step.norm_max)
            into.per_class_correct = _add(into.per_class_correct, step.per_class_correct)
        for name, attack in part.attacks.items():
            into = total.attacks.setdefault(
                name, AttackCounts(per_class_correct=[0] * total.num_classes)
            )
            into.correct += attack.correct
            into.flipped += attack.flipped
            into.noise_correct += attack.noise_correct
            into.norm_sum += attack.norm_sum
            into.norm_max = max(into.norm_max, attack.norm_max)
            into.per_class_correct = _add(into.per_class_correct, attack.per_class_correct)
    return total


def counts_to_dict(counts: RobustnessCounts) -> dict:
    """Plain JSON-ready data."""
    return dataclasses.asdict(counts)


def counts_from_dict(data: dict) -> RobustnessCounts:
    """The inverse of ``counts_to_dict``."""
    attacks = {name: AttackCounts(**value) for name, value in data["attacks"].items()}
    cascade = {name: CascadeCounts(**value) for name, value in data.get("cascade", {}).items()}
    return RobustnessCounts(**{**data, "attacks": attacks, "cascade": cascade})
