"""Validation helpers shared by every config: one error type and range checks that name the
field, the value and the allowed range."""

from __future__ import annotations

import math
from typing import Any


class ConfigError(ValueError):
    """A configuration value is out of range or malformed."""


def require(condition: bool, message: str) -> None:
    """Raises ``ConfigError(message)`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(message)


def check_int(field: str, value: Any, minimum: int) -> None:
    require(
        isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
        f"{field}={value!r} is invalid: it must be an integer >= {minimum}",
    )


def check_float(field: str, value: Any, low: float, high: float = math.inf) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value)) and low <= float(value) <= high
    upper = "" if high == math.inf else f" and <= {high}"
    require(ok, f"{field}={value!r} is invalid: it must be a number >= {low}{upper}")


def check_fraction(field: str, value: Any) -> None:
    check_float(field, value, 0.0, 1.0)


def check_choice(field: str, value: Any, choices: tuple) -> None:
    require(
        value in choices,
        f"{field}={value!r} is unknown: use one of {', '.join(str(c) for c in choices)}",
    )


# Norm names. NSL spells the L-infinity norm 'infinity'; attack names use 'linf'.
NORMS = ("linf", "l2")
_NORM_ALIASES = {"linf": "linf", "infinity": "linf", "inf": "linf", "l2": "l2"}
NSL_NORM_NAMES = {"linf": "infinity", "l2": "l2"}


def canonical_norm(field: str, value: str) -> str:
    """Returns 'linf' or 'l2' for any accepted spelling, or raises ConfigError."""
    norm = _NORM_ALIASES.get(str(value).lower())
    require(
        norm is not None,
        f"{field}={value!r} is not a known norm: use one of linf (alias infinity) or l2",
    )
    return norm


def is_remote(path: str) -> bool:
    """True for URLs such as gs://bucket/dir, which must never be made absolute locally."""
    return "://" in path
