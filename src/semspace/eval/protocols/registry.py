"""The evaluation-protocol registry: each module of ``semspace.eval.protocols`` registers its protocols.

No protocol module is imported here: the first lookup or listing imports the package (``Registry(discover=...)``),
so a protocol module registers itself with ``@PROTOCOLS.register(name)`` and no list is edited.
"""

from __future__ import annotations

from semspace.registry import Registry

PROTOCOLS: Registry = Registry("protocol", discover=("semspace.eval.protocols",))
