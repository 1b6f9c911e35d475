"""Data family: datasets by name (world kinds and real loaders alike), transforms, tokenizer, collate.

``create_dataset("world_scenes", split="train", n=1000)`` builds any registered dataset; the registry is
filled by importing the world kinds and the loaders in ``data/datasets/`` (done lazily here).
"""

from __future__ import annotations

import importlib
from typing import Any

from semspace.data.preprocess import PreprocessCfg as PreprocessCfg
from semspace.data.registry import DATASETS as DATASETS

_PROVIDERS = (
    "semspace.world.scenes.dataset",
    "semspace.world.objects.dataset",
    "semspace.world.pairs.dataset",
    "semspace.data.datasets",
)


def _load_providers() -> None:
    for mod in _PROVIDERS:
        importlib.import_module(mod)


def create_dataset(name: str, /, **kwargs: Any) -> Any:
    """Builds a registered dataset by name (``world_scenes``, ``folder``, ``features``, ...).

    Example:
        >>> ds = create_dataset("world_scenes", split="test", n=100, view="render3d")
    """
    _load_providers()
    return DATASETS.create(name, **kwargs)


def list_datasets(pattern: str = "*") -> list[str]:
    """Names of the registered datasets matching ``pattern``."""
    _load_providers()
    return DATASETS.list(pattern)


__all__ = ["DATASETS", "PreprocessCfg", "create_dataset", "list_datasets"]
