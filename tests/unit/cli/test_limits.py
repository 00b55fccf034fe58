"""``run_within``: a call in a watched child process, stopped at the first breach of its
time or memory limit, its result or exception brought back."""

import os
import time

import pytest

from robustfx.base.limits_config import LimitsConfig
from robustfx.base.validation import ConfigError
from robustfx.cli.limits import LimitExceededError, breach, run_within

# Builtins pickle by name, so they run in a spawned child without the test module.
HOLD_MEMORY = "held = b'x' * (400 * 1024 * 1024)\nimport time\ntime.sleep(60)"


def test_the_result_comes_back():
    assert run_within(LimitsConfig(time_limit=60), "adding", max, 2, 5) == 5


def test_the_exception_comes_back():
    with pytest.raises(ValueError, match="invalid literal"):
        run_within(LimitsConfig(time_limit=60), "parsing", int, "not a number")


def test_the_time_limit_stops_the_child():
    start = time.monotonic()
    with pytest.raises(LimitExceededError, match="past --time-limit 2") as stopped:
        run_within(LimitsConfig(time_limit=2), "sleeping", time.sleep, 60)
    assert time.monotonic() - start < 15
    assert str(stopped.value).startswith("sleeping was stopped and the model refused")


def test_the_memory_limit_stops_the_child():
    start = time.monotonic()
    with pytest.raises(LimitExceededError, match=r"MB resident, past --memory-limit 200"):
        run_within(LimitsConfig(memory_limit=200, time_limit=60), "holding", exec, HOLD_MEMORY)
    assert time.monotonic() - start < 30


def test_a_child_that_dies_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="ended with exit code 3 before it reported"):
        run_within(LimitsConfig(time_limit=60), "exiting", os._exit, 3)


def test_breach_names_the_limit_and_the_flag():
    limits = LimitsConfig(time_limit=10, memory_limit=100)
    assert breach(limits, 9.0, 99.0) is None
    assert breach(limits, 10.5, 0.0) == "it ran 10.5 s, past --time-limit 10"
    assert "held 150 MB resident, past --memory-limit 100" in breach(limits, 1.0, 150.0)
    assert breach(LimitsConfig(), 1e9, 1e9) is None and not LimitsConfig().active


@pytest.mark.parametrize("values", [{"time_limit": 0.5}, {"memory_limit": 0}])
def test_limits_below_the_minimum_are_refused(values):
    with pytest.raises(ConfigError, match="limits"):
        LimitsConfig(**values)
