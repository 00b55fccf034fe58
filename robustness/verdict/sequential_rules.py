"""The blessing rules of ``rules.evaluate_rules`` as rules that decide early: the same names
and thresholds, over per-example figures instead of merged counts. Pure NumPy.

A figure is a per-example array over the split: an outcome (0 or 1) or a score in [0, 1].
Their names:

- ``clean`` and ``worst``: ``counts.survivors``' outcomes (classified correctly; and also
  after every attack of the worst case);
- ``robust[ATTACK]``: classified correctly under one attack (for its floor);
- ``corruption[NAME]``: the fraction of a corruption's severities survived, and
  ``corruption_mean`` their mean (``counts.corruption_scores``).

The mean of each figure over all examples is the full evaluation's metric (the corruption
mean averages each corruption's severities, then the corruptions, as ``corruption_metrics``).
"""

from typing import Dict, List, Mapping, Sequence

import numpy as np

from robustfx.base.evaluation_config import ThresholdConfig
from robustfx.robustness.verdict.counts import MEAN
from robustfx.robustness.verdict.sequential import ChangeRule, FloorRule, Rule, WorstGroupRule

CLEAN, WORST, CORRUPTION_MEAN = "clean", "worst", "corruption_mean"


def robust_figure(attack: str) -> str:
    return f"robust[{attack}]"


def corruption_figure(corruption: str) -> str:
    return f"corruption[{corruption}]"


def per_example_figures(
    outcomes: Mapping[str, np.ndarray],
    robust: Mapping[str, np.ndarray] = {},
    corruption_scores: Mapping[str, np.ndarray] = {},
) -> Dict[str, np.ndarray]:
    """The figures of one model on some examples, from ``counts.survivors`` (``outcomes``),
    attack name -> classified correctly under it (``robust``) and
    ``counts.corruption_scores``."""
    figures = {CLEAN: outcomes["clean"], WORST: outcomes["worst"]}
    figures.update({robust_figure(name): correct for name, correct in robust.items()})
    for name, scores in corruption_scores.items():
        figures[CORRUPTION_MEAN if name == MEAN else corruption_figure(name)] = scores
    return {name: np.asarray(values, np.float64) for name, values in figures.items()}


def early_rules(
    thresholds: ThresholdConfig,
    corruptions: Sequence[str] = (),
    with_baseline: bool = False,
) -> List[Rule]:
    """The rules the gate judges on per-example figures, in ``evaluate_rules``' order.

    Args:
      thresholds: the gate's floors and allowed drops.
      corruptions: the corruption set's corruption names; none when corruptions are not
        judged (then the corruption rules do not apply, as in ``evaluate_rules``).
      with_baseline: a production baseline is judged on the same examples: add the change
        rules.
    """
    rules: List[Rule] = [
        FloorRule("min_clean_accuracy", CLEAN, thresholds.min_clean_accuracy),
        FloorRule("min_worst_case_accuracy", WORST, thresholds.min_worst_case_accuracy),
    ]
    if corruptions:
        rules.append(
            FloorRule(
                "min_corruption_mean",
                CORRUPTION_MEAN,
                thresholds.min_corruption_mean,
                binary=False,
            )
        )
        rules.append(
            WorstGroupRule(
                "min_corruption_worst",
                tuple(corruption_figure(name) for name in corruptions),
                thresholds.min_corruption_worst,
            )
        )
    for name, floor in sorted(thresholds.min_robust_accuracy.items()):
        rules.append(FloorRule(f"min_robust_accuracy[{name}]", robust_figure(name), floor))
    if with_baseline:
        rules.append(ChangeRule("max_clean_drop", CLEAN, thresholds.max_clean_drop))
        rules.append(ChangeRule("max_robust_drop", WORST, thresholds.max_robust_drop))
        if corruptions:
            rules.append(
                ChangeRule("max_corruption_drop", CORRUPTION_MEAN, thresholds.max_corruption_drop)
            )
    return rules
