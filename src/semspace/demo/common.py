"""What the demo's sections share: stacking grids, loading the configs shipped in the package."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from semspace.config import RunCfg, load_run_cfg


def stack(pictures: list[Any]) -> Any:
    """``pictures`` one under the other on white (the sections' grids of several queries)."""
    from PIL import Image

    sheet = Image.new("RGB", (max(p.width for p in pictures), sum(p.height for p in pictures)), (255, 255, 255))
    y = 0
    for p in pictures:
        sheet.paste(p, (0, y))
        y += p.height
    return sheet


def shipped_run_cfg(rel: str, overrides: list[str] | None = None) -> RunCfg:
    """``load_run_cfg`` of a config shipped in the package (``rel``: ``configs/<method>/<name>.yaml``, package data of
    ``semspace``; a checkout's top-level ``configs/`` links to the same files), wherever the working directory is."""
    with resources.as_file(shipped_file(rel)) as path:
        return load_run_cfg(path, overrides)


def shipped_file(rel: str) -> Traversable:
    """The package's file ``rel`` (``configs/...``); a file missing from the installed package raises
    ``FileNotFoundError``."""
    ref = resources.files("semspace")
    for part in rel.split("/"):
        ref = ref / part
    if not ref.is_file():
        raise FileNotFoundError(f"{rel} is not in the installed semspace package; reinstall it")
    return ref
