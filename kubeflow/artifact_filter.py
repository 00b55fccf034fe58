"""The artifact filters of KFP resolver tasks: parsed, their placeholders filled, evaluated.

TFX compiles a resolver node (e.g. ``LatestBlessedModelStrategy``) to ``resolver`` executors
whose ``outputArtifactQueries`` hold a filter string in ML Metadata's list-filter syntax:
``schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1``.
This module is pure: it parses such a string into clauses, fills the
``{{$.inputs.artifacts['NAME']...}}`` placeholders from the resolver task's inputs, and
evaluates the clauses on plain records of artifacts. A clause it does not support is an
error that names the clause, never silently true. The newest matching artifact wins.
"""

import dataclasses
import math
import re
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple

SUPPORTED = (
    'schema_title="T"',
    "state=LIVE",
    'name="N"',
    'uri="U"',
    'display_name="D"',
    "metadata.KEY.number_value=N",
    'metadata.KEY.string_value="S"',
    "metadata.KEY.bool_value=true|false",
    "joined by AND",
)
STATES = ("UNKNOWN", "PENDING", "LIVE", "MARKED_FOR_DELETION", "DELETED", "ABANDONED", "REFERENCE")
_STRING_FIELDS = ("schema_title", "name", "uri", "display_name")
_CLAUSE = re.compile(
    r'(?P<field>[A-Za-z_][\w.\-]*)\s*(?P<op>!=|<=|>=|=|<|>|:)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]+)'
)
_PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.([^}]*)\}\}")
_METADATA_KEY = re.compile(r"metadata\['([^']+)'\]")


class FilterError(ValueError):
    """A filter (or one of its clauses or placeholders) that this evaluator does not support."""


@dataclasses.dataclass(frozen=True)
class ArtifactRecord:
    """What a filter sees of one artifact in the store.

    Attributes:
      name: the artifact's runtime name, as KFP's driver gives it to tasks (its ML Metadata id).
      metadata: its properties and custom properties as JSON values.
      create_time: milliseconds since the epoch, as ML Metadata records it.
    """

    id: int
    schema_title: str
    state: str
    uri: str
    name: str
    metadata: Mapping[str, Any]
    create_time: int


@dataclasses.dataclass(frozen=True)
class Clause:
    """One ``FIELD=VALUE`` comparison; ``key`` is the metadata key of a metadata clause."""

    field: str
    value: Any
    text: str
    key: str = ""


def _split_and(text: str) -> List[str]:
    """The clauses between top-level ``AND`` keywords (never inside a quoted value)."""
    clauses, start, quoted, index = [], 0, False, 0
    while index < len(text):
        char = text[index]
        if char == "\\" and quoted:
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and re.match(r"\sAND\s", text[index : index + 5]):
            clauses.append(text[start:index])
            start = index + 5
            index += 5
            continue
        index += 1
    if quoted:
        raise FilterError(f"filter {text!r} has an unterminated string")
    return [clause.strip() for clause in clauses + [text[start:]]]


def _unquote(value: str, clause: str) -> str:
    if not (len(value) >= 2 and value[0] == value[-1] == '"'):
        raise FilterError(f"clause {clause!r} needs a quoted string value")
    return re.sub(r"\\(.)", r"\1", value[1:-1])


