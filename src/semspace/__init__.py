"""semspace: cross-domain retrieval and translation in a shared semantic space.

The handful of entry points; everything else lives in its family package (``semspace.world``,
``semspace.data``, ``semspace.models``, ``semspace.losses``, ``semspace.tasks``, ``semspace.engine``,
``semspace.eval``).

Importing it sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``: OpenMP
reads it once, when torch loads it, and spinning threads collapse a busy CPU (semspace.utils.threads).
"""

import os

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

from semspace.data import create_dataset as create_dataset
from semspace.data import list_datasets as list_datasets
from semspace.eval import retrieval_metrics as retrieval_metrics
from semspace.index import EmbeddingIndex as EmbeddingIndex
from semspace.losses import create_loss as create_loss
from semspace.models import create_model as create_model
from semspace.models import list_models as list_models
from semspace.tasks import create_task as create_task
from semspace.tasks import load_task as load_task
from semspace.version import __version__ as __version__
from semspace.world import create_world as create_world

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
