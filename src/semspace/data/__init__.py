"""Data family: datasets by name (real loaders and the world's datasets alike), transforms, tokenizer, collate.

``create_dataset("world_scenes", split="train", n=1000)`` builds any registered dataset; the registry
(``data.registry.DATASETS``) imports its provider packages on the first lookup, so no module list is kept here.
"""

from __future__ import annotations

from typing import Any

from semspace.data.preprocess import PreprocessCfg as PreprocessCfg
from semspace.data.registry import DATASETS as DATASETS


def create_dataset(name: str, /, **kwargs: Any) -> Any:
    """Builds a registered dataset by name (``world_scenes``, ``folder``, ``features``, ...).

    Raises:
        KeyError: unknown ``name`` (the message lists the registered datasets).
        ConfigError: an argument the dataset does not accept, or an invalid value.

    Example:
        >>> ds = create_dataset("world_scenes", split="test", n=100, view="render3d")
    """
    return DATASETS.create(name, **kwargs)


def list_datasets(pattern: str = "*") -> list[str]:
    """Names of the registered datasets matching the shell-style ``pattern``."""
    return DATASETS.list(pattern)


__all__ = ["DATASETS", "PreprocessCfg", "create_dataset", "list_datasets"]
