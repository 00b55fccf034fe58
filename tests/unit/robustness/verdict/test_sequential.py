"""Early verdicts per rule: 10,000 simulated gates with the true figure exactly at the
threshold (the hardest case) err at most at the significance, clear cases are decided after
the first round, close calls fall through to the full rule, and the records say on how many
examples, at which round and by which bound each rule was decided."""

import json

import numpy as np
import pytest

from robustfx.base.validation import ConfigError
from robustfx.robustness.verdict import sequential as seq
from robustfx.robustness.verdict.sequential_plan import plan_rounds
from robustfx.robustness.verdict.statistics import wilson_interval

SIGNIFICANCE = 0.05
PLAN = plan_rounds(1000, 0)  # rounds end after 128, 256, 512 and 1000 examples
GATES = 10_000
SLACK = 3 * np.sqrt(SIGNIFICANCE * (1 - SIGNIFICANCE) / GATES)  # Monte Carlo error


def _full_rule_passes(values, floor):
    """Today's floor with the 'lower_bound' policy, on all examples: the lower end of the 95%
    Wilson interval (on as many coin flips, for scores) must clear the floor."""
    n = values.shape[-1]
    return np.array([wilson_interval(total, n)[0] >= floor for total in values.sum(-1)])


def _gates_at_the_floor(rule, values, floor):
    verdict, _ = seq.first_verdicts(rule, values, PLAN, SIGNIFICANCE)
    passed = (verdict == 1) | ((verdict == 0) & _full_rule_passes(values, floor))
    return verdict, passed


def test_gates_at_the_floor_pass_binary_outcomes_at_most_at_the_significance(rng):
    floor = 0.12
    outcomes = (rng.random((GATES, PLAN.num_examples)) < floor).astype(float)
    verdict, passed = _gates_at_the_floor(seq.FloorRule("w", "worst", floor), outcomes, floor)
    assert passed.mean() <= SIGNIFICANCE + SLACK
    # At the floor both early verdicts are wrong: each side errs at most half the level.
    assert (verdict == 1).mean() <= SIGNIFICANCE / 2 + SLACK
    assert (verdict == -1).mean() <= SIGNIFICANCE / 2 + SLACK


def test_gates_at_the_floor_pass_bounded_scores_at_most_at_the_significance(rng):
    # Per-example scores: the fraction of a corruption's 5 severities survived, mean 0.45.
    floor, chances = 0.45, np.cumsum([0.25, 0.15, 0.15, 0.15, 0.15])
    scores = np.searchsorted(chances, rng.random((GATES, PLAN.num_examples))) / 5
    assert abs(scores.mean() - floor) < 1e-3
    rule = seq.FloorRule("m", "corruption_mean", floor, binary=False)
    verdict, passed = _gates_at_the_floor(rule, scores, floor)
    assert passed.mean() <= SIGNIFICANCE + SLACK
    assert (verdict == 1).mean() <= SIGNIFICANCE / 2 + SLACK
    assert (verdict == -1).mean() <= SIGNIFICANCE / 2 + SLACK


def test_paired_gates_with_the_drop_exactly_allowed_err_at_most_at_the_significance(rng):
    # Correlated streams: both right 76%, baseline only 4%, candidate only 2%, both wrong 18%.
    draw = rng.random((GATES, PLAN.num_examples))
    baseline = (draw < 0.80).astype(float)
    candidate = ((draw < 0.76) | (draw >= 0.98)).astype(float)
    assert abs((candidate - baseline).mean() + 0.02) < 1e-3
    rule = seq.ChangeRule("max_clean_drop", "clean", max_drop=0.02)
    verdict, _ = seq.first_verdicts(rule, candidate - baseline, PLAN, SIGNIFICANCE)
    assert (verdict == 1).mean() <= SIGNIFICANCE / 2 + SLACK
    assert (verdict == -1).mean() <= SIGNIFICANCE / 2 + SLACK


def _figures(rng, **rates):
    return {name: (rng.random(PLAN.num_examples) < p).astype(float) for name, p in rates.items()}


RULES = [
    seq.FloorRule("min_clean_accuracy", "clean", 0.5),
    seq.FloorRule("min_worst_case_accuracy", "worst", 0.5),
]


def test_clear_cases_are_decided_after_the_first_round(rng):
    records = seq.judge_round(RULES, PLAN, 1, SIGNIFICANCE, _figures(rng, clean=0.95, worst=0.8))
    assert {r.verdict for r in records.values()} == {seq.PASS}
    assert {r.decided_round for r in records.values()} == {1}
    assert seq.gate_step(records, PLAN, 1) == "pass"
    failing = _figures(rng, clean=0.95, worst=0.1)
    records = seq.judge_round(RULES, PLAN, 1, SIGNIFICANCE, failing)
    assert records["min_worst_case_accuracy"].verdict == seq.FAIL
    assert seq.gate_step(records, PLAN, 1) == "fail"


def test_a_close_call_falls_through_to_the_full_rule_after_the_last_round(rng):
    figures = _figures(rng, clean=0.95, worst=0.51)
    records = None
    for round_number in range(1, PLAN.rounds + 1):
        records = seq.judge_round(RULES, PLAN, round_number, SIGNIFICANCE, figures, None, records)
        close = records["min_worst_case_accuracy"]
        assert close.verdict == seq.UNDECIDED and close.examples == PLAN.ends[round_number - 1]
        assert seq.gate_step(records, PLAN, round_number) == (
            "settle" if round_number == PLAN.rounds else "continue"
        )
    settled = seq.settle(records, {"min_worst_case_accuracy": True}, PLAN)
    assert settled["min_worst_case_accuracy"].verdict == seq.PASS
    assert settled["min_worst_case_accuracy"].decided_round == PLAN.rounds
    assert settled["min_worst_case_accuracy"].bound.startswith("the full evaluation's rule")
    assert settled["min_clean_accuracy"] == records["min_clean_accuracy"]  # decided at round 1


