"""The dataset registry: world kinds and real-benchmark loaders register here by name."""

from __future__ import annotations

from semspace.registry import Registry

DATASETS: Registry = Registry("dataset")
