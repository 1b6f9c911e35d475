"""The loss registry."""

from __future__ import annotations

from semspace.registry import Registry

LOSSES: Registry = Registry("loss")
