"""Evaluation protocols: thin runners that own a benchmark's quirks and call the pure metrics.

``create_protocol(name, **args)`` returns a callable ``protocol(task) -> {metric: value}``; metric keys
encode the direction (``blobs2d_to_render3d_R@1``). Each protocol module registers itself with
``@PROTOCOLS.register(name)`` and ``PROTOCOLS`` finds it on its first lookup; the imports below are the public API.
"""

from __future__ import annotations

from typing import Any

from semspace.eval.protocols.composed import ComposedRetrievalProtocol as ComposedRetrievalProtocol
from semspace.eval.protocols.paired import PairedRetrievalProtocol as PairedRetrievalProtocol
from semspace.eval.protocols.registry import PROTOCOLS as PROTOCOLS


def create_protocol(name: str, /, **kwargs: Any) -> Any:
    """Builds a registered evaluation protocol by name."""
    return PROTOCOLS.create(name, **kwargs)


__all__ = ["PROTOCOLS", "ComposedRetrievalProtocol", "PairedRetrievalProtocol", "create_protocol"]
