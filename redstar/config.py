"""Typed configs: dataclasses are the schema, YAML holds the values, ``key=value`` overrides.

    cfg = load_config(SFTConfig, "configs/sft_tiny_cpu.yaml", ["train.lr=3e-6", "data.max_len=4096"])

Unknown keys are an error that names the key and where it came from (the YAML file or the
command line); values are checked against the field types, a ``Literal`` against its choices,
and a dataclass's ``__post_init__`` checks (ranges, keys that contradict each other) run as the
config is built, so a bad config fails before any model loads. Each field documents itself in
``field(metadata={"help": ...})``: ``describe_config`` lists every key for ``--help`` and
``annotated_yaml`` is what ``--print-config`` prints. ``save_config`` writes the resolved config
next to a checkpoint so later stages can inherit from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value or key is wrong; the message names the key and its source."""


@dataclasses.dataclass(kw_only=True)
class DataConfigBase:
    """The ``data:`` keys every training recipe shares (SFT, DPO, reward model, vision-language);
    a recipe's own data config adds its keys and may restate ``max_len`` with its default."""

    max_len: int = dataclasses.field(default=4096, metadata={"help": "tokens per sample; longer samples are dropped"})
    skip_bad: bool = dataclasses.field(
        default=False, metadata={"help": "skip malformed rows (counted) instead of failing"}
    )


@dataclasses.dataclass(kw_only=True)
class RowFilesConfig(DataConfigBase):
    """``data:`` of the recipes that read chat rows from files (SFT, DPO, vision-language)."""

    train: list[str] = dataclasses.field(
        default_factory=list, metadata={"help": "row files: JSONL / JSON / Parquet files, directories, or hub ids"}
    )
    max_rows: int = dataclasses.field(default=0, metadata={"help": "rows read at most, over all files (0: all)"})
    system_prompt: str = dataclasses.field(default="", metadata={"help": "inserted when a row has no system turn"})


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str, source: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert where lossless (int -> float)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key, source)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{source}: '{key}' = {value!r} does not match {_type_name(tp)}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{source}: '{key}' = {value!r} must be one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{key}' must be a mapping, got {value!r}")
        return _build(tp, value, source, prefix=key + ".")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: '{key}' must be a list, got {value!r}")
        inner = args[0] if args else Any
        out = [_coerce(v, inner, f"{key}[{i}]", source) for i, v in enumerate(value)]
        return out if origin is list else tuple(out)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{key}' must be a mapping, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {k: _coerce(v, vt, f"{key}.{k}", source) for k, v in value.items()}
    if tp is float:
        if isinstance(value, str):
            # YAML 1.1 reads '3e-6' (no dot) as a string; accept it as the number it means.
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: '{key}' must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: '{key}' must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: '{key}' must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{source}: '{key}' must be a string, got {value!r}")
        return str(value)
    return value


def _build(cls: type[T], data: dict, source: str, prefix: str = "") -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ConfigError(
            f"{source}: unknown key '{prefix}{unknown[0]}' for {cls.__name__} (known: {', '.join(sorted(fields))})"
        )
    kwargs = {k: _coerce(v, hints[k], prefix + k, source) for k, v in data.items()}
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
    ]
    if missing:
        raise ConfigError(f"{source}: missing required key '{prefix}{missing[0]}'")
    try:  # __post_init__ cross-field checks raise ConfigError without knowing the source
        return cls(**kwargs)
    except ConfigError as e:
        raise ConfigError(f"{source}: {prefix.rstrip('.') + ': ' if prefix else ''}{e}") from None


