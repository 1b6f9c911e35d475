"""The dataset registry: real-benchmark loaders, user-data readers and the world's datasets register here by name.

Each provider module registers its datasets with ``@DATASETS.register(name)``; the registry finds them itself
(``Registry(discover=...)``): the first lookup or listing imports every module below the provider packages. The
world is named, not imported: ``data`` never imports it (the world builds on ``data``), so the dependency points
one way only.
"""

from __future__ import annotations

from semspace.registry import Registry

PROVIDERS: tuple[str, ...] = ("semspace.data.datasets", "semspace.world")  # packages whose modules register datasets
DATASETS: Registry = Registry("dataset", discover=PROVIDERS)
