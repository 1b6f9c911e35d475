"""Batch-key constants and the ``SearchHit`` result shared by all families (domains are described by
``data.domains.DomainSpec`` records, not by a list of names).

Datasets (world and real loaders alike) return ``dict`` items keyed by these constants; collate
stacks tensors and keeps strings as lists. Every dataset returns ``INDEX`` so distributed
evaluation can scatter features back into place.

Composed-retrieval datasets (TIRG/LTT: the world's ``world_scenes`` and the CSS3D, Fashion200k and MIT-States
loaders) share one contract: each item is a query triplet with ``IMAGE`` (source), ``MOD_TEXT``,
``TARGET_IMAGE`` (training), ``KEY``/``TARGET_KEY`` (the strings whose equality defines a hit),
``LABEL``/``TARGET_LABEL`` (their ``stable_int``) and ``SOURCE_INDEX`` (the gallery position of the source
image, removed from its own ranking); ``dataset.gallery()`` returns the dataset of gallery images
(``IMAGE``, ``KEY``, ``LABEL``, ``INDEX``, and ``PATH`` when on disk) that the queries search.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---- batch keys -------------------------------------------------------------------------------
IMAGE = "image"  # (B, C, H, W) float32, the query/source view
PAIRED_IMAGE = "paired_image"  # (B, C, H, W) the same content as IMAGE seen in another domain (unmodified pair)
SKETCH = "sketch"  # (B, C, H, W) float32 sketch view
TEXT = "text"  # list[str] description / caption
MOD_TEXT = "mod_text"  # list[str] modification text ("make the large red cube blue")
TARGET_IMAGE = "target_image"  # (B, C, H, W) target view of a modification triplet
TARGET_TEXT = "target_text"  # list[str] description of the target scene
EXEMPLAR = "exemplar"  # (B, C, H, W) style exemplar (translation)
TARGET = "target"  # (B, C, H, W) ground-truth translation (content of IMAGE, style of EXEMPLAR)
FEATURES = "features"  # (B, F) precomputed feature vectors
LABEL = "label"  # (B,) int64 class / scene-equivalence id
TARGET_LABEL = "target_label"  # (B,) int64 scene-equivalence id of the target
ATTRIBUTES = "attributes"  # (B, A) float32 class semantics (attribute / word vectors)
DOMAIN = "domain"  # list[str] domain name of each item
INDEX = "index"  # (B,) int64 dataset index of each item
KEY = "key"  # list[str] canonical ground-truth key (scene equality, class name)
TARGET_KEY = "target_key"  # list[str] canonical key of the target scene
PATH = "path"  # list[str] source URI of each item, when it came from disk
SOURCE_INDEX = "source_index"  # (B,) int64 gallery position of a query's own source image (-1: not in the gallery)

# ---- files ------------------------------------------------------------------------------------
INDEX_LOCK_FILE = "semspace-index.lock"  # an index folder's writer lock; a folder source never reads a folder with it


@dataclass(frozen=True)
class SearchHit:
    """One retrieved item."""

    id: int
    score: float
    domain: str = ""
    uri: str = ""
    label: str = ""
    caption: str = ""
