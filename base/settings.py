"""``setting``: a dataclass field that carries its command-line flag and help text.

Each config field is written once, here in the base layer: its default, its help, its flag
name and how the flag's text becomes a value. The command line (``cli.flags``) is
generated from these fields, so a default can never differ between a config and a flag.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Sequence

# Metadata keys read by the flag generator.
HELP, FLAG, PARSE, CHOICES, METAVAR, REPEAT, DERIVED, ASSIGN, ENV = (
    "help",
    "flag",
    "parse",
    "choices",
    "metavar",
    "repeat",
    "derived",
    "assign",
    "env",
)


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
    default_factory: Any = dataclasses.MISSING,
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
    }
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


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
