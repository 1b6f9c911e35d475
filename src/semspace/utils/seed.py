"""Seeding. Library code never touches global RNG state except through this entry-point helper."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int, rank: int = 0) -> int:
    """Seeds python, numpy and torch with ``seed + rank`` (ranks get different streams); returns it."""
    s = int(seed) + int(rank)
    random.seed(s)
    np.random.seed(s % (2**32))
    torch.manual_seed(s)
    return s


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """A numpy Generator that is a pure function of ``(seed, *keys)`` (used by ``__getitem__``)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *[int(k) for k in keys]]))
