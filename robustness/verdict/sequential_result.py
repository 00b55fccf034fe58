"""The verdict of an evaluation that decided early, from the rule records of its last round
(``sequential.judge_round``, ``settle``) and the full rules judged on the same examples
(``evaluation.conclude``). Pure data in, data out.

- A rule its bound decided before the last round takes that verdict, its message saying on
  how many examples, at which round, and the interval valid at the stopping round.
- A rule settled after the last round keeps the full rule's result on all examples.
- A rule still undecided when another failed is not passed, and says so.
- The candidate's headline figures that a floor judges carry that floor's interval, valid at
  whatever round the gate stopped, in place of the fixed-n interval; every other figure
  keeps its fixed-n interval on the examples judged.
- ``EvaluationResult.decided_early`` records the plan, where the gate stopped and why, and
  every rule's record (examples, deciding round, estimate, interval, bound).
"""

import copy
import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from robustfx.base.validation import require
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.outcome import CANDIDATE, EvaluationResult
from robustfx.robustness.verdict.rule_table import RULES, Drop, Floor
from robustfx.robustness.verdict.rules import RuleResult, is_blessed
from robustfx.robustness.verdict.sequential import FAIL, PASS, UNDECIDED, RuleRecord
from robustfx.robustness.verdict.sequential_plan import RoundPlan


def _row(rule: str) -> Tuple[Floor | Drop, Optional[str]]:
    """The table row of a rule's name, and the key of a per-key floor ('<rule>[<key>]')."""
    name, _, key = rule.partition("[")
    rows = [row for row in RULES if row.threshold == name]
    require(len(rows) == 1, f"rule {rule} is not in the rule table")
    return rows[0], key[:-1] if key else None


def _label(rule: str, figures: Figures) -> str:
    row, key = _row(rule)
    named = {field.name: getattr(figures, field.name) for field in dataclasses.fields(figures)}
    return row.label.format(key=key, **named)


def _stands(record: RuleRecord, label: str, plan: RoundPlan) -> str:
    """'<figure> <estimate> (interval ...) on n of N examples vs <threshold>: '."""
    drop = isinstance(_row(record.rule)[0], Drop)
    number = "{:+.4f}" if drop else "{:.4f}"
    low, high = record.interval
    return (
        f"{label} {'change against the baseline ' if drop else ''}"
        f"{number.format(record.estimate)} (interval {number.format(low)} to "
        f"{number.format(high)}, valid at whatever round the gate stops) on "
        f"{record.examples:,} of {plan.num_examples:,} examples vs "
        f"{'allowed change' if drop else 'minimum'} {number.format(record.threshold)}: "
    )


def _decided(record: RuleRecord, label: str, plan: RoundPlan) -> RuleResult:
    proven = f"proven at round {record.decided_round} of {plan.rounds}"
    verdict = "passes" if record.verdict == PASS else "FAILS"
    below = "" if record.verdict == PASS else ": the interval lies below it"
    return RuleResult(
        record.rule,
        record.estimate,
        record.threshold,
        record.verdict == PASS,
        f"{_stands(record, label, plan)}{verdict}, {proven}{below} ({record.bound})",
    )


def _undecided(
    record: RuleRecord, label: str, plan: RoundPlan, stopped: int, failed: List[str]
) -> RuleResult:
    return RuleResult(
        record.rule,
        record.estimate,
        record.threshold,
        False,
        f"{_stands(record, label, plan)}NOT DECIDED, the gate stopped at round {stopped} "
        f"when {', '.join(failed)} failed",
    )


def _failed(full: Tuple[RuleResult, ...], records: Mapping[str, RuleRecord]) -> List[str]:
    """What stopped a failed gate: the rules their bounds failed, and the other rules
    (validity, TFMA, the comparison) that failed."""
    return [
        result.rule
        for result in full
        if (records[result.rule].verdict == FAIL if result.rule in records else not result.passed)
    ]


def rule_results(
    full: Tuple[RuleResult, ...],
    records: Mapping[str, RuleRecord],
    plan: RoundPlan,
    stopped: int,
    figures: Figures,
) -> List[RuleResult]:
    """The rules in ``full``'s order (the full rules on the examples judged), each rule that
    has a record decided as its record says."""
    names = {result.rule for result in full}
    require(
        set(records) <= names,
        f"rules {sorted(set(records) - names)} have records but no full result",
    )
    failed = _failed(full, records)
    results = []
    for result in full:
        record = records.get(result.rule)
        if record is None:  # validity, TFMA, the skipped comparison
            results.append(result)
        elif record.verdict == UNDECIDED:
            results.append(_undecided(record, _label(result.rule, figures), plan, stopped, failed))
        elif record.decided_round == plan.rounds:  # settled: the full rule on all examples
            results.append(
                dataclasses.replace(
                    result,
                    message=f"{result.message} (judged on all {plan.num_examples:,} examples "
                    f"as --full judges it: its bound decided nothing by round {plan.rounds - 1})",
                )
            )
        else:
            results.append(_decided(record, _label(result.rule, figures), plan))
    return results


def with_intervals(record: dict, records: Mapping[str, RuleRecord]) -> dict:
    """A copy of one model's metrics record, each figure a floor judges carrying that
    floor's record's interval."""
    record = copy.deepcopy(record)
    for name, found in records.items():
        row, key = _row(name)
        if not isinstance(row, Floor):
            continue
        if key is None:
            record[f"{row.figure}_interval"] = list(found.interval)  # as metrics writes it
            continue
        steps = {step["attack"]: step for step in record.get("cascade", [])}
        entry = record.get("attacks", {}).get(key) or steps[key]
        entry["robust_accuracy_interval"] = list(found.interval)
    return record


def decided_early(
    result: EvaluationResult,
    records: Mapping[str, RuleRecord],
    plan: RoundPlan,
    stopped: int,
    step: str,
    significance: float,
) -> EvaluationResult:
    """``result`` (the full rules on the examples judged by round ``stopped``) as the gate
    decided it: the rules by their records, the headline intervals valid at the stopping
    round, and the record of the rounds. ``step`` is what ``sequential.gate_step`` said."""
    verdict = result.verdict
    details: Dict[str, dict] = dict(result.details)
    details[CANDIDATE] = with_intervals(details[CANDIDATE], records)
    candidate = Figures.of(details[CANDIDATE])
    rules = rule_results(verdict.rules, records, plan, stopped, candidate)
    every_example = plan.is_last(stopped)
    verdict = dataclasses.replace(
        verdict,
        candidate=candidate,
        rules=tuple(rules),
        blessed=is_blessed(rules),
        advice=verdict.advice if every_example else (),
    )
    record = {
        "seed": plan.seed,
        "round_ends": list(plan.ends),
        "validity_examples": plan.validity_size,
        "significance": significance,
        "stopped_after_round": stopped,
        "rounds": plan.rounds,
        "examples": plan.ends[stopped - 1],
        "num_examples": plan.num_examples,
        "stopped_because": {
            "pass": "every rule passed",
            "fail": f"{', '.join(_failed(result.verdict.rules, records))} failed",
        }.get(step, "the last round: the undecided rules judged on every example"),
        "rules": [found.to_dict() for found in records.values()],
    }
    return dataclasses.replace(result, verdict=verdict, details=details, decided_early=record)


def undecided_rules(record: Mapping[str, Any]) -> Set[str]:
    """The rules a gate that stopped at a failure left undecided, from its
    ``decided_early`` record (none for an evaluation of every example at once)."""
    return {found["rule"] for found in record.get("rules", []) if found["verdict"] == UNDECIDED}
