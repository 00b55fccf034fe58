"""The headline figures of one judged model, typed: ``Figures``.

Each accuracy comes with its 95% interval (``Estimate``). A field's name is the key it has in
``metrics.json`` (``metrics.to_metrics`` writes it, ``Figures.of`` reads it back) and in every
record built from the figures: the run summary, the gate's JSON, ``compare``, the ML Metadata
properties (``<role>_<name>``, ``_low``, ``_high``) and the model card. A field declared with
``figure(label)`` is a headline figure: every one of those records carries it, and the views
(the printed summary, the gate's Markdown, the report) show it, by hand or in a row of its own.

Adding a figure is one field here and the code that computes it; a rule on it is one row of
``rule_table.RULES`` and its threshold field in ``ThresholdConfig``.
"""

import dataclasses
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Tuple

LABEL, PER, OWN_ROWS = "label", "per", "own_rows"


@dataclasses.dataclass(frozen=True)
class Estimate:
    """An accuracy and its 95% interval (None in a record written before intervals were)."""

    value: float
    interval: Optional[Tuple[float, float]] = None

    @property
    def bounds(self) -> Tuple[float, float]:
        """The interval, or the point itself when the record had none."""
        return self.interval or (self.value, self.value)

    @classmethod
    def read(cls, record: Mapping[str, Any], key: str) -> Optional["Estimate"]:
        """``record[key]`` with ``record[key + '_interval']``; None when the key is absent."""
        if key not in record:
            return None
        interval = record.get(f"{key}_interval")
        return cls(record[key], tuple(interval) if interval else None)


def figure(label: str, *, per: str = "", own_rows: bool = False, optional: bool = True) -> Any:
    """A headline figure's field.

    Args:
      label: how rules, advice and the views name it, e.g. 'clean accuracy'.
      per: for a mapping of estimates (by attack, by corruption), how one entry is named in
        the model card: '<per>[<key>]'.
      own_rows: the printed summary, the gate's Markdown and the report lay it out by hand;
        every other figure gets a generic row there.
      optional: absent (None) when it was not measured, e.g. without corruptions.
    """
    metadata = {LABEL: label, PER: per, OWN_ROWS: own_rows}
    if per:
        return dataclasses.field(default_factory=dict, metadata=metadata)
    if optional:
        return dataclasses.field(default=None, metadata=metadata)
    return dataclasses.field(metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Figures:
    """What one model scored, from its record in ``metrics.json``."""

    num_examples: int
    clean_accuracy: Estimate = figure("clean accuracy", own_rows=True, optional=False)
    # An example counts only if it survived every attack of the suite.
    worst_case_robust_accuracy: Estimate = figure(
        "worst-case robust accuracy", own_rows=True, optional=False
    )
    # Proven by the verifier (--verify) at the threat model: a lower bound of the true robust
    # accuracy, whose upper bound is the worst case above. None when no certificate was
    # computed (--verify none, or a model the verifier cannot read).
    certified_accuracy: Optional[Estimate] = figure("certified accuracy")
    # Every attack reported: the cascade's (cumulative) and the others' own, the sweep's too.
    robust_accuracy: Mapping[str, Estimate] = figure("robust accuracy", per="robust_accuracy")
    # The natural corruptions, each averaged over its severities: the mean and the worst.
    corruption_mean: Optional[Estimate] = figure("mean corruption accuracy", own_rows=True)
    corruption_worst: Optional[Estimate] = figure("worst corruption accuracy", own_rows=True)
    corruption_by_name: Mapping[str, Estimate] = figure(
        "corruption accuracy", per="corruption_accuracy"
    )
    corruption_worst_name: Optional[str] = None
    # Corruption -> severity (as text) -> accuracy.
    corruption_accuracy: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)
    # Radius (as text) -> certified accuracy in that ball: the threat model's and the sweep's.
    certified_by_radius: Mapping[str, float] = dataclasses.field(default_factory=dict)
    # The write-ups' transfer protocol (crafted against a reference model), reported apart.
    transfer_accuracy: Optional[float] = None

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> "Figures":
        """The figures of one model's record (``metrics.to_metrics``, or ``metrics.json``'s
        ``metrics[role]``)."""
        values: Dict[str, Any] = {"num_examples": record["num_examples"]}
        for field in dataclasses.fields(cls):
            name = field.name
            if name == "robust_accuracy":  # the cascade's steps, then the other attacks
                found = {step["attack"]: step for step in record.get("cascade", [])}
                found.update(record.get("attacks", {}))
                values[name] = {
                    attack: Estimate.read(entry, "robust_accuracy")
                    for attack, entry in found.items()
                }
            elif field.metadata.get(PER):
                intervals = record.get(f"{name}_interval", {})
                values[name] = {
                    key: Estimate(value, tuple(intervals[key]) if key in intervals else None)
                    for key, value in record.get(name, {}).items()
                }
            elif LABEL in field.metadata:
                values[name] = Estimate.read(record, name)
            elif name in record:
                values[name] = record[name]
        return cls(**values)

    def headline(self) -> Dict[str, Optional[Estimate]]:
        """Every headline figure that is one estimate, None when not measured, in field
        order."""
        return {field.name: getattr(self, field.name) for field in _scalar_figures()}

    def estimates(self) -> Dict[str, Estimate]:
        """Every headline figure that is one estimate and was measured, in field order."""
        return {name: value for name, value in self.headline().items() if value is not None}

    def others(self) -> Iterator[Tuple[str, str, Estimate]]:
        """(name, label, estimate) of each measured figure that the views do not lay out by
        hand: they show each in a generic row."""
        for field in _scalar_figures():
            value = getattr(self, field.name)
            if value is not None and not field.metadata[OWN_ROWS]:
                yield field.name, field.metadata[LABEL], value

    def robust(self, names: Sequence[str]) -> Dict[str, Estimate]:
        """The robust accuracy of each of ``names`` (e.g. the reported suite), in order."""
        return {name: self.robust_accuracy[name] for name in names}

    def entries(self, suite: Sequence[str]) -> Iterator[Tuple[str, Estimate]]:
        """(name, estimate) of every headline figure in field order, a mapping's entries as
        '<per>[<key>]' (the robust accuracies of ``suite`` only): the model card's list."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.metadata.get(PER):
                if field.name == "robust_accuracy":
                    value = self.robust(suite)
                for key, estimate in value.items():
                    yield f"{field.metadata[PER]}[{key}]", estimate
            elif LABEL in field.metadata and value is not None:
                yield field.name, value


def _scalar_figures() -> Tuple[dataclasses.Field, ...]:
    return tuple(
        field
        for field in dataclasses.fields(Figures)
        if LABEL in field.metadata and not field.metadata[PER]
    )


def value_of(estimate: Optional[Estimate]) -> Optional[float]:
    """The estimate's value; None without one (a figure not measured, or no baseline)."""
    return estimate.value if estimate is not None else None
