"""The dataset registry: real-benchmark loaders, user-data readers and the world's datasets register here by name.

Each provider module registers its datasets with ``@DATASETS.register(name)``; the registry finds them itself
(``Registry(discover=...)``): the first lookup or listing imports every module below the provider packages. The
world and ``models.frozen_features`` are named, not imported: ``data`` never imports them (they build on ``data``),
so the dependency points one way only.
"""

from __future__ import annotations

from semspace.registry import Registry

# packages (or modules) that register datasets; the world and models' frozen_features build on data, so they are
# named here, never imported by data
PROVIDERS: tuple[str, ...] = ("semspace.data.datasets", "semspace.world", "semspace.models.frozen_features")
DATASETS: Registry = Registry("dataset", discover=PROVIDERS)