def from_dict(cls: type[T], data: dict, source: str = "<dict>") -> T:
    """Build a config dataclass from a plain mapping, checking keys and types."""
    return _build(cls, dict(data or {}), source)


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def read_yaml(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value parsed as YAML, so 3e-6 is a float)."""
    if "=" not in text:
        raise ConfigError(f"command line: override {text!r} must look like key=value")
    key, raw = text.split("=", 1)
    key = key.strip().lstrip("-")
    if not key:
        raise ConfigError(f"command line: override {text!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def _child_schema(hint: Any) -> Any:
    """The dataclass inside an annotation (``X``, ``X | None``, ``list[X]``), else Any."""
    for arg in (hint, *typing.get_args(hint)):
        if dataclasses.is_dataclass(arg):
            return arg
        if typing.get_origin(arg) in (list, tuple):
            inner = typing.get_args(arg)
            if inner and dataclasses.is_dataclass(inner[0]):
                return list[inner[0]]
    return Any


def apply_overrides(cls: type, data: dict, overrides: list[str]) -> dict:
    """Apply ``key=value`` strings to a raw mapping; keys must exist in the schema ``cls``.

    A path part that is a number indexes a list (``sampling.teachers.0.n=16``).
    """
    import copy

    data = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        node, schema = data, cls
        for i, part in enumerate(path):
            where = ".".join(path[: i + 1])
            if typing.get_origin(schema) is list:  # indexing a list of dataclasses
                if not part.isdigit() or not isinstance(node, list) or int(part) >= len(node):
                    size = len(node) if isinstance(node, list) else 0
                    raise ConfigError(f"command line: '{where}': index out of range (the list has {size} items)")
                key, schema = int(part), typing.get_args(schema)[0]
            else:
                names = {f.name for f in dataclasses.fields(schema)} if dataclasses.is_dataclass(schema) else None
                if names is not None and part not in names:
                    raise ConfigError(
                        f"command line: unknown key '{where}' for {schema.__name__} (known: {', '.join(sorted(names))})"
                    )
                key = part
                schema = _child_schema(typing.get_type_hints(schema)[part]) if names is not None else Any
            if i == len(path) - 1:
                node[key] = value
                break
            child = node[key] if isinstance(node, list) else node.get(key)
            if isinstance(node, dict) and not isinstance(child, (dict, list)):
                child = {}
                node[key] = child
            node = child
    return data


# schema named on a config's first line -> (what it is, the command that runs it)
SCHEMA_COMMANDS = {
    "redstar.train.sft:SFTConfig": ("an SFT config", "redstar sft"),
    "redstar.train.dpo:DPOConfig": ("a DPO config", "redstar dpo"),
    "geo.sft:VLSFTConfig": ("a vision-language SFT config", "redstar sft"),
    "geo.dpo:VLDPOConfig": ("a vision-language DPO config", "redstar dpo"),
    "redstar.rm.train:RMTrainConfig": ("a reward-model config", "redstar rm train"),
    "data_recipes.recipe:Recipe": ("a curation recipe", "redstar curate"),
    "redstar.rl.launch:RLLaunchConfig": ("an OpenRLHF launch config", "redstar rl launch"),
    "redstar.sweep.config:SweepConfig": ("a sweep config", "redstar sweep"),
}


def config_schema(path: str | os.PathLike) -> str | None:
    """The schema a config names on its first line (``# schema: module:Class``), or None."""
    import re

    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    m = re.match(r"\s*#\s*schema:\s*([\w.]+:\w+)", first)
    return m.group(1) if m else None


def check_schema(cls: type, path: str | os.PathLike) -> None:
    """A config whose first line names another schema (``# schema: module:Class``) was given
    to the wrong command: say which command runs it."""
    named = config_schema(path)
    want = f"{cls.__module__}:{cls.__qualname__}"
    if not named or named == want:
        return
    what, command = SCHEMA_COMMANDS.get(named, (f"a {named} config", None))
    hint = f": run `{command} {path}`" if command else ""
    raise ConfigError(f"{path}: this is {what}, not {SCHEMA_COMMANDS.get(want, ('a ' + want,))[0]}{hint}")


def load_config(cls: type[T], path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> T:
    """Load ``path`` (YAML) into dataclass ``cls`` and apply ``key=value`` overrides."""
    data = read_yaml(path) if path else {}
    if path:
        check_schema(cls, path)
    source = str(path) if path else "<defaults>"
    # Validate the file alone first so an unknown key names the file, not the command line.
    _build(cls, data, source)
    data = apply_overrides(cls, data, list(overrides or []))
    return _build(cls, data, source if not overrides else f"{source} + command line")


def save_config(cfg: Any, path: str | os.PathLike) -> None:
    from redstar.dataio import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))


# ----------------------------------------------------------------------------- commands


def field_help(f: dataclasses.Field) -> str:
    """A config field's documentation: ``field(metadata={"help": ...})``."""
    return str(f.metadata.get("help", "")).strip()


