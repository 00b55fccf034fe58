"""Command-line flags generated from the config dataclasses, and the configs built back.

Every flag comes from a config field declared with ``base.settings.setting``: its name, help,
choices and default live there, once. ``add_config_flags`` declares them on a parser (one
argument group per config class); ``config_from_args`` builds the validated config from the
parsed flags, taking every flag that was not given from the defaults it was declared with.
"""

import argparse
import dataclasses
import os
import typing
from typing import Any, Collection, Dict, Optional, Sequence, Tuple

from robustfx.base import settings as S
from robustfx.base.validation import ConfigError


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written; each flag's help already states its default."""


def _dest(path: str) -> str:
    return path.replace(".", "__")


def _flagged_fields(cls: type, prefix: str = "") -> Sequence[Tuple[str, dataclasses.Field, type]]:
    """(path, field, owner class) of every field with a flag, nested configs expanded."""
    found = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        path = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(hints[field.name]):
            found += _flagged_fields(hints[field.name], path + ".")
        elif field.metadata.get(S.FLAG):
            found.append((path, field, cls))
    return found


def _value_at(config: Any, path: str) -> Any:
    for part in path.split("."):
        config = getattr(config, part)
    return config


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items()
        )
    if isinstance(value, (tuple, list)):
        return ",".join(getattr(item, "name", str(item)) for item in value)
    return str(value)


def _help(field: dataclasses.Field, default: Any) -> str:
    text = field.metadata[S.HELP]
    if field.metadata.get(S.ENV):
        text += f" (${field.metadata[S.ENV]} if set)"
    if field.metadata.get(S.DERIVED) or "(default:" in text or default in (None, "", (), {}):
        return text
    if isinstance(default, bool):
        return text
    return f"{text} (default: {_shown(default)})"


class _FieldDefaults:
    """The declared defaults of a config class, for classes that cannot be built without
    values (e.g. a required host)."""

    def __init__(self, cls: type):
        self._fields = {field.name: field for field in dataclasses.fields(cls)}
        self._hints = typing.get_type_hints(cls)

    def __getattr__(self, name: str) -> Any:
        field = self._fields[name]
        if field.default_factory is not dataclasses.MISSING:
            return field.default_factory()
        if dataclasses.is_dataclass(self._hints[name]):
            return _FieldDefaults(self._hints[name])
        return field.default


def _defaults_of(config_or_class: Any) -> Any:
    return _FieldDefaults(config_or_class) if isinstance(config_or_class, type) else config_or_class


def add_config_flags(
    parser: argparse.ArgumentParser, defaults: Any, skip: Collection[str] = ()
) -> None:
    """Declares a flag for every flagged field of ``defaults``: a config instance, or a config
    class whose declared defaults are shown."""
    cls = defaults if isinstance(defaults, type) else type(defaults)
    defaults = _defaults_of(defaults)
    groups: Dict[type, Any] = {}
    assigned: Dict[str, list] = {}
    for path, field, owner in _flagged_fields(cls):
        if path in skip:
            continue
        group = groups.setdefault(
            owner, parser.add_argument_group(getattr(owner, "CLI_GROUP", owner.__name__))
        )
        flag, default = field.metadata[S.FLAG], _value_at(defaults, path)
        if field.metadata.get(S.ASSIGN):
            assigned.setdefault(flag, []).append((group, field, default))
            continue
        metavar = field.metadata.get(S.METAVAR) or field.name.upper()
        kwargs = dict(dest=_dest(path), default=None, metavar=metavar)
        if isinstance(default, bool):
            off = field.metadata.get(S.OFF_FLAG) or "--no-" + flag[2:]
            _add_switch(group, (flag, off), kwargs["dest"], default, _help(field, default))
            continue
        if field.metadata.get(S.CHOICES):
            kwargs["choices"] = field.metadata[S.CHOICES]
        if field.metadata.get(S.REPEAT):
            kwargs["action"] = "append"
        group.add_argument(flag, help=_help(field, default), **kwargs)
    for flag, fields in assigned.items():
        shown = {}
        for _, field, default in fields:
            key = field.metadata[S.ASSIGN]
            shown.update(default if key == "*" else {key: default})
        text = " ".join(field.metadata[S.HELP] for _, field, _ in fields)
        fields[0][0].add_argument(
            flag,
            dest=_dest(flag[2:]),
            action="append",
            default=None,
            metavar="NAME=VALUE",
            help=f"{text} Repeatable (default: {_shown(shown)}).",
        )


