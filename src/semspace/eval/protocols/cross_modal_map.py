"""Cross-modal MAP (image -> text, text -> image, their mean): the protocol of CHTN and DSCMR.

CHTN's MATLAB evaluation (``PKU-ICST-MIPL/CHTN_IJCAI2017``: ``Evaluate/evaluate_wiki.m``, ``QryonTestBi.m``,
``evaluateMAP_fast_general.m``; ``papers/chtn.md``): every test image queries all test texts and every test text
all test images; the score is the cosine similarity of the two common representations (softmax of fc10); a
retrieved item is relevant when it has the query's class; AP_q is the mean over the relevant items of
(hits so far / rank) over the **full ranking** (non-interpolated, MAP@all). Reported: MAP(I->T), MAP(T->I) and
their average. DSCMR's ``evaluate.py::fx_calc_map_label`` computes the same value; note that its default ``k=0``
means "k = the number of queries" there, which equals MAP@all only when queries and gallery have the same size
(as in the paired test sets of Wikipedia, Pascal and NUS-WIDE, and here). Ties are broken by gallery index
(``eval.metrics``), where the MATLAB ``sort`` is stable too.

Optionally ``map_at`` adds mAP@k (normalised by the relevant items found in the top k, ``eval.metrics``) and
``precision_at`` P@K, for users who ask; the keys are ``image_to_text_mAP@50``, ``text_to_image_P@10``, ....
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from semspace.errors import ConfigError
from semspace.eval.embedding import forward_dataset
from semspace.eval.metrics import retrieval_metrics
from semspace.eval.protocols.registry import PROTOCOLS
from semspace.types import LABEL


def cross_modal_map(
    image: torch.Tensor,
    text: torch.Tensor,
    labels: torch.Tensor,
    *,
    map_at: Sequence[int | str] = ("all",),
    precision_at: Sequence[int] = (),
    text_labels: torch.Tensor | None = None,
) -> dict[str, float]:
    """``{image_to_text_mAP@all, text_to_image_mAP@all, mean_mAP@all, ...}`` of paired common representations.

    Args:
        image: image representations (N, D).
        text: text representations (M, D) (M = N for paired test sets).
        labels: class of each image (N,).
        map_at: ``"all"`` and/or cut-offs.
        precision_at: P@K cut-offs.
        text_labels: class of each text (default: ``labels``, the pairs').
    """
    t_labels = labels if text_labels is None else text_labels
    out: dict[str, float] = {}
    for name, q, g, ql, gl in (("image_to_text", image, text, labels, t_labels),
                               ("text_to_image", text, image, t_labels, labels)):  # fmt: skip
        m = retrieval_metrics(q, g, ql, gl, ks=(), map_at=map_at, precision_at=precision_at)
        out.update({f"{name}_{k}": v for k, v in m.items()})
    for key in [k.removeprefix("image_to_text_") for k in out if k.startswith("image_to_text_")]:
        out[f"mean_{key}"] = (out[f"image_to_text_{key}"] + out[f"text_to_image_{key}"]) / 2
    return out


@PROTOCOLS.register("cross_modal_map")
class CrossModalMapProtocol:
    """Embeds paired test items in both modalities (``task.eval_forward``) and scores MAP both ways.

    Args:
        data: ``{"name": registry name, "args": {...}}`` of the paired test set.
        image_domain: the task's image domain (default: its first domain).
        text_domain: the task's text domain (default: its second domain).
        map_at: ``"all"`` (CHTN) and optional cut-offs (``[all, 50]``).
        precision_at: optional P@K cut-offs.
        batch_size: embedding batch size.
    """

    def __init__(
        self,
        *,
        data: dict[str, Any],
        image_domain: str = "",
        text_domain: str = "",
        map_at: Sequence[int | str] = ("all",),
        precision_at: Sequence[int] = (),
        batch_size: int = 256,
    ) -> None:
        if not isinstance(data, dict) or "name" not in data:
            raise ConfigError("cross_modal_map: data needs a 'name' (a paired dataset, e.g. xmodal_pairs)")
        self.data = {"name": data["name"], "args": dict(data.get("args", {}))}
        self.image_domain, self.text_domain = image_domain, text_domain
        self.map_at, self.precision_at = list(map_at), [int(k) for k in precision_at]
        self.batch_size = batch_size
        self._dataset: Any = None

    def domains(self, task: Any) -> tuple[str, str]:
        names = list(task.domains())
        img = self.image_domain or names[0]
        txt = self.text_domain or (names[1] if len(names) > 1 else "")
        for d in (img, txt):
            task.domain(d)  # an unknown domain names the task's
        return img, txt

    def embed(self, task: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(image (N, D), text (N, D), labels (N,)) of the test pairs."""
        from semspace.data import create_dataset

        img, txt = self.domains(task)
        if self._dataset is None:
            self._dataset = create_dataset(self.data["name"], **self.data["args"])
        spec = task.domain(img)
        pre = spec.preprocess if spec.kind.is_visual else None
        device = next(task.parameters()).device
        z, fields = forward_dataset(task, self._dataset, pre, batch_size=self.batch_size, device=device, keep=(LABEL,))
        return z[img], z[txt], fields[LABEL]

    def __call__(self, task: Any) -> dict[str, float]:
        was_training = task.training
        task.eval()
        try:
            with torch.no_grad():
                zi, zt, labels = self.embed(task)
        finally:
            task.train(was_training)
        return cross_modal_map(zi, zt, labels, map_at=self.map_at, precision_at=self.precision_at)
