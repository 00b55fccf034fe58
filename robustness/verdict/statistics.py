"""How sure the gate is: intervals on accuracies, and paired tests against production.

- ``wilson_interval``: the 95% Wilson score interval of a binomial proportion. Unlike the
  normal approximation it stays inside [0, 1] and keeps close to its nominal coverage for
  small samples and accuracies near 0 or 1.
- ``mcnemar_p_value``: the exact McNemar test. Candidate and baseline are judged on the same
  examples, so only the discordant pairs carry information about their difference: ``b``
  examples only the baseline gets right, ``c`` only the candidate. Under "no difference"
  ``b`` is Binomial(b + c, 1/2); the p-value is two-sided.
- ``paired_difference_interval``: a 95% interval on (candidate - baseline) accuracy from the
  paired counts (Wald, with the paired variance).
- ``examples_needed``: how many examples an interval needs to tell an accuracy from a
  threshold, for the sample-size advice.
"""

import dataclasses
import math
from typing import Iterable, Optional, Tuple

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


def paired_difference_interval(
    baseline_only: int, candidate_only: int, total: int, z: float = Z_95
) -> Tuple[float, float]:
    """95% interval on candidate minus baseline accuracy, from paired outcomes."""
    if total <= 0:
        return -1.0, 1.0
    difference = (candidate_only - baseline_only) / total
    variance = ((candidate_only + baseline_only) / total - difference**2) / total
    half = z * math.sqrt(max(variance, 0.0))
    return max(-1.0, difference - half), min(1.0, difference + half)


def examples_needed(accuracy: float, threshold: float, z: float = Z_95) -> Optional[int]:
    """About how many examples make the 95% interval's half-width smaller than the gap
    between ``accuracy`` and ``threshold``; None when they are equal (no sample size does)."""
    gap = abs(accuracy - threshold)
    if gap < 1e-9:
        return None
    p = min(max(accuracy, 0.01), 0.99)
    return int(math.ceil(z * z * p * (1 - p) / (gap * gap)))


@dataclasses.dataclass
class PairedCounts:
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

    @classmethod
    def merge(cls, parts: Iterable["PairedCounts"]) -> "PairedCounts":
        total = cls()
        for part in parts:
            for field in dataclasses.fields(cls):
                setattr(total, field.name, getattr(total, field.name) + getattr(part, field.name))
        return total

    def test(self, kind: str) -> dict:
        """The paired comparison of ``kind`` ('clean' or 'worst'): the change in accuracy
        (candidate minus baseline), its 95% interval, the discordant counts, the p-value."""
        baseline_only = getattr(self, f"{kind}_baseline_only")
        candidate_only = getattr(self, f"{kind}_candidate_only")
        low, high = paired_difference_interval(baseline_only, candidate_only, self.total)
        return {
            "change": (candidate_only - baseline_only) / self.total if self.total else 0.0,
            "change_interval": [low, high],
            "baseline_only": baseline_only,
            "candidate_only": candidate_only,
            "examples": self.total,
            "p_value": mcnemar_p_value(baseline_only, candidate_only),
        }
