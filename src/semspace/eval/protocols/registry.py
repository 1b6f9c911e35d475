"""The evaluation-protocol registry."""

from semspace.registry import Registry

PROTOCOLS: Registry = Registry("protocol")
