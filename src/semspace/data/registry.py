"""The dataset registry: real-benchmark loaders, user-data readers and the world's datasets register here by name.

Each provider module registers its datasets with ``@DATASETS.register(name)``; the registry finds them itself
(``Registry(discover=...)``): the first lookup or listing imports every module below ``semspace.data.datasets``,
the built-in provider, then every module named by an entry point of the group ``semspace.datasets``
(``registry.provider_modules``). The providers above ``data`` (the world, ``models.frozen_features``) are declared
there, in ``pyproject.toml``, so ``data`` names no package above it, and a user's own package registers its
datasets the same way::

    [project.entry-points."semspace.datasets"]
    my_data = "my_package.datasets"
"""

from __future__ import annotations

from semspace.registry import Registry

ENTRY_POINT_GROUP = "semspace.datasets"  # dataset providers beyond the built-in loaders
DATASETS: Registry = Registry("dataset", discover=("semspace.data.datasets",), entry_points=ENTRY_POINT_GROUP)
