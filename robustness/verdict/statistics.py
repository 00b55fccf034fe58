"""How sure the gate is: intervals on accuracies, and paired tests against production.

- ``wilson_interval``: the 95% Wilson score interval of a binomial proportion. Unlike the
  normal approximation it stays inside [0, 1] and keeps close to its nominal coverage for
  small samples and accuracies near 0 or 1.
- ``mcnemar_p_value``: the exact McNemar test. Candidate and baseline are judged on the same
  examples, so only the discordant pairs carry information about their difference: ``b``
  examples only the baseline gets right, ``c`` only the candidate. Under "no difference"
  ``b`` is Binomial(b + c, 1/2); the p-value is two-sided.
- ``PairedCounts.test``: the change (candidate - baseline) in accuracy with its 95% interval
  (Wald, with the paired variance), the discordant counts and the McNemar p-value.
- ``PairedScores``: the same for per-example scores in [0, 1] (the fraction of corruptions an
  example survived): the exact sign test on the examples where the two models differ, which
  is McNemar's test when the scores are 0 or 1.
- ``examples_needed``: how many examples an interval needs to tell an accuracy from a
  threshold, for the sample-size advice.
"""

import dataclasses
import math
from typing import Iterable, Optional, Tuple

import numpy as np
from scipy import stats

Z_95 = 1.959963984540054


def wilson_interval(correct: int, total: int, z: float = Z_95) -> Tuple[float, float]:
    """The Wilson score interval of ``correct / total``; (0, 1) when ``total`` is 0."""
    if total <= 0:
        return 0.0, 1.0
    p = correct / total
    denominator = 1 + z * z / total
    center = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    low = 0.0 if correct <= 0 else max(0.0, center - half)
    high = 1.0 if correct >= total else min(1.0, center + half)
    return low, high


def mcnemar_p_value(baseline_only: int, candidate_only: int) -> float:
    """Exact two-sided McNemar p-value from the discordant pair counts."""
    discordant = baseline_only + candidate_only
    if discordant == 0:
        return 1.0
    smaller = min(baseline_only, candidate_only)
    return float(min(1.0, 2 * stats.binom.cdf(smaller, discordant, 0.5)))


def examples_needed(accuracy: float, threshold: float, z: float = Z_95) -> Optional[int]:
    """About how many examples make the 95% interval's half-width smaller than the gap
    between ``accuracy`` and ``threshold``; None when they are equal (no sample size does)."""
    gap = abs(accuracy - threshold)
    if gap < 1e-9:
        return None
    p = min(max(accuracy, 0.01), 0.99)
    return int(math.ceil(z * z * p * (1 - p) / (gap * gap)))


class _Additive:
    """A dataclass of counts that merge by adding field by field (as Beam combines)."""

    @classmethod
    def merge(cls, parts: Iterable["_Additive"]):
        total = cls()
        for part in parts:
            for field in dataclasses.fields(cls):
                setattr(total, field.name, getattr(total, field.name) + getattr(part, field.name))
        return total


def _paired_test(
    baseline_better: int, candidate_better: int, total: int, change: float, variance: float
) -> dict:
    """The paired comparison's record: change (candidate minus baseline), its 95% Wald
    interval from the paired ``variance`` of one example's difference, the examples on which
    the models differ, and the exact two-sided p-value."""
    half = Z_95 * math.sqrt(max(variance, 0.0) / total) if total else 1.0
    return {
        "change": change,
        "change_interval": [max(-1.0, change - half), min(1.0, change + half)],
        "baseline_only": baseline_better,
        "candidate_only": candidate_better,
        "examples": total,
        "p_value": mcnemar_p_value(baseline_better, candidate_better),
    }


@dataclasses.dataclass
class PairedScores(_Additive):
    """Candidate and baseline per-example scores in [0, 1] on the same examples."""

    total: int = 0
    baseline_better: int = 0  # examples on which the baseline scored higher
    candidate_better: int = 0
    difference_sum: float = 0.0  # of candidate minus baseline
    difference_square_sum: float = 0.0

    @classmethod
    def of(cls, candidate: np.ndarray, baseline: np.ndarray) -> "PairedScores":
        difference = np.asarray(candidate, np.float64) - np.asarray(baseline, np.float64)
        return cls(
            total=int(difference.size),
            baseline_better=int((difference < 0).sum()),
            candidate_better=int((difference > 0).sum()),
            difference_sum=float(difference.sum()),
            difference_square_sum=float((difference**2).sum()),
        )

    def test(self) -> dict:
        """As ``PairedCounts.test``; the p-value is the exact sign test on the examples
        where the scores differ (McNemar's when scores are 0 or 1)."""
        change = self.difference_sum / self.total if self.total else 0.0
        spread = self.difference_square_sum / self.total - change**2 if self.total else 0.0
        return _paired_test(self.baseline_better, self.candidate_better, self.total, change, spread)


@dataclasses.dataclass
class PairedCounts(_Additive):
    """Per-example agreement of candidate and baseline on the same examples."""

    total: int = 0
    clean_baseline_only: int = 0  # right for the baseline only, clean
    clean_candidate_only: int = 0
    worst_baseline_only: int = 0  # survived every attack for the baseline only
    worst_candidate_only: int = 0

    @classmethod
    def of(cls, candidate: dict, baseline: dict) -> "PairedCounts":
        """From per-example boolean outcomes ``{'clean': [...], 'worst': [...]}``."""
        counts = cls(total=len(candidate["clean"]))
        for kind in ("clean", "worst"):
            mine, theirs = candidate[kind], baseline[kind]
            setattr(counts, f"{kind}_baseline_only", int((theirs & ~mine).sum()))
            setattr(counts, f"{kind}_candidate_only", int((mine & ~theirs).sum()))
        return counts

    def test(self, kind: str) -> dict:
        """The paired comparison of ``kind`` ('clean' or 'worst'): the change in accuracy
        (candidate minus baseline), its 95% interval, the discordant counts, the p-value."""
        baseline_only = getattr(self, f"{kind}_baseline_only")
        candidate_only = getattr(self, f"{kind}_candidate_only")
        total = self.total
        change = (candidate_only - baseline_only) / total if total else 0.0
        spread = (candidate_only + baseline_only) / total - change**2 if total else 0.0
        return _paired_test(baseline_only, candidate_only, total, change, spread)
