"""semspace: cross-domain retrieval and translation in a shared semantic space.

The handful of entry points; everything else lives in its family package (``semspace.world``,
``semspace.data``, ``semspace.models``, ``semspace.losses``, ``semspace.tasks``, ``semspace.engine``,
``semspace.eval``).

Importing it sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``: OpenMP
reads it once, when torch loads it, and spinning threads collapse a busy CPU (semspace.utils.threads).

The entry points are resolved on first use (PEP 562 module ``__getattr__``), so ``import semspace`` and the CLI
start without torch, faiss or PIL; ``semspace.create_model`` imports ``semspace.models`` when first asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import TYPE_CHECKING, Any

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

from semspace.version import __version__ as __version__

if TYPE_CHECKING:  # what static analysers see; at run time the names come from __getattr__ below
    from semspace.data import create_dataset as create_dataset
    from semspace.data import list_datasets as list_datasets
    from semspace.eval import retrieval_metrics as retrieval_metrics
    from semspace.index import EmbeddingIndex as EmbeddingIndex
    from semspace.losses import create_loss as create_loss
    from semspace.models import create_model as create_model
    from semspace.models import list_models as list_models
    from semspace.tasks import create_task as create_task
    from semspace.tasks import load_task as load_task
    from semspace.world import create_world as create_world

_LAZY = {  # public name -> the module that defines it
    "EmbeddingIndex": "semspace.index",
    "create_dataset": "semspace.data",
    "create_loss": "semspace.losses",
    "create_model": "semspace.models",
    "create_task": "semspace.tasks",
    "create_world": "semspace.world",
    "list_datasets": "semspace.data",
    "list_models": "semspace.models",
    "load_task": "semspace.tasks",
    "retrieval_metrics": "semspace.eval",
}

__all__ = [
    "EmbeddingIndex",
    "__version__",
    "create_dataset",
    "create_loss",
    "create_model",
    "create_task",
    "create_world",
    "list_datasets",
    "list_models",
    "load_task",
    "retrieval_metrics",
]


def __getattr__(name: str) -> Any:
    """Imports the family package of a public name on first use and caches the name in this module; a family
    package itself (``semspace.models``) is imported when first reached as an attribute, as the eager imports did."""
    module = _LAZY.get(name)
    if module is None:
        if name.isidentifier() and not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
            return importlib.import_module(f"{__name__}.{name}")  # binds itself as an attribute of this package
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
