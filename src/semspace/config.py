"""Run configuration: dataclass defaults, then a YAML file, then dotted ``key=value`` overrides (STYLE E.18).

A run config names registry entries (the task, its model presets, datasets); it holds no code. Unknown keys
are an error naming the full dotted path and the valid keys. The resolved config is written to
``run_dir/config.yaml`` by the engine so every run can be reproduced.

Example YAML::

    task: align
    task_args: {domain_a: blobs2d, domain_b: render3d, encoder: tiny_cnn, embed_dim: 64}
    data:
      train: {name: world_scenes, args: {split: train, n: 2000}}
    train: {max_steps: 500, batch_size: 32, lr: 1.0e-3}

Command-line values (``--set key=value`` and the ``key=value`` pairs of ``--data``) are read by one function,
``parse_value``, with one rule set:

* ``'...'`` or ``"..."``: the text inside the quotes, always a string (``'7'`` -> ``"7"``, ``"true"`` -> ``"true"``);
* ``true`` / ``false`` (any case) -> bool; ``none`` / ``null`` (any case) -> None;
* decimal integers (``200``, ``-3``, ``010`` -> 10) -> int; decimal floats (``0.5``, ``.5``, ``1e-3``,
  ``1.0E5``) -> float;
* everything else stays the string as written, in particular ``yes`` / ``no`` / ``on`` / ``off``, ``0x10``,
  ``1_000``, ``nan`` / ``inf`` and dates (YAML 1.1 would turn these into bools, ints, floats and dates);
* ``--set`` only: a value starting with ``[`` or ``{`` is a YAML flow list / mapping
  (``--set a=[1, 2]``, ``--set "init=[{checkpoint: runs/a/model.pt, module: mask_ae}]"``) whose unquoted
  items follow the rules above. (``--data`` splits its pairs on commas, so it has no lists.)

YAML files are read as standard YAML (write ``1.0e-3`` there: YAML 1.1 reads ``1e-3`` as a string).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from semspace.errors import ConfigError

C = TypeVar("C")


@dataclass
class TrainCfg:
    max_steps: int = 1000  # optimizer steps in total (the run stops here)
    batch_size: int = 32  # per-process batch size
    grad_accum: int = 1  # micro-batches per optimizer step
    optimizer: str = "adamw"  # adamw | adam | sgd
    lr: float = 1e-3  # peak learning rate
    momentum: float = 0.9  # SGD momentum (TIRG uses 0.9)
    betas: tuple[float, float] = (0.9, 0.999)  # Adam betas
    weight_decay: float = 1e-6  # decoupled (AdamW) or L2 (SGD) decay; never applied to norms and biases
    backbone_lr_mult: float = 1.0  # lr multiplier for parameter groups a task marks as "backbone" (TIRG: 0.1)
    scheduler: str = "cosine"  # cosine | step | constant | poly
    warmup_steps: int = 0  # linear warm-up steps
    step_every: int = 0  # "step" scheduler: multiply lr by step_gamma every this many steps
    step_gamma: float = 0.1  # "step" scheduler factor
    poly_power: float = 0.9  # "poly" scheduler: lr (1 - t)^poly_power (EGSC-IT's code)
    clip_grad: float = 0.0  # max global grad norm (0 = off)
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; fp16 uses a GradScaler)
    ema_decay: float = 0.0  # exponential moving average of the weights (0 = off)
    seed: int = 0  # run seed (offset by rank under DDP)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    num_workers: int = 0  # DataLoader workers
    threads: int = 0  # CPU threads while training and evaluating (0: the command's --threads); 1 is often faster
    #                   for small steps on busy cores (measured in docs/ssgn.md)
    log_every: int = 10  # steps between metrics.jsonl lines
    eval_every: int = 0  # steps between evaluations (0 = only at the end)
    ckpt_every: int = 100  # steps between last.pt saves
    compile: bool = False  # torch.compile the task (CPU needs a C compiler; where it pays: docs/engine.md "Speed")
    channels_last: bool | str = "auto"  # auto | true | false: NHWC modules and images (auto: where it measured faster)
    fused_optimizer: bool | str = "auto"  # auto | true | false: fused AdamW/Adam/SGD step (auto: where torch has one)


@dataclass
class DataSpec:
    name: str = ""  # registry name (world_scenes, folder, features, ...)
    args: dict[str, Any] = field(default_factory=dict)  # keyword arguments of that dataset
    cache: bool = False  # render/decode every item once and keep it in memory (world views: epochs are free)
    batch_size: int = 0  # per-process batch size of this stream (data.extra); 0 = train.batch_size


@dataclass
class DataCfg:
    train: DataSpec = field(default_factory=DataSpec)  # the training set
    val: DataSpec | None = None  # optional evaluation set used by eval_every
    # more training streams drawn in every step beside data.train; step batches carry each under its name
    # (batch["source"] = {...}); e.g. CHTN's labelled single-modal source set
    extra: dict[str, DataSpec] = field(default_factory=dict)


@dataclass
class InitSpec:
    """Initialises a submodule of the task from another run's checkpoint (and by default freezes it)."""

    checkpoint: str = ""  # path of the other run's checkpoint (model.pt or last.pt)
    module: str = ""  # dotted attribute path of the submodule in this task (e.g. mask_ae)
    source: str = ""  # prefix of its weights in the checkpoint's state_dict (default: the same as module)
    freeze: bool = True  # requires_grad off, kept in eval mode, left out of the optimizers


