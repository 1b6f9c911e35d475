"""The dataset registry: real-benchmark loaders, user-data readers and the world's datasets register here by name.

Each provider module registers its datasets with ``@DATASETS.register(name)``; the registry finds them itself
(``Registry(discover=...)``): the first lookup or listing imports every module below ``semspace.data.datasets``,
the built-in provider, then every module named by an entry point of the group ``semspace.datasets``
(``registry.provider_modules``). The providers above ``data`` (the world, ``models.frozen_features``) are declared
there, in ``pyproject.toml``, so ``data`` names no package above it, and a user's own package registers its
datasets the same way::

    [project.entry-points."semspace.datasets"]
    my_data = "my_package.datasets"

Folds and subsets (``fold=k/K``, ``fold_part``, ``fold_seed``, ``n``, ``n_seed``: ``data.subset``) are taken here,
for every dataset alike: ``DATASETS.create`` builds the dataset from its own arguments and keeps the view the
subset arguments ask for, and ``DATASETS.check_args`` accepts and checks them beside the dataset's own.
"""

from __future__ import annotations

from typing import Any

from semspace.data.subset import apply_subset, split_subset_args
from semspace.registry import Registry

ENTRY_POINT_GROUP = "semspace.datasets"  # dataset providers beyond the built-in loaders


class DatasetRegistry(Registry[Any]):
    """``Registry`` whose ``create`` and ``check_args`` also take the subset arguments of ``data.subset``."""

    def create(self, name_or_obj: str | Any, /, **kwargs: Any) -> Any:
        if not isinstance(name_or_obj, str):
            return name_or_obj
        own, sub = split_subset_args(name_or_obj, self.get(name_or_obj), kwargs)
        return apply_subset(name_or_obj, super().create(name_or_obj, **own), sub)

    def check_args(self, name: str, kwargs: dict[str, Any], key: str = "") -> None:
        own, _ = split_subset_args(name, self.get(name), kwargs)
        super().check_args(name, own, key)


DATASETS: DatasetRegistry = DatasetRegistry(
    "dataset", discover=("semspace.data.datasets",), entry_points=ENTRY_POINT_GROUP
)
