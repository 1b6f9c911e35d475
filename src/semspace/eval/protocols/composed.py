"""Composed retrieval (image + modification text -> image), the protocol of TIRG and LTT.

TIRG (Vo et al., CVPR 2019, arXiv:1812.07119; google/tirg ``test_retrieval.py``) and LTT (Vo, Jiang, Hays
2019, arXiv:1903.00793) score a query (source image x, modification t) by composing it, embedding every
gallery image, ranking by cosine similarity with **the query's own source image removed from its ranking**,
and counting a hit at K when an item of the top K shows the target (its key equals the query's target key:
the same scene for CSS and the world, the same caption for Fashion200k and MIT-States). Recall@K is the
fraction of queries with a hit in the top K (TIRG reports K = 1, 5, 10, 50).

The dataset follows the composed-retrieval contract (``semspace.types``): query items with IMAGE, MOD_TEXT,
TARGET_LABEL and SOURCE_INDEX, and ``dataset.gallery(...)`` for the gallery. Queries get the preprocessing of
their domain's record and the gallery that of its own (``task.domain(name).preprocess``); the task must have
the ``compose`` capability (``capabilities.py``). One protocol run can hold
several *experiments* that differ in the query and gallery domains (LTT: 3D queries composed with a 2D-trained
composer; 2D queries searching 3D renders), each reported under its own name: ``{name}_R@{k}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from semspace.capabilities import require
from semspace.data.cache import CachedDataset
from semspace.data.transforms import attach_transform
from semspace.errors import ConfigError
from semspace.eval.embedding import embed_dataset, gather, iter_embeddings
from semspace.eval.metrics import retrieval_metrics, similarity_ranking
from semspace.eval.protocols.registry import PROTOCOLS
from semspace.types import IMAGE, LABEL, MOD_TEXT, SOURCE_INDEX, TARGET_LABEL


@dataclass
class ComposedExperiment:
    """One query domain -> gallery domain setting of a composed-retrieval evaluation."""

    name: str = ""  # metric prefix; default "{query_domain}_to_{gallery_domain}"
    query_domain: str = ""  # the task's encoder for the query images; default: the task's target domain
    gallery_domain: str = ""  # the task's encoder for the gallery images; default: the task's target domain
    query_args: dict[str, Any] = field(default_factory=dict)  # dataset overrides for the queries (e.g. view)
    gallery_args: dict[str, Any] = field(default_factory=dict)  # keyword arguments of ``dataset.gallery``


@PROTOCOLS.register("composed_retrieval")
class ComposedRetrievalProtocol:
    """Recall@K of composed queries against a gallery, source image excluded (see module docstring).

    Args:
        data: ``{"name": registry name, "args": {...}}`` of the query dataset (composed-retrieval contract).
        experiments: settings to score; default one, target domain -> target domain.
        ks: the K of Recall@K.
        batch_size: embedding batch size.
        num_workers: DataLoader workers used while rendering/decoding (the first call caches the images).
        cache: keep the transformed query and gallery images in memory between calls (training evaluates often).
    """

    def __init__(
        self,
        *,
        data: dict[str, Any],
        experiments: list[dict[str, Any]] | None = None,
        ks: tuple[int, ...] | list[int] = (1, 5, 10, 50),
        batch_size: int = 128,
        num_workers: int = 0,
        cache: bool = True,
    ) -> None:
        if "name" not in data:
            raise ConfigError(
                "composed_retrieval: data needs a 'name' (a composed-retrieval dataset, e.g. world_scenes)"
            )
        unknown = sorted(set(data) - {"name", "args"})
        if unknown:
            raise ConfigError(f"composed_retrieval: unknown data key(s) {unknown}; expected name and args")
        self.data = {"name": data["name"], "args": dict(data.get("args", {}))}
        self.experiments = [_experiment(e) for e in (experiments or [{}])]
        self.ks = tuple(int(k) for k in ks)
        self.batch_size, self.num_workers, self.cache = batch_size, num_workers, cache
        self._datasets: dict[str, Any] = {}

    # ---- data -------------------------------------------------------------------------------------
    def datasets(self, exp: ComposedExperiment, task: Any) -> tuple[Any, Any]:
        """(queries, gallery) of ``exp``, each built with its domain's preprocessing and cached when asked.

        The queries are read (and cached) before the gallery's transform is attached, so a gallery that shares
        its query dataset's transform (``CompositionGallery``) still gives each side its own preprocessing.
        """
        from semspace.data import create_dataset

        q_pre, g_pre = (task.domain(d).preprocess for d in (exp.query_domain, exp.gallery_domain))
        qkey = repr((exp.query_args, q_pre))
        if qkey not in self._datasets:
            queries = create_dataset(self.data["name"], **{**self.data["args"], **exp.query_args})
            if not hasattr(queries, "gallery"):
                raise ConfigError(
                    f"composed_retrieval: dataset {self.data['name']!r} has no gallery(); it must follow the "
                    "composed-retrieval contract (semspace.types)"
                )
            self._datasets[qkey] = self._maybe_cache(attach_transform(queries, q_pre))
        queries = self._datasets[qkey]
        gkey = repr((exp.query_args, q_pre, exp.gallery_args, g_pre))
        if gkey not in self._datasets:
            source: Any = queries.dataset if isinstance(queries, CachedDataset) else queries
            self._datasets[gkey] = self._maybe_cache(attach_transform(source.gallery(**exp.gallery_args), g_pre))
        return queries, self._datasets[gkey]

    def _maybe_cache(self, dataset: Any) -> Any:
        if not self.cache:
            return dataset
        return CachedDataset(dataset, num_workers=self.num_workers, batch_size=self.batch_size)

    # ---- embedding --------------------------------------------------------------------------------
    def embed(self, task: Any, exp: ComposedExperiment) -> dict[str, torch.Tensor]:
        """Composed queries (Q, D), their target labels and source positions, gallery (N, D) and labels."""
        device = next(task.parameters()).device
        queries, gallery = self.datasets(exp, task)
        composer = require(task, "compose")
        bs, workers = self.batch_size, self.num_workers
        pairs = iter_embeddings(task, queries, task.domain(exp.query_domain), batch_size=bs, device=device,
                                num_workers=workers, key=IMAGE)  # fmt: skip
        q = gather(_composed(composer, pairs), keep=(TARGET_LABEL, SOURCE_INDEX))
        g = embed_dataset(task, gallery, task.domain(exp.gallery_domain), batch_size=bs, device=device,
                          num_workers=workers, key=IMAGE, keep=(LABEL,))  # fmt: skip
        return {"query": q.embeddings, "target_label": q[TARGET_LABEL], "source_index": q[SOURCE_INDEX],
                "gallery": g.embeddings, "gallery_label": g[LABEL]}  # fmt: skip

    def resolve(self, task: Any) -> list[ComposedExperiment]:
        """Fills default domains and names from the task (its ``cfg.target_domain``)."""
        default = getattr(task.cfg, "target_domain", "")
        resolved = []
        for e in self.experiments:
            q, g = e.query_domain or default, e.gallery_domain or default
            name = e.name or f"{q}_to_{g}"
            resolved.append(ComposedExperiment(name, q, g, e.query_args, e.gallery_args))
        return resolved

    def __call__(self, task: Any) -> dict[str, float]:
        was_training = task.training
        task.eval()
        metrics: dict[str, float] = {}
        try:
            with torch.no_grad():
                for exp in self.resolve(task):
                    e = self.embed(task, exp)
                    m = retrieval_metrics(
                        e["query"], e["gallery"], e["target_label"], e["gallery_label"],
                        ks=self.ks, map_at=(), exclude=e["source_index"],
                    )  # fmt: skip
                    metrics.update({f"{exp.name}_{k}": v for k, v in m.items()})
        finally:
            task.train(was_training)
        return metrics

    def top_k(self, task: Any, exp: ComposedExperiment, k: int = 5) -> tuple[torch.Tensor, torch.Tensor, Any, Any]:
        """(scores (Q, k), gallery indices (Q, k), queries, gallery) for pictures of the results."""
        was_training = task.training
        task.eval()
        with torch.no_grad():
            e = self.embed(task, exp)
        task.train(was_training)
        scores, idx = similarity_ranking(e["query"], e["gallery"], k=k, exclude=e["source_index"])
        queries, gallery = self.datasets(exp, task)
        return scores, idx, queries, gallery


def _composed(composer: Any, pairs: Iterable[tuple[Any, torch.Tensor]]) -> Iterator[tuple[Any, torch.Tensor]]:
    """``(batch, composed queries (B, D))`` of ``(batch, source image embeddings (B, D))`` and the batch's MOD_TEXT."""
    for batch, z in pairs:
        with torch.inference_mode():
            q = composer.compose(z, list(batch[MOD_TEXT]))  # (B, D)
        yield batch, q


def _experiment(spec: dict[str, Any]) -> ComposedExperiment:
    known = set(ComposedExperiment.__dataclass_fields__)
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ConfigError(f"composed_retrieval: unknown experiment key(s) {unknown}; expected some of {sorted(known)}")
    return ComposedExperiment(**spec)