@dataclass
class RunCfg:
    task: str = ""  # registry name of the task (align, transfer, chtn, ssgn, egsc_it)
    task_args: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the task's own Cfg
    data: DataCfg = field(default_factory=DataCfg)  # datasets
    train: TrainCfg = field(default_factory=TrainCfg)  # optimisation and bookkeeping
    eval: dict[str, Any] = field(default_factory=dict)  # protocol arguments for `semspace eval`
    init: list[InitSpec] = field(default_factory=list)  # pretrained stages loaded before training (engine/stages.py)


def from_dict(cls: type[C], data: dict[str, Any] | None, path: str = "") -> C:
    """Builds dataclass ``cls`` from a mapping, recursing into nested dataclasses; unknown keys raise."""
    data = dict(data or {})
    if not isinstance(data, dict):
        raise ConfigError(f"config {path or '<root>'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    valid = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - valid)
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"unknown config key(s) {[where + k for k in unknown]}; valid keys: {sorted(valid)}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, f"{path}.{name}" if path else name)
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        for arm in arms[:-1]:  # the first arm that accepts the value wins
            try:
                return _coerce(arm, value, path)
            except ConfigError:
                continue
        tp = arms[-1]
        origin, args = typing.get_origin(tp), typing.get_args(tp)
    if is_dataclass(tp):
        return from_dict(tp, value, path)  # type: ignore[arg-type]
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if origin is tuple and isinstance(value, list | tuple):
        return tuple(value)
    if (origin is dict or tp is dict) and not isinstance(value, dict):
        raise ConfigError(f"config key {path!r}: expected a mapping, got {value!r}")
    if origin is list and args and _holds_dataclass(args[0]):  # list[InitSpec]: each item is validated
        if not isinstance(value, list | tuple):
            raise ConfigError(f"config key {path!r}: expected a list, got {value!r}")
        return [_coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict and len(args) == 2 and _holds_dataclass(args[1]):  # dict[str, DataSpec]
        return {k: _coerce(args[1], v, f"{path}.{k}") for k, v in value.items()}
    simple = {int: int, float: float, bool: bool, str: str}.get(tp)
    if simple is not None and not isinstance(value, simple):
        raise ConfigError(f"config key {path!r}: expected {simple.__name__}, got {value!r}")
    return value


def _holds_dataclass(tp: Any) -> bool:
    return is_dataclass(tp) or any(is_dataclass(a) for a in typing.get_args(tp))


def to_dict(cfg: Any) -> dict[str, Any]:
    """Dataclass -> plain dict (tuples become lists) suitable for YAML/JSON."""

    def conv(v: Any) -> Any:
        if is_dataclass(v) and not isinstance(v, type):
            return {f.name: conv(getattr(v, f.name)) for f in fields(v)}
        if isinstance(v, tuple | list):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    return conv(cfg)


_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def _scalar(s: str) -> Any:
    """One unquoted, stripped command-line scalar -> bool / None / int / float / str (module docstring)."""
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s)
    return s


class _FlowLoader(yaml.SafeLoader):
    """YAML for ``--set`` lists and mappings: every unquoted scalar goes through ``_scalar`` (no YAML 1.1 typing)."""


_FlowLoader.yaml_implicit_resolvers = {}  # drop YAML 1.1's bool/int/float/null/timestamp resolvers
_FlowLoader.add_implicit_resolver("tag:semspace,2024:plain", re.compile(r"(?s).*"), None)
_FlowLoader.add_constructor(
    "tag:semspace,2024:plain",
    lambda loader, node: _scalar(loader.construct_scalar(node).strip()),
)


def parse_value(raw: str, *, collections: bool = False) -> Any:
    """Parses one command-line value with the rules of the module docstring (shared by ``--set`` and ``--data``).

    Args:
        raw: the text after ``=``.
        collections: read a value starting with ``[`` or ``{`` as a YAML flow list / mapping (``--set``).

    Raises:
        ConfigError: ``collections`` is set and a ``[...]`` / ``{...}`` value is not valid YAML.

    Example:
        >>> [parse_value(v) for v in ("200", "1e-3", "true", "none", "yes", "0x10", "'7'")]
        [200, 0.001, True, None, 'yes', '0x10', '7']
    """
    s = raw.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        return s[1:-1]
    if collections and s[:1] in ("[", "{"):
        try:
            return yaml.load(s, Loader=_FlowLoader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            reason = " ".join(str(exc).split())
            raise ConfigError(f"value {s!r} is not a valid YAML list or mapping ({reason})") from None
    return _scalar(s)


def parse_override(item: str) -> tuple[list[str], Any]:
    """``"train.lr=1e-3"`` -> (["train", "lr"], 0.001); the value is read by ``parse_value`` (with lists)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key.sub=value (e.g. train.lr=1e-3)")
    key, raw = item.split("=", 1)
    try:
        value = parse_value(raw, collections=True)
    except ConfigError as exc:
        raise ConfigError(f"override {item!r}: {exc}") from None
    return [k for k in key.strip().split(".") if k], value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Applies dotted overrides to a nested dict (new keys are checked later by ``from_dict``)."""
    out = _deepcopy(data)
    for item in overrides:
        keys, value = parse_override(item)
        node = out
        for k in keys[:-1]:
            nxt = node.get(k)
            if nxt is None:
                nxt = node[k] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(f"override {item!r}: {k!r} is a value, not a section")
            node = nxt
        node[keys[-1]] = value
    return out


def _deepcopy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deepcopy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deepcopy(v) for v in d]
    return d


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a YAML mapping with a clear error naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {p}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p}: expected a mapping at the top level, got {type(data).__name__}")
    return data


