"""Cron expressions as KFP's recurring runs take them: six fields, seconds first."""

import re

from robustfx.base.validation import require as _require

_CRON_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7))  # sec min hour dom mon dow
_CRON_NAMES = {
    4: "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC",
    5: "SUN|MON|TUE|WED|THU|FRI|SAT",
}


def _check_cron_part(index: int, field: str, part: str) -> None:
    low, high = _CRON_RANGES[index]
    match = re.fullmatch(r"(\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(\d+))?", part)
    _require(match is not None, f"cron field {index + 1} {field!r} is malformed")
    values = [] if match.group(1) in ("*", "?") else match.group(1).split("-")
    for value in values:
        if value.isdigit():
            _require(
                low <= int(value) <= high,
                f"cron field {index + 1} value {value} is outside [{low}, {high}]",
            )
        else:
            names = _CRON_NAMES.get(index, "")
            _require(
                bool(names) and re.fullmatch(names, value.upper()) is not None,
                f"cron field {index + 1} value {value!r} is not valid",
            )
    if match.group(2) is not None:
        _require(int(match.group(2)) >= 1, f"cron field {index + 1} step must be >= 1")


def normalize_cron(expression: str) -> str:
    """Validates a cron expression and returns KFP's 6-field form (seconds first).

    A standard 5-field expression ('0 3 * * *') gets a leading '0' seconds field.

    Raises:
      ConfigError: naming the bad field.
    """
    fields = expression.split()
    _require(
        len(fields) in (5, 6),
        f"cron expression {expression!r} must have 5 or 6 fields, it has {len(fields)}",
    )
    if len(fields) == 5:
        fields = ["0"] + fields
    for index, field in enumerate(fields):
        for part in field.split(","):
            _check_cron_part(index, field, part)
    return " ".join(fields)
