"""Intervals that hold at every look: coverage over all the planned looks by simulation, the
bisected interval against the direct test, widths against today's Wilson interval, and bad
input refused by name."""

import numpy as np
import pytest

from robustfx.base.validation import ConfigError
from robustfx.robustness.verdict import sequential_bounds as bounds
from robustfx.robustness.verdict.sequential_plan import plan_rounds
from robustfx.robustness.verdict.statistics import wilson_interval

SIGNIFICANCE = 0.05
PLAN = plan_rounds(1000, 0)  # looks after 128, 256, 512 and 1000 examples
ERROR = bounds.look_error(SIGNIFICANCE, PLAN.rounds)
STREAMS = 2000
# A side's miss rate over all looks may exceed significance / 2 by Monte Carlo error only.
SLACK = 3 * np.sqrt(SIGNIFICANCE / 2 * (1 - SIGNIFICANCE / 2) / STREAMS)


def _scores(rng, shape, chances):
    """Per-example scores like a corruption's: the fraction of its 5 severities survived,
    each fraction i / 5 drawn with probability ``chances[i]``."""
    return np.searchsorted(np.cumsum(chances[:-1]), rng.random(shape)) / 5


def _mean_score(chances):
    return float(np.dot(chances, np.arange(6) / 5))


FAIR = [0.25, 0.15, 0.15, 0.15, 0.15, 0.15]  # mean 0.45
SKEWED = [0.6, 0.15, 0.1, 0.05, 0.05, 0.05]  # mean 0.19, most examples lost at every severity


def _misses(values, mean, binary):
    """Per stream: some look's interval lies wholly above ``mean``; wholly below it."""
    above = np.zeros(values.shape[0], bool)
    below = np.zeros(values.shape[0], bool)
    for end in PLAN.ends:
        above |= bounds.proves(values[:, :end], mean + 1e-12, ERROR, binary)[0]
        below |= bounds.proves(values[:, :end], mean, ERROR, binary)[1]
    return above.mean(), below.mean()


@pytest.mark.parametrize("p", [0.12, 0.5, 0.9])
def test_binary_intervals_cover_at_every_look_but_at_most_the_significance(rng, p):
    outcomes = (rng.random((STREAMS, PLAN.num_examples)) < p).astype(float)
    above, below = _misses(outcomes, p, binary=True)
    assert above <= SIGNIFICANCE / 2 + SLACK and below <= SIGNIFICANCE / 2 + SLACK
    # The interval itself says the same as the test at the true mean.
    low, high = bounds.interval(outcomes[:, :128], ERROR, binary=True)
    assert np.mean(low > p) + np.mean(high < p) <= SIGNIFICANCE + 2 * SLACK


@pytest.mark.parametrize("chances", [FAIR, SKEWED])
def test_score_intervals_cover_at_every_look_but_at_most_the_significance(rng, chances):
    scores = _scores(rng, (STREAMS, PLAN.num_examples), chances)
    above, below = _misses(scores, _mean_score(chances), binary=False)
    assert above <= SIGNIFICANCE / 2 + SLACK and below <= SIGNIFICANCE / 2 + SLACK


@pytest.mark.parametrize("binary", [True, False])
def test_the_bisected_interval_ends_where_the_direct_test_turns(rng, binary):
    values = (rng.random((20, 256)) < 0.4) * 1.0 if binary else _scores(rng, (20, 256), FAIR)
    low, high = bounds.interval(values, ERROR, binary)
    assert (low < values.mean(1)).all() and (values.mean(1) < high).all()
    assert bounds.proves(values, low - 1e-9, ERROR, binary)[0].all()
    assert not bounds.proves(values, low + 1e-6, ERROR, binary)[0].any()
    assert bounds.proves(values, high + 1e-9, ERROR, binary)[1].all()
    assert not bounds.proves(values, high - 1e-6, ERROR, binary)[1].any()


def _wilson_width(values):
    n = values.shape[-1]
    return np.array([np.subtract(*wilson_interval(k, n)[::-1]) for k in values.sum(-1)])


def test_binary_intervals_over_four_looks_are_at_most_a_third_wider_than_wilsons(rng):
    outcomes = (rng.random((500, PLAN.num_examples)) < 0.21).astype(float)
    for n in PLAN.ends:
        low, high = bounds.interval(outcomes[:, :n], ERROR, binary=True)
        ratio = np.median(high - low) / np.median(_wilson_width(outcomes[:, :n]))
        assert 1.2 < ratio < 1.35, n


def test_score_intervals_are_narrower_than_wilson_on_as_many_coin_flips(rng):
    # A corruption mean: each example's mean over 75 corrupted images, its rate ~ Beta(3, 2).
    scores = rng.binomial(75, rng.beta(3, 2, (100, PLAN.num_examples))) / 75
    low, high = bounds.interval(scores, ERROR, binary=False)
    wilson = np.array([np.subtract(*wilson_interval(s, 1000)[::-1]) for s in scores.sum(-1)])
    assert np.median((high - low) / wilson) < 0.8


def test_all_correct_outcomes_bound_the_accuracy_by_the_exact_binomial_tail():
    low, high = bounds.interval(np.ones(128), ERROR, binary=True)
    assert high == 1.0 and low == pytest.approx((ERROR / 2) ** (1 / 128))
    assert bounds.proves(np.ones(128), 0.9, ERROR, binary=True) == (True, False)
    assert bounds.proves(np.ones(128), 1.0, ERROR, binary=True) == (False, False)


@pytest.mark.parametrize(
    "values, error, binary, message",
    [
        (np.array([0.0, 0.5]), ERROR, True, "binary outcomes must be 0 or 1"),
        (np.array([0.2, 1.5]), ERROR, False, r"scores must be finite numbers in \[0, 1\]"),
        (np.array([0.2, np.nan]), ERROR, False, "scores must be finite"),
        (np.array([1.0]), 1.5, True, r"interval error=1.5 must be in \(0, 1\)"),
        (np.zeros(0), ERROR, True, "no examples to bound"),
    ],
)
def test_bad_input_is_refused_by_name(values, error, binary, message):
    with pytest.raises(ConfigError, match=message):
        bounds.interval(values, error, binary)


def test_the_significance_is_split_evenly_over_the_rounds():
    assert bounds.look_error(0.05, 4) == pytest.approx(0.0125)
    with pytest.raises(ConfigError, match="significance=0 must be in"):
        bounds.look_error(0, 4)
