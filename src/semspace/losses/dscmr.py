"""DSCMR's objective: label-space + common-space (label similarity) + modality-invariance losses.

Deep Supervised Cross-Modal Retrieval (Zhen, Hu, Wang, Peng, CVPR 2019; code ``penghu-cs/DSCMR``,
``train_model.py::calc_loss``, recalled, [R]), the strongest peer of CHTN with public code. For image features
u, text features v (the common space, ``(N, D)``), their linear label predictions p_u, p_v ``(N, C)`` and one-hot
labels Y::

    J1 = mean_i ||p_u,i - y_i||_2 + mean_i ||p_v,i - y_i||_2                       (Eq. 1, label space)
    J2 = sum over (u, u), (u, v), (v, v) of mean_ij [ log(1 + e^theta_ij) - S_ij theta_ij ]  (Eq. 2-4)
         theta_ij = cos(a_i, b_j) / 2,  S_ij = 1 when a_i and b_j share a label
    J3 = mean_i ||u_i - v_i||_2                                                    (Eq. 5, modality invariance)
    L  = J1 + alpha J2 + beta J3,   alpha = 1e-3, beta = 1e-1 (their ``main.py``)

Under DDP the columns j of J2 are every rank's items (``all_gather_with_grad``, labels gathered too): each rank's
mean over its rows i, averaged over the ranks, is the mean over all pairs of the global batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from semspace.losses.distributed import all_gather_no_grad, all_gather_with_grad
from semspace.losses.registry import LOSSES


def _likelihood(a: torch.Tensor, b: torch.Tensor, sim: torch.Tensor) -> torch.Tensor:
    theta = F.normalize(a, dim=1, eps=1e-6) @ F.normalize(b, dim=1, eps=1e-6).T / 2  # (N, M)
    return (F.softplus(theta) - sim * theta).mean()


@LOSSES.register("dscmr")
class DscmrLoss(nn.Module):
    """``J1 + alpha J2 + beta J3`` of DSCMR (module docstring); ``output_dict=True`` returns the terms too.

    Args:
        alpha: weight of the common-space term (DSCMR: 1e-3).
        beta: weight of the modality-invariance term (DSCMR: 1e-1).
        gather: the pairs of J2 with every rank's items (ignored with one process).
    """

    def __init__(self, *, alpha: float = 1e-3, beta: float = 1e-1, gather: bool = True) -> None:
        super().__init__()
        self.alpha, self.beta, self.gather = alpha, beta, gather

    def forward(
        self,
        img: torch.Tensor,
        txt: torch.Tensor,
        img_pred: torch.Tensor,
        txt_pred: torch.Tensor,
        labels: torch.Tensor,
        *,
        output_dict: bool = False,
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        y = F.one_hot(labels.long(), img_pred.shape[1]).to(img_pred.dtype)  # (N, C)
        j1 = (img_pred - y).norm(dim=1).mean() + (txt_pred - y).norm(dim=1).mean()
        all_img, all_txt, all_labels = img, txt, labels
        if self.gather:
            all_img, all_txt = all_gather_with_grad(img), all_gather_with_grad(txt)  # (W*N, D)
            all_labels = all_gather_no_grad(labels)  # (W*N,)
        sim = (labels[:, None] == all_labels[None, :]).to(img.dtype)  # (N, W*N)
        j2 = _likelihood(img, all_img, sim) + _likelihood(img, all_txt, sim) + _likelihood(txt, all_txt, sim)
        j3 = (img - txt).norm(dim=1).mean()
        loss = j1 + self.alpha * j2 + self.beta * j3
        if output_dict:
            return {"loss": loss, "label_space": j1, "common_space": j2, "invariance": j3}
        return loss
