"""The rounds of an early-deciding gate: a seeded order, the round ends, the validity
checks' sample, and per-example values taken in the plan's order."""

import numpy as np
import pytest

from robustfx.base.validation import ConfigError
from robustfx.robustness.verdict.sequential_plan import plan_rounds


def test_the_same_seed_gives_the_same_order_and_another_seed_another():
    first, again, other = plan_rounds(1000, 3), plan_rounds(1000, 3), plan_rounds(1000, 4)
    assert first == again
    assert first.order != other.order
    assert sorted(first.order) == list(range(1000))


@pytest.mark.parametrize(
    "examples, ends",
    [
        (1000, (128, 256, 512, 1000)),
        (512, (128, 256, 512)),
        (300, (128, 256, 300)),
        (100, (100,)),
    ],
)
def test_rounds_end_at_each_planned_size_below_the_split_then_at_all_of_it(examples, ends):
    plan = plan_rounds(examples, 0)
    assert plan.ends == ends
    assert plan.rounds == len(ends)
    assert plan.is_last(len(ends)) and (len(ends) == 1 or not plan.is_last(1))


def test_rounds_add_disjoint_examples_that_together_are_the_split():
    plan = plan_rounds(700, 11, round_sizes=(100, 300))
    parts = [plan.new_in(r) for r in range(1, plan.rounds + 1)]
    assert [len(p) for p in parts] == [100, 200, 400]
    assert sorted(np.concatenate(parts).tolist()) == list(range(700))
    assert plan.judged(2).tolist() == np.concatenate(parts[:2]).tolist()


def test_each_example_is_equally_likely_to_be_in_the_first_round():
    firsts = np.array([plan_rounds(200, seed).judged(1)[:50] for seed in range(400)])
    share = np.bincount(firsts.ravel(), minlength=200) / 400  # each expects 50/200
    assert share.min() > 0.15 and share.max() < 0.35  # 4 standard deviations


def test_the_validity_sample_is_fixed_by_the_seed_before_any_look():
    plan = plan_rounds(1000, 5)
    assert plan.validity_indices().tolist() == plan.judged(1).tolist()
    wider = plan_rounds(1000, 5, validity_size=300)
    assert wider.validity_indices().tolist() == list(wider.order[:300])
    assert wider.order == plan.order


def test_values_are_taken_in_the_plans_order_for_the_examples_judged():
    plan = plan_rounds(10, 2, round_sizes=(4,))
    values = np.arange(10.0) * 10
    assert plan.in_order(values, 1).tolist() == [10.0 * i for i in plan.order[:4]]
    groups = np.stack([values, -values])
    assert plan.in_order(groups, 2).shape == (2, 10)


def test_an_example_without_a_value_in_a_judged_round_is_named():
    plan = plan_rounds(10, 2, round_sizes=(4,))
    values = np.full(10, np.nan)
    values[plan.judged(1)] = 1.0
    assert plan.in_order(values, 1).tolist() == [1.0] * 4
    with pytest.raises(ValueError, match="6 examples judged by round 2 have no value"):
        plan.in_order(values, 2)
    with pytest.raises(ConfigError, match="do not cover the split's 10 examples"):
        plan.in_order(np.ones(9), 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_examples": 0}, "number of examples"),
        ({"round_sizes": (256, 128)}, "must increase strictly"),
        ({"round_sizes": (0, 10)}, "round size"),
        ({"validity_size": 2000}, "exceeds the split's 1000"),
        ({"seed": -1}, "round seed"),
    ],
)
def test_bad_plans_are_refused_by_name(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        plan_rounds(**{"num_examples": 1000, "seed": 0, **kwargs})


def test_a_round_outside_the_plan_is_refused():
    with pytest.raises(ConfigError, match="not in the plan's rounds 1-4"):
        plan_rounds(1000, 0).judged(5)
