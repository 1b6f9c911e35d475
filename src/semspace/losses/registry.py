"""The loss registry: every module of ``semspace.losses`` registers its losses with ``@LOSSES.register(name)``.

The registry imports no loss module itself: the first lookup or listing imports the whole package
(``Registry(discover=...)``), so a new loss is a new file with a decorated class and no list is edited.
"""

from __future__ import annotations

from semspace.registry import Registry

LOSSES: Registry = Registry("loss", discover=("semspace.losses",))