def _schema_type(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is not None:  # list[SourceSpec], str | None: drop module paths
        import re

        return re.sub(r"\b(?:[A-Za-z_]\w*\.)+(\w+)", r"\1", str(hint)).replace("NoneType", "None")
    return _type_name(hint).replace("NoneType", "None")


def config_keys(cls: type, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """``(key, type, default, help)`` for every key of ``cls``, nested dataclasses flattened to
    dotted keys (``train.lr``); a list of dataclasses is listed as ``stages.N.*``."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = dataclasses.MISSING
        child = _child_schema(hints[f.name])
        if typing.get_origin(child) is list:
            out.append((key, _schema_type(hints[f.name]), default, field_help(f)))
            out += config_keys(typing.get_args(child)[0], key + ".N.")
        elif dataclasses.is_dataclass(child):
            tp = child.__name__ if hints[f.name] is child else _schema_type(hints[f.name])  # X | None
            out.append((key, tp, None if default is None else ..., field_help(f)))
            out += config_keys(child, key + ".")
        else:
            out.append((key, _schema_type(hints[f.name]), default, field_help(f)))
    return out


def describe_config(cls: type) -> str:
    """Every key of a config schema with its type, default and help: the ``--help`` listing."""
    lines = [f"config keys ({cls.__module__}:{cls.__name__}; set in the YAML or as key=value):"]
    for key, tp, default, text in config_keys(cls):
        if default is dataclasses.MISSING:
            where = f"{tp}, required"
        elif default is ...:
            where = tp
        else:
            where = f"{tp} = {_flow(default)}"
        lines.append(f"  {key} ({where})" + (f": {text}" if text else ""))
    return "\n".join(lines)


def _flow(value: Any) -> str:
    """One value as inline YAML: 3e-06, [a, b], 'x: y', null."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return to_dict(v)
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return {k: plain(x) for k, x in v.items()} if isinstance(v, dict) else v

    text = yaml.safe_dump([plain(value)], default_flow_style=True, width=float("inf"), sort_keys=False).strip()
    return text[1:-1]


def annotated_yaml(cfg: Any, indent: int = 0) -> str:
    """The config as YAML that loads back to the same config, each key followed by its help as
    a comment (what ``--print-config`` shows)."""
    lines: list[str] = []
    pad = " " * indent
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        note = f"  # {field_help(f)}" if field_help(f) else ""
        if dataclasses.is_dataclass(value):
            lines.append(f"{pad}{f.name}:{note}")
            lines.append(annotated_yaml(value, indent + 2))
        elif isinstance(value, list) and value and all(dataclasses.is_dataclass(v) for v in value):
            lines.append(f"{pad}{f.name}:{note}")
            for item in value:
                block = annotated_yaml(item, indent + 4).splitlines()
                block[0] = f"{pad}  - " + block[0].lstrip()
                lines += block
        else:
            lines.append(f"{pad}{f.name}: {_flow(value)}{note}")
    return "\n".join(lines)


def add_config_arguments(parser, schema: str, example: str) -> None:
    """The arguments every config-driven command takes: CONFIG.yaml, key=value overrides and
    --print-config. ``schema`` names the dataclass ('module:Class'); its keys, with their
    help, are listed at the end of ``--help``."""
    import importlib

    parser.add_argument("config", help=f"YAML config (schema {schema})")
    parser.add_argument("overrides", nargs="*", help=f"key=value overrides, e.g. {example}")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config, each key with its help, and exit"
    )
    module, _, name = schema.partition(":")
    listing = describe_config(getattr(importlib.import_module(module), name))
    parser.epilog = (parser.epilog + "\n\n" if parser.epilog else "") + listing
    if parser.formatter_class is argparse.HelpFormatter:  # keep the listing's line breaks
        parser.formatter_class = argparse.RawDescriptionHelpFormatter


def config_from_args(cls: type[T], args) -> T | None:
    """Load the config the arguments name; print it and return None for --print-config, and
    echo the overrides so logs show what differs from the file."""
    cfg = load_config(cls, args.config, args.overrides)
    if args.print_config:
        print(f"# schema: {cls.__module__}:{cls.__name__}")
        print(annotated_yaml(cfg))
        return None
    if args.overrides:
        print("overrides: " + " ".join(args.overrides))
    return cfg
