"""Losses: small modules with a single ``forward``; ``create_loss(name, **kw)`` builds one by name.

Each loss module registers its class with ``@LOSSES.register(name)``; the imports below are the public API only.
"""

from __future__ import annotations

from typing import Any

from semspace.losses.batch_classification import BatchClassificationLoss as BatchClassificationLoss
from semspace.losses.contrastive import InfoNceLoss as InfoNceLoss
from semspace.losses.registry import LOSSES as LOSSES
from semspace.losses.triplet import SoftTripletLoss as SoftTripletLoss


def create_loss(name: str | Any, /, **kwargs: Any) -> Any:
    """Builds a registered loss by name (an ``nn.Module`` is returned as is)."""
    return LOSSES.create(name, **kwargs)


def list_losses(pattern: str = "*") -> list[str]:
    """Sorted names of the registered losses matching a shell-style ``pattern``."""
    return LOSSES.list(pattern)


__all__ = ["LOSSES", "BatchClassificationLoss", "InfoNceLoss", "SoftTripletLoss", "create_loss", "list_losses"]
