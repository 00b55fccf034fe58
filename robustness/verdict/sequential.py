"""Per-rule verdicts of a gate that decides early, round by round. Pure NumPy.

After each round of a ``sequential_plan.RoundPlan`` every rule's figure, on the examples
judged so far, gets an interval from ``sequential_bounds`` at the look's error (the
significance split evenly over the plan's rounds):

- pass when the interval's lower end clears the rule's threshold;
- fail when its upper end is below it;
- undecided otherwise.

A decided rule keeps its verdict, and later rounds narrow its interval (the running
intersection of its looks', which holds at whatever round the gate stops). The gate stops as
soon as one rule fails or every rule passes (``gate_step``). After the last round the rules
still undecided are judged as the full evaluation judges them (``settle``), so an early
verdict differs from the full evaluation's only where a bound erred: for each rule, with
probability at most ``significance / 2`` over all its looks.

The rules, each over per-example figures (arrays over the split's examples):

- ``FloorRule``: the mean of binary outcomes or of scores reaches a floor (clean accuracy,
  worst case, one attack's accuracy, the corruption mean).
- ``WorstGroupRule``: every group's mean reaches a floor (each corruption's score). It passes
  when every group's lower end clears the floor, and fails when one group's upper end does not,
  that end Bonferroni-corrected over the groups, since the failing group is picked by the data.
- ``ChangeRule``: the paired change, candidate minus baseline per example (in [-1, 1]), is at
  least ``-max_drop``.
"""

import dataclasses
from typing import ClassVar, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from robustfx.base.validation import check_fraction, require
from robustfx.robustness.verdict import sequential_bounds as bounds
from robustfx.robustness.verdict.sequential_plan import RoundPlan

PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"
_VERDICTS = {1: PASS, -1: FAIL, 0: UNDECIDED}
Figures = Mapping[str, np.ndarray]  # figure name -> per-example values over the split


def _verdict(passes: np.ndarray, fails: np.ndarray) -> np.ndarray:
    return np.where(passes, 1, np.where(fails, -1, 0)).astype(np.int8)


def _method(binary: bool) -> str:
    return "Clopper-Pearson" if binary else "betting (Waudby-Smith & Ramdas 2024)"


def _figure(figures: Optional[Figures], rule: str, name: str, role: str) -> np.ndarray:
    require(figures is not None, f"rule {rule} compares with the baseline, but it has none")
    require(name in figures, f"rule {rule} needs the {role}'s per-example figure {name!r}")
    return np.asarray(figures[name], np.float64)


@dataclasses.dataclass(frozen=True)
class FloorRule:
    """The mean of ``figure`` must reach ``floor``; ``binary``: outcomes 0/1, else scores."""

    name: str
    figure: str
    floor: float
    binary: bool = True
    axes: ClassVar[int] = 1  # trailing axes of one stream's values: [examples]

    def __post_init__(self) -> None:
        check_fraction(f"rule {self.name} floor", self.floor)

    @property
    def threshold(self) -> float:
        return self.floor

    def values(self, candidate: Figures, baseline: Optional[Figures] = None) -> np.ndarray:
        return _figure(candidate, self.name, self.figure, "candidate")

    def verdict(self, values, error: float) -> np.ndarray:
        """Per stream (leading axes of ``values`` [..., examples]): 1 pass, -1 fail, 0 not yet."""
        return _verdict(*bounds.proves(values, self.floor, error, self.binary))

    def figure_and_interval(self, values, error: float) -> Tuple[float, float, float]:
        low, high = bounds.interval(values, error, self.binary)
        return float(np.mean(values)), float(low), float(high)

    def method(self) -> str:
        return _method(self.binary)


@dataclasses.dataclass(frozen=True)
class WorstGroupRule:
    """Every group's mean (scores; ``figures`` names the groups) must reach ``floor``."""

    name: str
    figures: Tuple[str, ...]
    floor: float
    axes: ClassVar[int] = 2  # [groups, examples]

    def __post_init__(self) -> None:
        check_fraction(f"rule {self.name} floor", self.floor)
        require(bool(self.figures), f"rule {self.name} has no groups to judge")
        object.__setattr__(self, "figures", tuple(self.figures))

    @property
    def threshold(self) -> float:
        return self.floor

    def values(self, candidate: Figures, baseline: Optional[Figures] = None) -> np.ndarray:
        return np.stack([_figure(candidate, self.name, f, "candidate") for f in self.figures])

    def verdict(self, values, error: float) -> np.ndarray:
        """``values`` [..., groups, examples]; as ``FloorRule.verdict``."""
        groups = np.shape(values)[-2]
        return _verdict(
            bounds.proves(values, self.floor, error, False)[0].all(-1),
            bounds.proves(values, self.floor, error / groups, False)[1].any(-1),
        )

    def figure_and_interval(self, values, error: float) -> Tuple[float, float, float]:
        low = bounds.interval(values, error, False)[0]
        high = bounds.interval(values, error / len(values), False)[1]
        return float(np.mean(values, -1).min()), float(low.min()), float(high.min())

    def method(self) -> str:
        return f"{_method(False)} per group, the upper end over {len(self.figures)} groups"


