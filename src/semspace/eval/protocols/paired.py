"""Paired cross-domain retrieval: how well a shared space matches the same content across two domains.

Every evaluation item holds the same content in domain A and domain B (a scene in blobs2d and render3d,
an image and its description). Queries of one domain search the gallery of the other; a hit is a gallery
item whose ground-truth ``label`` equals the query's (two items showing identical scenes count as the same
content). Reports Recall@K in both directions and their mean.
"""

from __future__ import annotations

from typing import Any

import torch

from semspace.eval.embedding import forward_dataset
from semspace.eval.metrics import retrieval_metrics
from semspace.eval.protocols.registry import PROTOCOLS
from semspace.types import LABEL


@PROTOCOLS.register("paired_retrieval")
class PairedRetrievalProtocol:
    """Embeds a dataset in both domains with ``task.eval_forward`` and scores A->B and B->A retrieval.

    Args:
        data: ``{"name": registry name, "args": {...}}`` of the evaluation dataset.
        ks: the K of Recall@K.
        batch_size: embedding batch size.
    """

    def __init__(self, *, data: dict[str, Any], ks: tuple[int, ...] | list[int] = (1, 5, 10), batch_size: int = 128):
        from semspace.data import create_dataset

        self.dataset = create_dataset(data["name"], **data.get("args", {}))
        self.ks = tuple(ks)
        self.batch_size = batch_size

    def embed(self, task: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """All items -> ({domain: (N, D)}, labels (N,))."""
        device = next(task.parameters()).device
        pre = _preprocess(task)  # the inputs the model was trained on
        z, fields = forward_dataset(task, self.dataset, pre, batch_size=self.batch_size, device=device, keep=(LABEL,))
        return z, fields[LABEL]

    def __call__(self, task: Any) -> dict[str, float]:
        was_training = task.training
        task.eval()
        with torch.no_grad():
            feats, labels = self.embed(task)
        task.train(was_training)
        (a, za), (b, zb) = list(feats.items())[:2]
        out: dict[str, float] = {}
        for q, zq, g, zg in ((a, za, b, zb), (b, zb, a, za)):
            m = retrieval_metrics(zq, zg, labels, labels, ks=self.ks, map_at=())
            out.update({f"{q}_to_{g}_{k}": v for k, v in m.items()})
        for k in self.ks:
            out[f"mean_R@{k}"] = (out[f"{a}_to_{b}_R@{k}"] + out[f"{b}_to_{a}_R@{k}"]) / 2
        return out


def _preprocess(task: Any) -> Any:
    """The task's ``preprocess_cfg()`` (None for duck-typed embedders that have none)."""
    fn = getattr(task, "preprocess_cfg", None)
    return fn() if callable(fn) else None
