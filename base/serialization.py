"""Configs cross process boundaries (TFX exec properties, the Trainer's custom_config,
Kubeflow) as plain JSON dictionaries: ``to_dict`` / ``from_dict`` round-trip them exactly,
and rebuilding re-validates every value."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Mapping, Type, TypeVar

from robustfx.base.validation import require

T = TypeVar("T")


def to_dict(config: Any) -> Any:
    """A JSON-ready dictionary of a config dataclass (tuples become lists)."""
    return dataclasses.asdict(config)


def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
    """Rebuilds (and so re-validates) a config dataclass from ``to_dict`` output."""
    require(isinstance(data, Mapping), f"{cls.__name__} must be a mapping, got {data!r}")
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    require(not unknown, f"{cls.__name__} has no field(s) {', '.join(unknown)}")
    hints = typing.get_type_hints(cls)
    return cls(**{name: _decode(hints[name], value) for name, value in data.items()})


def _decode(annotation: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(annotation):
        return from_dict(annotation, value)
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple and args and dataclasses.is_dataclass(args[0]):
        return tuple(from_dict(args[0], item) for item in value)
    return value
