"""Named architecture presets -> encoders (timm's ``create_model``; open_clip's JSON model configs, STYLE B.6).

A preset is ``models/configs/<name>.json`` = ``{"architecture": "<ENCODERS name>", "cfg": {...}}``, where
``cfg`` holds the fields of that architecture's cfg dataclass (image encoders keep their ``PreprocessCfg`` in
``cfg.preprocess``). ``create_model`` takes a preset name, such a dict, or a path to such a JSON file, and
keyword overrides of ``cfg`` fields (a dict override merges into a dict field: ``preprocess={"size": 64}``).
"""

from __future__ import annotations

import copy
import fnmatch
import json
from pathlib import Path
from typing import Any

from semspace.errors import ConfigError
from semspace.models.encoders.base import BaseEncoder, resolve_cfg
from semspace.models.registry import ENCODERS
from semspace.registry import UnknownNameError

CONFIG_DIR = Path(__file__).parent / "configs"
_USER_PRESETS: dict[str, Path] = {}  # added with add_model_config (this process only)
_SPEC_KEYS = {"architecture", "cfg", "description"}


def _presets() -> dict[str, Path]:
    return {**{p.stem: p for p in sorted(CONFIG_DIR.glob("*.json"))}, **_USER_PRESETS}


def _read_spec(path: Path) -> dict[str, Any]:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"model config {path}: cannot read it as JSON ({exc})") from None
    return _check_spec(spec, str(path))


def _check_spec(spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, dict) or not isinstance(spec.get("architecture"), str):
        raise ConfigError(f"model config {where}: expected {{'architecture': <name>, 'cfg': {{...}}}}, got {spec!r}")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ConfigError(f"model config {where}: unknown key(s) {unknown}; valid keys: {sorted(_SPEC_KEYS)}")
    if not ENCODERS.is_registered(spec["architecture"]):
        raise ConfigError(
            f"model config {where}: unknown architecture {spec['architecture']!r}; available: {ENCODERS.list()}"
        )
    if not isinstance(spec.get("cfg", {}), dict):
        raise ConfigError(f"model config {where}: 'cfg' must be a mapping, got {spec['cfg']!r}")
    return {"architecture": spec["architecture"], "cfg": copy.deepcopy(spec.get("cfg", {}))}


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the presets (shipped and added) matching a shell-style ``pattern``."""
    return sorted(n for n in _presets() if fnmatch.fnmatch(n, pattern))


def get_model_cfg(name: str) -> dict[str, Any]:
    """A copy of preset ``name`` as ``{"architecture", "cfg"}``; an unknown name raises ``ConfigError``."""
    presets = _presets()
    if name not in presets:
        raise UnknownNameError("model preset", name, sorted(presets))
    return _read_spec(presets[name])


def add_model_config(path: str | Path) -> list[str]:
    """Adds a preset JSON file (or every ``*.json`` of a folder) under its file stem; returns the names added.

    Each file is validated first (architecture registered, every cfg key known); a name already taken by
    another file raises ``ConfigError``. The presets last for this process.
    """
    p = Path(path)
    files = sorted(p.glob("*.json")) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise ConfigError(f"model config {p}: no such JSON file (or no *.json in that folder)")
    presets = _presets()
    for f in files:
        spec = _read_spec(f)
        resolve_cfg(ENCODERS.get(spec["architecture"]).cfg_class, spec["cfg"], where=str(f))
        if f.stem in presets and presets[f.stem].resolve() != f.resolve():
            raise ConfigError(f"model config {f}: a preset named {f.stem!r} already exists ({presets[f.stem]})")
    _USER_PRESETS.update({f.stem: f for f in files})
    return [f.stem for f in files]


def create_model(name_or_cfg: str | Path | dict[str, Any], **overrides: Any) -> BaseEncoder:
    """Builds an encoder from a preset name, a ``{"architecture", "cfg"}`` dict or a JSON file path.

    Args:
        name_or_cfg: what to build.
        **overrides: cfg fields replacing the preset's (unknown keys raise ``ConfigError`` naming the valid ones).

    Example:
        >>> enc = create_model("tiny_cnn", embed_dim=16)
        >>> enc.encode(torch.randn(2, 3, 32, 32), normalize=True).shape
        torch.Size([2, 16])
    """
    if isinstance(name_or_cfg, dict):
        spec = _check_spec(name_or_cfg, "<dict>")
    elif isinstance(name_or_cfg, Path) or str(name_or_cfg).endswith(".json"):
        spec = _read_spec(Path(name_or_cfg))
    else:
        spec = get_model_cfg(str(name_or_cfg))
    return ENCODERS.get(spec["architecture"])(spec["cfg"], **overrides)
