"""``setting``: a dataclass field that carries its command-line flag, help text and the
values it accepts.

Each config field is written once, here in the base layer: its default, its help, its flag
name, how the flag's text becomes a value, and its allowed choices or range. The command line
(``cli.flags``) is generated from these fields, so a default can never differ between a
config and a flag; ``check_settings`` validates a config from the same fields, so a choice or
a range is never written a second time in ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from robustfx.base.validation import check_choice, check_float, check_int

# Metadata keys read by the flag generator and by ``check_settings``.
HELP, FLAG, PARSE, CHOICES, METAVAR, REPEAT, DERIVED, ASSIGN, ENV, RANGE = (
    "help",
    "flag",
    "parse",
    "choices",
    "metavar",
    "repeat",
    "derived",
    "assign",
    "env",
    "range",
)
OFF_FLAG = "off_flag"


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    flag: Optional[str] = None,
    parse: Optional[Callable[[str], Any]] = None,
    choices: Optional[Sequence[str]] = None,
    metavar: Optional[str] = None,
    repeat: bool = False,
    derived: bool = False,
    assign: Optional[str] = None,
    env: Optional[str] = None,
    at_least: Optional[float] = None,
    at_most: Optional[float] = None,
    default_factory: Any = dataclasses.MISSING,
    off_flag: Optional[str] = None,
) -> Any:
    """A dataclass field with its command-line description.

    Args:
      help: what the setting does, shown by ``--help``.
      flag: its flag, e.g. '--epochs'; None keeps it off the command line.
      parse: turns the flag's text into the value (default: the default's type).
      choices: allowed values, listed in the help.
      metavar: the value's name in the help.
      repeat: the flag may be given many times; each occurrence is one item of a tuple (or
        one KEY=VALUE pair of a mapping), and giving it replaces the default items.
      derived: the default ('' or None) is filled in from other fields at construction.
      assign: the flag takes KEY=VALUE items shared with other fields: this field is set by
        the item whose key is ``assign``, or by every other key when ``assign`` is '*'.
      env: an environment variable that supplies the default when set.
      at_least: the smallest value allowed (of each item, for a tuple or a mapping); an
        integer field must also be an integer. Checked by ``check_settings``.
      at_most: the largest value allowed, likewise (numbers only; integers take no upper
        bound).
      off_flag: for a boolean, the flag that sets it False (default: '--no-' and the flag's
        name).
    """
    metadata = {
        HELP: help,
        FLAG: flag,
        PARSE: parse,
        CHOICES: tuple(choices) if choices else None,
        METAVAR: metavar,
        REPEAT: repeat,
        DERIVED: derived,
        ASSIGN: assign,
        ENV: env,
        RANGE: None if at_least is None and at_most is None else (at_least, at_most),
        OFF_FLAG: off_flag,
    }
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


@functools.cache
def _checked_fields(cls: type) -> Tuple[Tuple[str, Optional[tuple], Optional[tuple], bool], ...]:
    """(name, choices, range, integer) of each field of ``cls`` that declares choices or a
    range; ``integer`` when the values (or the items of a tuple or mapping) are ints."""
    hints = typing.get_type_hints(cls)
    found = []
    for field in dataclasses.fields(cls):
        choices, bounds = field.metadata.get(CHOICES), field.metadata.get(RANGE)
        if choices or bounds:
            found.append((field.name, choices, bounds, _item_type(hints[field.name]) is int))
    return tuple(found)


def _item_type(hint: Any) -> Any:
    """``int`` for ``int``, ``Optional[int]``, ``Tuple[int, ...]`` or ``Mapping[str, int]``."""
    arguments = [a for a in typing.get_args(hint) if a not in (type(None), Ellipsis)]
    if typing.get_origin(hint) is typing.Union:
        return _item_type(arguments[0])
    return arguments[-1] if arguments else hint


def _items(name: str, value: Any) -> Dict[str, Any]:
    """The values a range applies to, each by how an error names it."""
    if isinstance(value, dict):
        return {f"{name}[{key}]": item for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return {f"{name}[]": item for item in value}
    return {} if value is None else {name: value}


def check_settings(config: Any, prefix: str) -> None:
    """Checks every field of ``config`` against the choices and range its ``setting``
    declares; an error names ``prefix``, the field and the allowed values.

    Raises:
      ConfigError: a value is not among the choices or outside the range.
    """
    for name, choices, bounds, integer in _checked_fields(type(config)):
        value = getattr(config, name)
        if choices and value is not None:
            check_choice(f"{prefix} {name}", value, choices)
        if not bounds:
            continue
        low, high = bounds
        for label, item in _items(f"{prefix} {name}", value).items():
            if integer:
                check_int(label, item, low)
            else:
                check_float(label, item, low, math.inf if high is None else high)


def int_list(text: str) -> tuple:
    """'32,64,64' -> (32, 64, 64)."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of integers") from None


def float_list(text: str) -> tuple:
    """'0.25,0.5' -> (0.25, 0.5)."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of numbers") from None


def image_size(text: str) -> tuple:
    """'224x224' -> (224, 224)."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"{text!r} is not HEIGHTxWIDTH, e.g. 224x224") from None
    return (height, width)
