"""Soft triplet loss of TIRG (Vo et al., CVPR 2019, arXiv:1812.07119, Sec. 3.3; google/tirg
``torch_functions.py::TripletLoss`` and ``img_text_composition_models.py::compute_soft_triplet_loss_``).

The N composed queries and their N targets form one set of 2N features ``F = [query; target]`` in which item
i and item i + N are the only positive pair. Every one of the 2N features is an anchor a with its positive p,
and gets ``num_negatives`` negatives n drawn uniformly without replacement among the items that are not its
pair (the authors draw 3 per anchor). The loss is the mean over all (a, p, n) triplets of

    log(1 + exp(||f_a - f_p||^2 - ||f_a - f_n||^2)) = softplus(d(a, p) - d(a, n)).

With ``labels`` (N,) items of equal label are not negatives of each other (the authors' "labels" are the
pair ids). Vectorised on the (2N, 2N) squared-distance matrix: the sampling takes the top-k of i.i.d. uniform
scores over the valid negatives, which is a uniform k-subset of them; ``num_negatives=None`` uses every valid
negative (exact, deterministic).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from semspace.losses.registry import LOSSES


def pairwise_sq_dists(x: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances between the rows of ``x`` (M, D), as an (M, M) matrix (clamped at 0)."""
    sq = (x * x).sum(dim=1)  # (M,)
    gram = x @ x.T  # (M, M)
    return (sq[:, None] + sq[None, :] - 2 * gram).clamp_min(0)  # (M, M)


def valid_negatives(labels: torch.Tensor) -> torch.Tensor:
    """Mask of the valid (anchor, negative) pairs of the 2N features for pair labels ``labels`` (N,).

    Returns:
        ``(2N, 2N)`` bool: ``[a, n]`` is True when item n's label differs from anchor a's (so never the anchor
        itself nor its pair a +- N).
    """
    lab2 = torch.cat([labels, labels])  # (2N,)
    return lab2[:, None] != lab2[None, :]  # (2N, 2N)


def sample_negatives(
    valid: torch.Tensor, num_negatives: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draws up to ``num_negatives`` negatives per anchor, uniformly without replacement among the valid ones.

    An anchor with fewer valid negatives than ``num_negatives`` gets all of them (as in the authors' code).

    Args:
        valid: ``(M, M)`` bool mask of the candidate negatives of each anchor (row).
        num_negatives: how many negatives per anchor (K >= 1).
        generator: random generator (its device is where the uniform scores are drawn); None: global RNG.

    Returns:
        ``(idx, mask)``, both ``(M, K')`` with ``K' = min(K, M)``: the negative indices of each anchor and
        whether each slot holds a real negative (False slots point at arbitrary indices and must be ignored).
    """
    m = valid.shape[0]
    k = min(num_negatives, m)
    device = generator.device if generator is not None else valid.device
    scores = torch.rand((m, m), generator=generator, device=device).to(valid.device)  # (M, M) in [0, 1)
    scores = scores.masked_fill(~valid, -1.0)  # (M, M) invalid candidates sort last
    top, idx = scores.topk(k, dim=1)  # (M, K'), (M, K')
    return idx, top >= 0  # (M, K'), (M, K')


@LOSSES.register("soft_triplet")
class SoftTripletLoss(nn.Module):
    """TIRG's soft triplet loss over N (query, target) pairs.

    Its gradient is autograd's, the true gradient of the loss. The authors' hand-written backward (google/tirg
    ``torch_functions.py::MyTripletLossFunc.backward``) is half of it: it adds ``sigmoid(d_ij - d_ik) (x_i - x_j)``
    where ``d/dx_i ||x_i - x_j||^2 = 2 (x_i - x_j)``. Under plain SGD with L2 decay, their run at (lr, wd) is
    ours at (lr / 2, 2 wd); Adam-type optimizers are nearly invariant to the factor. Checked by
    ``tests/losses/test_soft_triplet_gradient.py``; deviation (d) of ``docs/transfer.md``.

    Args:
        num_negatives: negatives sampled per anchor (the authors use 3); None: every valid negative, exactly.

    Example:
        >>> loss_fn = SoftTripletLoss()
        >>> loss = loss_fn(torch.randn(8, 16), torch.randn(8, 16))
    """

    def __init__(self, *, num_negatives: int | None = 3) -> None:
        super().__init__()
        if num_negatives is not None and (isinstance(num_negatives, bool) or num_negatives < 1):
            raise ValueError(f"SoftTripletLoss: num_negatives must be a positive int or None, got {num_negatives!r}")
        self.num_negatives = num_negatives

    def forward(
        self,
        query: torch.Tensor,
        target: torch.Tensor,
        *,
        labels: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Mean soft-triplet loss.

        Args:
            query: composed query features ``(N, D)``.
            target: their target features ``(N, D)``; row i is query i's positive.
            labels: optional ``(N,)`` integer labels; items of equal label are never negatives of each other.
            generator: random generator for the negative sampling (ignored when ``num_negatives`` is None).

        Returns:
            Scalar loss.

        Raises:
            ValueError: on mismatched shapes, N < 2, or when no anchor has a valid negative.
        """
        if query.ndim != 2 or query.shape != target.shape:
            raise ValueError(
                f"SoftTripletLoss expects query and target of equal shape (N, D), got {tuple(query.shape)} "
                f"and {tuple(target.shape)}"
            )
        n = query.shape[0]
        if n < 2:
            raise ValueError(f"SoftTripletLoss needs at least 2 (query, target) pairs to form negatives, got N={n}")
        if labels is None:
            labels = torch.arange(n, device=query.device)  # (N,) every pair is its own class
        elif labels.shape != (n,) or labels.is_floating_point() or labels.is_complex():
            raise ValueError(f"SoftTripletLoss: labels must be an integer tensor of shape ({n},), got {labels!r}")
        feats = torch.cat([query, target])  # (2N, D)
        dists = pairwise_sq_dists(feats)  # (2N, 2N)
        pos = torch.arange(2 * n, device=feats.device).roll(n)  # (2N,) the pair of anchor a is a +- N
        d_pos = dists.gather(1, pos[:, None])  # (2N, 1)
        valid = valid_negatives(labels.to(feats.device))  # (2N, 2N)
        if self.num_negatives is None:
            d_neg, mask = dists, valid  # (2N, 2N), (2N, 2N)
        else:
            idx, mask = sample_negatives(valid, self.num_negatives, generator)  # (2N, K), (2N, K)
            d_neg = dists.gather(1, idx)  # (2N, K)
        count = mask.sum()
        if count == 0:
            raise ValueError("SoftTripletLoss: no valid negatives (all labels in the batch are equal)")
        terms = F.softplus(d_pos - d_neg)  # (2N, K) log(1 + exp(d(a, p) - d(a, n)))
        return (terms * mask).sum() / count