def test_only_the_last_rounds_records_are_settled(rng):
    records = seq.judge_round(RULES, PLAN, 1, SIGNIFICANCE, _figures(rng, clean=0.95, worst=0.51))
    with pytest.raises(ConfigError, match="rests on 128 of 1000 examples"):
        seq.settle(records, {"min_worst_case_accuracy": True}, PLAN)


def test_records_keep_the_first_verdict_and_narrow_their_interval(rng):
    figures = _figures(rng, clean=0.7, worst=0.6)
    records, history = None, []
    for round_number in range(1, PLAN.rounds + 1):
        records = seq.judge_round(RULES, PLAN, round_number, SIGNIFICANCE, figures, None, records)
        history.append(records["min_clean_accuracy"])
    first = history[0]
    assert first.verdict == seq.PASS and first.decided_round == 1
    assert all(r.verdict == seq.PASS and r.decided_round == 1 for r in history)
    for earlier, later in zip(history, history[1:], strict=False):
        assert earlier.interval[0] <= later.interval[0] <= later.interval[1]
        assert later.interval[1] <= earlier.interval[1]
    assert history[-1].examples == 1000
    assert history[-1].estimate == pytest.approx(figures["clean"].mean())
    assert "Clopper-Pearson, 98.75% in each of 4 rounds (95% over all)" == first.bound
    assert json.loads(json.dumps(first.to_dict()))["interval"] == list(first.interval)


def test_first_verdicts_match_the_round_by_round_records(rng):
    rates = [[0.45], [0.5], [0.55], [0.6], [0.4], [0.52]]
    streams = (rng.random((6, PLAN.num_examples)) < rates).astype(float)  # in the plan's order
    verdicts, rounds = seq.first_verdicts(RULES[1], streams, PLAN, SIGNIFICANCE)
    for stream, verdict, decided in zip(streams, verdicts, rounds, strict=True):
        by_example = np.empty(PLAN.num_examples)
        by_example[list(PLAN.order)] = stream
        records = None
        for round_number in range(1, PLAN.rounds + 1):
            records = seq.judge_round(
                RULES[1:], PLAN, round_number, SIGNIFICANCE, {"worst": by_example}, None, records
            )
        record = records["min_worst_case_accuracy"]
        assert record.verdict == {1: seq.PASS, -1: seq.FAIL, 0: seq.UNDECIDED}[int(verdict)]
        assert (record.decided_round or 0) == decided


def test_the_worst_group_fails_on_the_one_group_below_its_floor(rng):
    scores = {f"c{i}": rng.binomial(5, p, PLAN.num_examples) / 5 for i, p in enumerate([0.8, 0.1])}
    rule = seq.WorstGroupRule("min_corruption_worst", ("c0", "c1"), 0.3)
    record = seq.judge_round([rule], PLAN, 1, SIGNIFICANCE, scores)["min_corruption_worst"]
    assert record.verdict == seq.FAIL and record.decided_round == 1
    assert record.estimate == pytest.approx(scores["c1"][PLAN.judged(1)].mean())
    assert record.interval[0] <= record.estimate <= record.interval[1] < 0.3
    passing = {"c0": scores["c0"], "c1": 1 - scores["c1"]}
    record = seq.judge_round([rule], PLAN, 1, SIGNIFICANCE, passing)["min_corruption_worst"]
    assert record.verdict == seq.PASS and record.interval[0] >= 0.3


def test_paired_change_rules_against_the_baseline(rng):
    baseline = _figures(rng, clean=0.8)
    rule = seq.ChangeRule("max_clean_drop", "clean", 0.02)
    worse = {"clean": np.where(rng.random(PLAN.num_examples) < 0.3, 0.0, baseline["clean"])}
    record = seq.judge_round([rule], PLAN, 1, SIGNIFICANCE, worse, baseline)["max_clean_drop"]
    assert record.verdict == seq.FAIL and record.interval[1] < -0.02
    # Identical models: proving a drop of at most 0.02 needs more than the first 256 examples.
    verdict, decided = seq.first_verdicts(rule, np.zeros(PLAN.num_examples), PLAN, SIGNIFICANCE)
    assert (int(verdict), int(decided)) == (1, 3)
    with pytest.raises(ConfigError, match="compares with the baseline, but it has none"):
        seq.judge_round([rule], PLAN, 1, SIGNIFICANCE, worse)


def test_a_missing_figure_or_a_bad_threshold_is_named():
    with pytest.raises(ConfigError, match="needs the candidate's per-example figure 'worst'"):
        seq.judge_round(RULES, PLAN, 1, SIGNIFICANCE, {"clean": np.ones(1000)})
    with pytest.raises(ConfigError, match="rule min_clean_accuracy floor=1.5 is invalid"):
        seq.FloorRule("min_clean_accuracy", "clean", 1.5)
    with pytest.raises(ConfigError, match="has no groups"):
        seq.WorstGroupRule("min_corruption_worst", (), 0.3)
