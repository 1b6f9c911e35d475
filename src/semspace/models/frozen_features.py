"""``frozen_features``: any image dataset seen through a frozen pretrained encoder, computed once.

CHTN (Huang, Peng, Yuan, IJCAI 2017, ``papers/chtn.md``) trains only fully connected layers above a frozen
ImageNet trunk (AlexNet conv1..pool5, ``lr_mult 0``). When the trunk is frozen its output is a fixed function of
the image, so it can be computed once per image instead of at every step: this dataset wraps an image dataset
(``data: {name, args}``), runs every image through the frozen encoder (``encoder``, by default the offline
ImageNet EfficientNet-Lite0, 1280-d pooled features, at its own preprocessing) in batches, and serves
``FEATURES: {key: (F,)}`` with the wrapped item's other fields (``TEXT``, ``LABEL``, ``KEY``, ``DOMAIN``,
``INDEX``; the image itself is dropped). The ``chtn`` task's ``image_frozen`` names the same encoder, so a run
trained on these features embeds raw images with identical numbers (index, search, demo).

The features are kept per process (one computation per distinct spec) and, with ``cache_dir``, on disk as they
are computed: ``<cache_dir>/<sha of the spec>/chunk-NNNNNN.npz``, ``chunk_batches`` batches per file, each written
atomically (``data.chunk_cache.ChunkCache``); its manifest holds the spec and the number of items, so a changed
encoder or dataset recomputes, and a killed computation resumes after its last whole file with the same numbers
(the batches are the same). A progress bar counts the items as they are encoded.

The module sits in the ``models`` layer (it builds an encoder) and registers in ``data``'s dataset registry, which
finds it through its entry point (group ``semspace.datasets`` in ``pyproject.toml``), as it finds the world's: ``data``
never imports it nor names it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from semspace.data.chunk_cache import ChunkCache
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError
from semspace.models.factory import create_model
from semspace.types import FEATURES, IMAGE, INDEX, LABEL, TEXT

logger = logging.getLogger(__name__)

_MEMO: dict[str, tuple[np.ndarray, list[dict[str, Any]]]] = {}
_TENSORS = (LABEL, INDEX)  # fields served as 0-d int64 tensors, as the wrapped datasets do


def _plain(v: Any) -> Any:
    """A JSON-friendly copy of an item field (0-d tensors become numbers)."""
    if isinstance(v, torch.Tensor) and v.ndim == 0:
        return v.item()
    if isinstance(v, np.generic):
        return v.item()
    return v


def frozen_encoder(encoder: str, encoder_args: dict[str, Any] | None = None) -> Any:
    """The frozen, eval-mode encoder ``encoder`` without projection (``embed_dim: 0``), as ``chtn`` builds it."""
    args = {"embed_dim": 0, **(encoder_args or {})}
    enc: Any = create_model(encoder, **args)
    for p in enc.parameters():
        p.requires_grad_(False)
    return enc.eval()


@DATASETS.register("frozen_features")
class FrozenFeaturesDataset(Dataset):
    """Items of ``data`` with their image replaced by frozen-encoder features (module docstring).

    Args:
        data: ``{"name": registry name, "args": {...}}`` of an image dataset (``xmodal_pairs``, ``folder``, ...).
        encoder: the frozen encoder preset (``efficientnet_lite0``).
        encoder_args: preset overrides (``{"preprocess": {"size": 128}}``); ``embed_dim`` is 0.
        key: the features' name in the batch (``batch["features"][key]``).
        batch_size: images encoded at a time.
        cache_dir: a folder to keep the features in (None: this process only), written as they are computed.
        chunk_batches: batches per cache file (a killed computation resumes after the last whole file).
        progress: show a progress bar of the items encoded (on stderr, as ``semspace train``'s).

    Example (config):
        ``{name: frozen_features, args: {data: {name: xmodal_pairs, args: {split: train}}, key: img}}``
    """

    def __init__(
        self,
        *,
        data: dict[str, Any],
        encoder: str = "efficientnet_lite0",
        encoder_args: dict[str, Any] | None = None,
        key: str = "img",
        batch_size: int = 64,
        cache_dir: str | os.PathLike[str] | None = None,
        chunk_batches: int = 16,
        progress: bool = True,
    ) -> None:
        if not isinstance(data, dict) or "name" not in data:
            raise ConfigError(f"frozen_features: data must be {{name: ..., args: {{...}}}}, got {data!r}")
        if not key or "." in key:
            raise ConfigError(f"frozen_features: key must be a plain name (e.g. 'img'), got {key!r}")
        if batch_size < 1 or chunk_batches < 1:
            raise ConfigError(f"frozen_features: batch_size and chunk_batches must be >= 1, got {batch_size}, "
                              f"{chunk_batches}")  # fmt: skip
        from semspace.data import create_dataset

        inner = {"name": data["name"], "args": dict(data.get("args", {}))}
        self.spec: dict[str, Any] = {"data": inner, "encoder": encoder, "encoder_args": dict(encoder_args or {})}
        self.key = key
        self.inner: Any = create_dataset(self.spec["data"]["name"], **self.spec["data"]["args"])
        digest = hashlib.sha256(json.dumps(self.spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
        if digest not in _MEMO:
            _MEMO[digest] = self._load_or_compute(digest, batch_size, chunk_batches, cache_dir, progress)
        self._features, self._fields = _MEMO[digest]  # (N, F), per-item fields
        self.labels = np.array([int(f.get(LABEL, -1)) for f in self._fields], dtype=np.int64)  # (N,)

    def _load_or_compute(
        self, digest: str, batch_size: int, chunk_batches: int, cache_dir: Any, progress: bool
    ) -> tuple[np.ndarray, list[dict]]:
        n = len(self.inner)
        folder = Path(cache_dir) / digest if cache_dir else None
        cache = ChunkCache(folder, {"spec": self.spec}, n=n, chunk=batch_size * chunk_batches)
        missing = set(cache.missing())
        if not missing:
            return cache.load_all()
        from tqdm.auto import tqdm

        from semspace.data.transforms import build_transform

        enc = frozen_encoder(self.spec["encoder"], self.spec["encoder_args"])
        self.inner.transform = build_transform(enc.preprocess_cfg)
        name = self.spec["data"]["name"]
        done = n - sum(stop - start for start, stop in map(cache.bounds, missing))  # items already on disk
        if done:
            logger.info("frozen_features: resuming %s: %d of %d items cached in %s", name, done, n, cache.folder)
        bar = tqdm(total=n, initial=done, desc=f"features of {name}", unit="item", dynamic_ncols=True,
                   disable=not progress)  # fmt: skip
        feats, fields = [], []
        with bar, torch.no_grad():
            for i in range(cache.num_chunks):
                if i not in missing:
                    rows, flds = cache.load(i)
                else:
                    rows, flds = self._encode_rows(enc, range(*cache.bounds(i)), batch_size, bar)
                    cache.write(i, rows, flds)
                feats.append(rows)
                fields += flds
        out = np.concatenate(feats) if feats else np.zeros((0, 0), np.float32)
        logger.info("frozen_features: %d items of %s through %s", len(out), name, enc.architecture)
        return out, fields

    def _encode_rows(self, enc: Any, rows: range, batch_size: int, bar: Any) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Features (B, F) and fields of the wrapped items ``rows``, encoded ``batch_size`` at a time."""
        feats, fields = [], []
        for start in range(rows.start, rows.stop, batch_size):
            items = [self.inner[i] for i in range(start, min(start + batch_size, rows.stop))]
            if any(IMAGE not in it for it in items):
                raise ConfigError(f"frozen_features: {self.spec['data']['name']} items have no {IMAGE!r}")
            feats.append(enc.encode(torch.stack([it[IMAGE] for it in items])).numpy())  # (b, F)
            fields += [{k: _plain(v) for k, v in it.items() if k != IMAGE} for it in items]
            bar.update(len(items))
        return np.concatenate(feats).astype(np.float32), fields

    # ---- the dataset interface --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._fields)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        item: dict[str, Any] = {k: torch.tensor(v) if k in _TENSORS else v for k, v in self._fields[idx].items()}
        item[FEATURES] = {self.key: torch.from_numpy(self._features[idx])}  # (F,)
        return item

    def feature_dim(self, key: str) -> int:
        """F of the features named ``key``."""
        if key != self.key:
            raise ConfigError(f"frozen_features: no features {key!r}; this dataset holds {self.key!r}")
        return int(self._features.shape[1])

    @property
    def num_classes(self) -> int:
        n = getattr(self.inner, "num_classes", None)
        return int(n) if isinstance(n, int) else int(self.labels.max()) + 1

    @property
    def classes(self) -> Any:
        return getattr(self.inner, "classes", None)

    @property
    def texts(self) -> list[str] | None:
        """The wrapped items' captions (bag-of-words vocabulary), or None without captions."""
        if self._fields and TEXT in self._fields[0]:
            return [str(f[TEXT]) for f in self._fields]
        return None