def _add_switch(group: Any, flags: Tuple[str, str], dest: str, default: bool, text: str) -> None:
    """The on and off flags (``--x``, ``--no-x``) into one destination; the help documents the
    one that changes the default."""
    for name, value in zip(flags, (True, False), strict=True):
        shown = text if value != default else argparse.SUPPRESS
        group.add_argument(
            name, dest=dest, action="store_const", const=value, default=None, help=shown
        )


def parse_key_values(items: Sequence[str], flag: str, convert=str, form: str = "KEY=VALUE") -> dict:
    """``['a=1', 'b=2']`` -> ``{'a': convert('1'), 'b': convert('2')}``.

    Raises:
      ConfigError: an item lacks '=' or a key, or its value does not convert.
    """
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            converted = convert(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {item!r} is not {form}")
        pairs[key.strip()] = converted
    return pairs


def _parse(field: dataclasses.Field, default: Any, text: str) -> Any:
    parse = field.metadata.get(S.PARSE) or (type(default) if default is not None else str)
    try:
        return parse(text)
    except ConfigError:
        raise
    except ValueError as error:
        raise ConfigError(f"{field.metadata[S.FLAG]} {text!r} is invalid: {error}") from None


def _given(field: dataclasses.Field, default: Any, raw: Any) -> Any:
    if raw is None:
        env = field.metadata.get(S.ENV)
        if env and os.environ.get(env):
            return os.environ[env]
        return default
    if isinstance(raw, bool):
        return raw
    if not field.metadata.get(S.REPEAT):
        return _parse(field, default, raw)
    if isinstance(default, dict):
        return parse_key_values(raw, field.metadata[S.FLAG])
    return tuple(_parse(field, None, item) for item in raw)


def config_from_args(
    cls: type, args: argparse.Namespace, defaults: Any = None, skip: Collection[str] = ()
) -> Any:
    """The validated ``cls`` instance the parsed flags describe; every flag not given keeps
    its value in ``defaults`` (default: the declared defaults), derived fields their
    derivation."""
    return _build(cls, args, _defaults_of(defaults or cls), "", set(skip))


def _build(cls: type, args: argparse.Namespace, defaults: Any, prefix: str, skip: set) -> Any:
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        path, default = f"{prefix}{field.name}", getattr(defaults, field.name)
        if dataclasses.is_dataclass(hints[field.name]):
            values[field.name] = _build(hints[field.name], args, default, path + ".", skip)
            continue
        flag = field.metadata.get(S.FLAG)
        if not flag or path in skip:
            values[field.name] = default
        elif field.metadata.get(S.ASSIGN):
            raw = getattr(args, _dest(flag[2:]), None)
            values[field.name] = _assigned(cls, field, default, raw)
        else:
            if field.metadata.get(S.DERIVED):
                default = field.default
            values[field.name] = _given(field, default, getattr(args, _dest(path), None))
    return cls(**values)


def _assigned(cls: type, field: dataclasses.Field, default: Any, raw: Optional[list]) -> Any:
    """The value of one field of a shared KEY=VALUE flag such as ``--threshold``: the item
    whose key it is named by, or, for the '*' field, every item no other field is named by,
    merged over the defaults."""
    flag, key = field.metadata[S.FLAG], field.metadata[S.ASSIGN]
    pairs = parse_key_values(raw or [], flag, float, "NAME=VALUE, e.g. clean=0.95")
    if key != "*":
        return pairs.get(key, default)
    named = {
        other.metadata[S.ASSIGN]
        for other in dataclasses.fields(cls)
        if other.metadata.get(S.FLAG) == flag and other.metadata.get(S.ASSIGN) != "*"
    }
    return {**default, **{k: v for k, v in pairs.items() if k not in named}}