@dataclass(frozen=True)
class ConfigSource:
    """Where a run config came from (its YAML file and ``--set`` overrides), to say where a wrong value was given.

    Example:
        >>> ConfigSource("run.yaml", ("train.lr=0",)).describe("train.lr")
        'train.lr (--set train.lr=0)'
    """

    path: str | None = None  # the YAML file, if any
    overrides: tuple[str, ...] = ()  # the dotted key=value overrides, in the order they were applied

    def describe(self, key: str) -> str:
        """``key`` and where its value came from: the last ``--set`` that wrote it (or a section holding it, or a
        key inside it), else the YAML file when the key is in it, else ``default``."""
        parts = _key_parts(key)
        for item in reversed(self.overrides):
            given = _key_parts(item.split("=", 1)[0])
            n = min(len(given), len(parts))
            if given[:n] == parts[:n]:
                return f"{key} (--set {item})"
        if self.path is not None:
            try:
                node: Any = load_yaml(self.path)
            except ConfigError:
                return f"{key} ({self.path})"
            for part in parts:
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                else:
                    return f"{key} (default; not set in {self.path})"
            return f"{key} (in {self.path})"
        return f"{key} (default)"


def _key_parts(key: str) -> list[str]:
    """``"init[0].checkpoint"`` -> ``["init", "0", "checkpoint"]``."""
    return [k for k in re.split(r"[.\[\]]+", key.strip()) if k]


PATH_KEYS = ("root", "path", "images", "labels", "checkpoint")  # dataset inputs and init checkpoints


def _resolve_one(value: Any, base: Path) -> Any:
    """``value`` against ``base`` when it is a relative path that exists there; else as written."""
    if isinstance(value, list):
        return [_resolve_one(v, base) for v in value]
    if not isinstance(value, str) or not value or "://" in value or Path(value).expanduser().is_absolute():
        return value
    there = base / value
    return str(there) if there.exists() else value


def _resolve_tree(node: Any, base: Path) -> Any:
    if isinstance(node, dict):
        return {k: _resolve_one(v, base) if k in PATH_KEYS else _resolve_tree(v, base) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_tree(v, base) for v in node]
    return node


def resolve_config_paths(data: dict[str, Any], base: str | Path) -> dict[str, Any]:
    """The YAML mapping ``data`` with its relative paths resolved against ``base`` (the config file's folder).

    Resolved: the ``init:`` stages' ``checkpoint`` and, anywhere under ``data:`` and ``eval:``, the values of
    ``PATH_KEYS`` (``root``, ``path``, ``images``, ``labels``; a list of paths item by item). A relative path is
    taken from the config's folder when it exists there, else kept as written (relative to the working
    directory: the project's configs name ``runs/...`` and ``data/...`` from the project root, and a checkpoint
    a first stage has not written yet). ``cache_dir`` and the ``--set`` overrides are never rewritten.
    """
    base = Path(base)
    out = dict(data)
    for section in ("data", "eval"):
        if section in out:
            out[section] = _resolve_tree(out[section], base)
    if isinstance(out.get("init"), list):
        out["init"] = [
            {**st, "checkpoint": _resolve_one(st.get("checkpoint"), base)} if isinstance(st, dict) else st
            for st in out["init"]
        ]
    return out


def load_run_cfg(path: str | Path | None = None, overrides: list[str] | None = None) -> RunCfg:
    """Defaults <- YAML file (relative paths resolved against its folder, ``resolve_config_paths``) <- dotted
    overrides, validated into a ``RunCfg``."""
    data = resolve_config_paths(load_yaml(path), Path(path).resolve().parent) if path is not None else {}
    data = apply_overrides(data, overrides or [])
    return from_dict(RunCfg, data)