def _number(value: str, clause: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FilterError(f"clause {clause!r} needs a number") from None
    if not math.isfinite(number):
        raise FilterError(f"clause {clause!r} needs a finite number")
    return number


def _unsupported(clause: str, why: str) -> FilterError:
    return FilterError(f"unsupported clause {clause!r} ({why}); supported: {', '.join(SUPPORTED)}")


def _parse_clause(clause: str) -> Clause:
    match = _CLAUSE.fullmatch(clause)
    if match is None:
        raise _unsupported(clause, "not FIELD=VALUE")
    field, op, value = match.group("field"), match.group("op"), match.group("value")
    if op != "=":
        raise _unsupported(clause, f"operator {op!r}")
    if field in _STRING_FIELDS:
        return Clause(field, _unquote(value, clause), clause)
    if field == "state":
        if value not in STATES:
            raise _unsupported(clause, f"state {value!r} is not one of {', '.join(STATES)}")
        return Clause(field, value, clause)
    parts = field.split(".")
    if len(parts) >= 3 and parts[0] == "metadata":
        key, kind = ".".join(parts[1:-1]), parts[-1]
        if kind == "number_value":
            return Clause(kind, _number(value, clause), clause, key)
        if kind == "string_value":
            return Clause(kind, _unquote(value, clause), clause, key)
        if kind == "bool_value" and value in ("true", "false"):
            return Clause(kind, value == "true", clause, key)
    raise _unsupported(clause, f"field {field!r}")


def parse_filter(text: str) -> Tuple[Clause, ...]:
    """The clauses of a resolver filter; raises FilterError naming an unsupported clause."""
    if not text.strip():
        raise FilterError("the filter is empty")
    return tuple(_parse_clause(clause) for clause in _split_and(text))


def value_text(value: Any) -> str:
    """A metadata value as KFP writes it into a placeholder: numbers without an exponent or
    a trailing '.0', booleans lowercase."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def _placeholder_value(inputs: Mapping[str, Sequence[Mapping]], name: str, path: str, text: str):
    """The value a placeholder names, or None when its input resolved to nothing."""
    if name not in inputs:
        raise FilterError(f"placeholder {text!r} names input {name!r}, which the task lacks")
    if not inputs[name]:
        return None
    artifact = inputs[name][0]
    if path in ("uri", "name"):
        return artifact.get(path, "")
    match = _METADATA_KEY.fullmatch(path)
    if match is None:
        raise FilterError(f"placeholder {text!r} is not supported (only .uri, .name, .metadata)")
    metadata = artifact.get("metadata") or {}
    if match.group(1) not in metadata:
        raise FilterError(
            f"placeholder {text!r}: input {name!r} has no metadata {match.group(1)!r}"
        )
    return value_text(metadata[match.group(1)])


def fill_placeholders(
    clauses: Sequence[Clause], inputs: Mapping[str, Sequence[Mapping]]
) -> Optional[Tuple[Clause, ...]]:
    """The clauses with every input-artifact placeholder replaced by its value.

    Args:
      inputs: the resolver task's input artifacts, runtime-artifact dicts by input name.

    Returns:
      None when a placeholder's input resolved to no artifact: the query resolves nothing.
    """
    filled = []
    for clause in clauses:
        value = clause.value
        if isinstance(value, str):
            for match in _PLACEHOLDER.finditer(clause.value):
                replacement = _placeholder_value(inputs, match.group(1), match.group(2), match[0])
                if replacement is None:
                    return None
                value = value.replace(match[0], replacement)
            if "{{" in value:
                raise FilterError(f"clause {clause.text!r} holds a placeholder it cannot fill")
        filled.append(dataclasses.replace(clause, value=value))
    return tuple(filled)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_MATCHERS: Mapping[str, Callable[[Clause, ArtifactRecord], bool]] = {
    "schema_title": lambda c, r: r.schema_title == c.value,
    "state": lambda c, r: r.state == c.value,
    "name": lambda c, r: r.name == c.value,
    "uri": lambda c, r: r.uri == c.value,
    "display_name": lambda c, r: r.metadata.get("display_name") == c.value,
    "number_value": lambda c, r: (
        _is_number(r.metadata.get(c.key)) and float(r.metadata[c.key]) == c.value
    ),
    "string_value": lambda c, r: (
        isinstance(r.metadata.get(c.key), str) and r.metadata[c.key] == c.value
    ),
    "bool_value": lambda c, r: (
        isinstance(r.metadata.get(c.key), bool) and r.metadata[c.key] == c.value
    ),
}


def matches(clauses: Sequence[Clause], record: ArtifactRecord) -> bool:
    """Every clause holds for the record."""
    return all(_MATCHERS[clause.field](clause, record) for clause in clauses)


def newest_matching(
    clauses: Sequence[Clause], records: Sequence[ArtifactRecord]
) -> Optional[ArtifactRecord]:
    """The newest record (by create time, then id) for which every clause holds, if any."""
    found = [record for record in records if matches(clauses, record)]
    return max(found, key=lambda record: (record.create_time, record.id)) if found else None


def schema_title_of(clauses: Sequence[Clause]) -> Optional[str]:
    """The type a query is restricted to, if it names one (the store is read by type)."""
    titles = {clause.value for clause in clauses if clause.field == "schema_title"}
    return titles.pop() if len(titles) == 1 else None