@dataclasses.dataclass(frozen=True)
class ChangeRule:
    """Candidate minus baseline on ``figure``, paired per example, must be >= -max_drop."""

    name: str
    figure: str
    max_drop: float
    axes: ClassVar[int] = 1  # [examples]

    def __post_init__(self) -> None:
        check_fraction(f"rule {self.name} max_drop", self.max_drop)

    @property
    def threshold(self) -> float:
        return -self.max_drop

    def values(self, candidate: Figures, baseline: Optional[Figures] = None) -> np.ndarray:
        mine = _figure(candidate, self.name, self.figure, "candidate")
        return mine - _figure(baseline, self.name, self.figure, "baseline")

    def verdict(self, values, error: float) -> np.ndarray:
        """``values``: per-example changes in [-1, 1]; as ``FloorRule.verdict``."""
        scores, at = (np.asarray(values) + 1) / 2, (1 - self.max_drop) / 2
        return _verdict(*bounds.proves(scores, at, error, False))

    def figure_and_interval(self, values, error: float) -> Tuple[float, float, float]:
        low, high = bounds.interval((np.asarray(values) + 1) / 2, error, False)
        return float(np.mean(values)), float(2 * low - 1), float(2 * high - 1)

    def method(self) -> str:
        return f"{_method(False)} on the paired change"


Rule = Union[FloorRule, WorstGroupRule, ChangeRule]


@dataclasses.dataclass(frozen=True)
class RuleRecord:
    """Where one rule stands at the gate's latest round."""

    rule: str
    verdict: str  # PASS, FAIL or UNDECIDED
    decided_round: Optional[int]  # the round that decided it; None while undecided
    examples: int  # examples the figure and the interval rest on
    estimate: float  # the figure on them (the change, for a change rule)
    interval: Tuple[float, float]  # holds at whatever round the gate stops
    threshold: float  # what the interval is compared with
    bound: str  # how the verdict was reached

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "interval": list(self.interval)}


def first_verdicts(
    rule: Rule, values, plan: RoundPlan, significance: float
) -> Tuple[np.ndarray, np.ndarray]:
    """The early verdict of ``rule`` on streams of per-example ``values`` in the plan's order
    (last axis: all the split's examples) and the round that reached it (0 when none did
    before the last round, which leaves it to the full rule). Arrays over the leading axes."""
    error = bounds.look_error(significance, plan.rounds)
    values = np.asarray(values, np.float64)
    verdict = np.zeros(values.shape[: values.ndim - rule.axes], np.int8)
    decided = np.zeros(verdict.shape, np.int64)
    for round_number, end in enumerate(plan.ends[:-1], start=1):
        now = rule.verdict(values[..., :end], error)
        fresh = (verdict == 0) & (now != 0)
        verdict, decided = np.where(fresh, now, verdict), np.where(fresh, round_number, decided)
    return verdict, decided


def judge_round(
    rules: Sequence[Rule],
    plan: RoundPlan,
    round_number: int,
    significance: float,
    candidate: Figures,
    baseline: Optional[Figures] = None,
    previous: Optional[Mapping[str, RuleRecord]] = None,
) -> Dict[str, RuleRecord]:
    """Every rule's record after ``round_number``, from per-example figures over the split
    (NaN where not judged yet) and the records of the round before (``previous``). The last
    round decides nothing by its bound: what is undecided then goes to ``settle``."""
    error = bounds.look_error(significance, plan.rounds)
    share = f"{100 * (1 - error):.4g}% in each of {plan.rounds} rounds"
    records = {}
    for rule in rules:
        values = plan.in_order(rule.values(candidate, baseline), round_number)
        estimate, low, high = rule.figure_and_interval(values, error)
        before = (previous or {}).get(rule.name)
        if before is not None and max(low, before.interval[0]) <= min(high, before.interval[1]):
            low, high = max(low, before.interval[0]), min(high, before.interval[1])
        verdict, decided = UNDECIDED, None
        if before is not None and before.verdict != UNDECIDED:
            verdict, decided = before.verdict, before.decided_round
        elif not plan.is_last(round_number):
            verdict = _VERDICTS[int(rule.verdict(values, error))]
            decided = round_number if verdict != UNDECIDED else None
        records[rule.name] = RuleRecord(
            rule=rule.name,
            verdict=verdict,
            decided_round=decided,
            examples=int(values.shape[-1]),
            estimate=estimate,
            interval=(low, high),
            threshold=rule.threshold,
            bound=f"{rule.method()}, {share} ({100 * (1 - significance):.4g}% over all)",
        )
    return records


def gate_step(records: Mapping[str, RuleRecord], plan: RoundPlan, round_number: int) -> str:
    """What the gate does after ``round_number``: 'fail' (a rule failed), 'pass' (every rule
    passed), 'settle' (the last round: judge the undecided rules as the full evaluation does)
    or 'continue' to the next round."""
    verdicts = [record.verdict for record in records.values()]
    require(bool(verdicts), "the gate has no rule records to act on")
    if FAIL in verdicts:
        return "fail"
    if all(verdict == PASS for verdict in verdicts):
        return "pass"
    return "settle" if plan.is_last(round_number) else "continue"


def settle(
    records: Mapping[str, RuleRecord], full_verdicts: Mapping[str, bool], plan: RoundPlan
) -> Dict[str, RuleRecord]:
    """After the last round, the undecided rules take the full evaluation's verdict on all
    examples (``full_verdicts``: rule name -> passed); decided rules keep theirs."""
    settled = dict(records)
    for name, record in records.items():
        if record.verdict != UNDECIDED:
            continue
        require(
            record.examples == plan.num_examples,
            f"rule {name} rests on {record.examples} of {plan.num_examples} examples: only "
            "the last round's records can be settled",
        )
        require(name in full_verdicts, f"the full evaluation has no verdict for rule {name}")
        settled[name] = dataclasses.replace(
            record,
            verdict=PASS if full_verdicts[name] else FAIL,
            decided_round=plan.rounds,
            bound=f"the full evaluation's rule on all {plan.num_examples} examples (its "
            f"bound stayed undecided); interval: {record.bound}",
        )
    return settled
