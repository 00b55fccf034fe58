"""The blessing rules as a table: each row names its rule, the figure it judges, the threshold
field that sets it, how messages name the figure, and whether the sample-size advice covers it.

A rule's name is its threshold field of ``ThresholdConfig``. A ``Floor`` judges the
candidate's figure on its own; a ``Drop`` judges it against the production baseline on the
same examples, with the paired test of that figure. A row applies when its figure was
measured (for a drop, on both models). ``rules.evaluate_rules`` and
``rules.sample_size_advice`` read this table and nothing else; the order of the rows is the
order of the rules in every record.

A label may name the figures' fields in braces, e.g. ``{corruption_worst_name}``; a floor on
a mapping of figures (robust accuracy by attack) is one rule per threshold entry, named
``<rule>[<key>]``, its label formatted with ``{key}``.
"""

import dataclasses
from typing import Tuple


@dataclasses.dataclass(frozen=True)
class Floor:
    """``figure >= threshold`` (its point estimate, or its interval's lower bound under the
    'lower_bound' policy)."""

    threshold: str  # the ThresholdConfig field, and the rule's name
    figure: str  # the Figures field
    label: str
    advice: bool = False  # say when the split is too small to tell it from its floor


@dataclasses.dataclass(frozen=True)
class Drop:
    """``baseline - candidate <= threshold``, or a larger drop that the paired test does not
    find significant."""

    threshold: str  # the ThresholdConfig field, and the rule's name
    figure: str  # the Figures field
    label: str
    paired_test: str  # the key of its paired test in ``Verdict.paired_tests``


Rule = Floor | Drop

RULES: Tuple[Rule, ...] = (
    Floor("min_clean_accuracy", "clean_accuracy", "clean accuracy", advice=True),
    Floor(
        "min_worst_case_accuracy",
        "worst_case_robust_accuracy",
        "worst-case robust accuracy",
        advice=True,
    ),
    Floor("min_corruption_mean", "corruption_mean", "mean corruption accuracy", advice=True),
    Floor(
        "min_corruption_worst",
        "corruption_worst",
        "worst corruption ({corruption_worst_name}) accuracy",
    ),  # fmt: skip
    Floor("min_robust_accuracy", "robust_accuracy", "robust accuracy {key}"),
    Floor("min_certified_accuracy", "certified_accuracy", "certified accuracy"),
    Drop("max_clean_drop", "clean_accuracy", "clean accuracy", paired_test="clean"),
    Drop(
        "max_robust_drop",
        "worst_case_robust_accuracy",
        "worst-case robust accuracy",
        paired_test="worst",
    ),
    Drop(
        "max_corruption_drop",
        "corruption_mean",
        "mean corruption accuracy",
        paired_test="corruption_mean",
    ),
)
