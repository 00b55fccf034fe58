"""The blessing rules of ``rules.evaluate_rules`` as rules that decide early: the same names
and thresholds, over per-example figures instead of merged counts. Pure NumPy.

A figure is a per-example array over the split: an outcome (0 or 1) or a score in [0, 1].
Their names:

- ``clean`` and ``worst``: ``counts.survivors``' outcomes (classified correctly; and also
  after every attack of the worst case);
- ``robust[ATTACK]``: classified correctly under one attack (for its floor);
- ``certified``: certified by the verifier at the threat model (when it ran);
- ``corruption[NAME]``: the fraction of a corruption's severities survived, and
  ``corruption_mean`` their mean (``counts.corruption_scores``).

The mean of each figure over all examples is the full evaluation's metric (the corruption
mean averages each corruption's severities, then the corruptions, as ``corruption_metrics``).
"""

from typing import Dict, List, Mapping, Sequence

import numpy as np

from robustfx.base.evaluation_config import ThresholdConfig
from robustfx.base.validation import require
from robustfx.robustness.verdict.counts import MEAN
from robustfx.robustness.verdict.rule_table import RULES, Drop, Floor
from robustfx.robustness.verdict.rule_table import Rule as TableRule
from robustfx.robustness.verdict.sequential import ChangeRule, FloorRule, Rule, WorstGroupRule

CLEAN, WORST, CERTIFIED, CORRUPTION_MEAN = "clean", "worst", "certified", "corruption_mean"


def robust_figure(attack: str) -> str:
    return f"robust[{attack}]"


def corruption_figure(corruption: str) -> str:
    return f"corruption[{corruption}]"


def per_example_figures(
    outcomes: Mapping[str, np.ndarray],
    robust: Mapping[str, np.ndarray] = {},
    corruption_scores: Mapping[str, np.ndarray] = {},
) -> Dict[str, np.ndarray]:
    """The figures of one model on some examples, from ``counts.survivors`` (``outcomes``,
    with the verifier's ``certified`` when it ran), attack name -> classified correctly
    under it (``robust``) and ``counts.corruption_scores``."""
    figures = {CLEAN: outcomes["clean"], WORST: outcomes["worst"]}
    if CERTIFIED in outcomes:
        figures[CERTIFIED] = outcomes[CERTIFIED]
    figures.update({robust_figure(name): correct for name, correct in robust.items()})
    for name, scores in corruption_scores.items():
        figures[CORRUPTION_MEAN if name == MEAN else corruption_figure(name)] = scores
    return {name: np.asarray(values, np.float64) for name, values in figures.items()}


# How a figure of ``rule_table.RULES`` is judged per example: its per-example figure and
# whether that holds outcomes (0 or 1) or scores. The worst corruption is judged over every
# corruption's score (a ``WorstGroupRule``), and a floor on a mapping of figures (robust
# accuracy by attack) is one rule per threshold entry, as in ``evaluate_rules``.
_PER_EXAMPLE = {
    "clean_accuracy": (CLEAN, True),
    "worst_case_robust_accuracy": (WORST, True),
    "certified_accuracy": (CERTIFIED, True),
    "corruption_mean": (CORRUPTION_MEAN, False),
}
_BY_GROUP, _BY_KEY = "corruption_worst", "robust_accuracy"
_CORRUPTION_FIGURES = ("corruption_mean", "corruption_worst")


def _floor_rules(row: Floor, threshold, corruptions: Sequence[str]) -> List[Rule]:
    if row.figure == _BY_KEY:
        return [
            FloorRule(f"{row.threshold}[{key}]", robust_figure(key), floor)
            for key, floor in sorted(threshold.items())
        ]
    if row.figure == _BY_GROUP:
        groups = tuple(corruption_figure(name) for name in corruptions)
        return [WorstGroupRule(row.threshold, groups, threshold)]
    return [
        FloorRule(row.threshold, _figure_of(row), threshold, binary=_PER_EXAMPLE[row.figure][1])
    ]


def _figure_of(row: TableRule) -> str:
    require(
        row.figure in _PER_EXAMPLE,
        f"rule {row.threshold} judges {row.figure!r}, which has no per-example figure",
    )
    return _PER_EXAMPLE[row.figure][0]


def early_rules(
    thresholds: ThresholdConfig,
    corruptions: Sequence[str] = (),
    with_baseline: bool = False,
    certified: bool = False,
) -> List[Rule]:
    """The rules of ``rule_table.RULES`` that apply, judged on per-example figures, in
    ``evaluate_rules``' order (the floors, then the drops).

    Args:
      thresholds: the gate's floors and allowed drops.
      corruptions: the corruption set's corruption names; none when corruptions are not
        judged (then the corruption rules do not apply, as in ``evaluate_rules``).
      with_baseline: a production baseline is judged on the same examples: add the change
        rules.
      certified: the verifier certifies the candidate: add the certified floor.

    Raises:
      ConfigError: a row of the table judges a figure that has no per-example figure here.
    """
    measured = {"certified_accuracy": certified}
    applies = [
        row
        for row in RULES
        if (row.figure not in _CORRUPTION_FIGURES or corruptions) and measured.get(row.figure, True)
    ]
    rules: List[Rule] = []
    for row in applies:
        if isinstance(row, Floor):
            rules += _floor_rules(row, getattr(thresholds, row.threshold), corruptions)
    for row in applies if with_baseline else ():
        if isinstance(row, Drop):
            rules.append(
                ChangeRule(row.threshold, _figure_of(row), getattr(thresholds, row.threshold))
            )
    return rules
