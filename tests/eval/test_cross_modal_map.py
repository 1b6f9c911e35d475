"""CHTN's cross-modal MAP against a naive loop written after ``evaluateMAP_fast_general.m``."""

from __future__ import annotations

import pytest
import torch

from semspace.eval.protocols.cross_modal_map import cross_modal_map


def _naive_map(q: torch.Tensor, g: torch.Tensor, ql: list[int], gl: list[int]) -> float:
    """For every query: cosine to every gallery item, stable sort (ties: lower index first), AP over the full
    ranking = mean over relevant hits of (hits so far / rank)."""
    aps = []
    for i in range(len(q)):
        sims = [float(q[i] @ g[j] / (q[i].norm() * g[j].norm())) for j in range(len(g))]
        order = sorted(range(len(g)), key=lambda j: -sims[j])
        hits, precisions = 0, []
        for rank, j in enumerate(order, start=1):
            if gl[j] == ql[i]:
                hits += 1
                precisions.append(hits / rank)
        aps.append(sum(precisions) / len(precisions) if precisions else 0.0)
    return sum(aps) / len(aps)


def test_cross_modal_map_matches_naive_loop() -> None:
    g = torch.Generator().manual_seed(0)
    img, txt = torch.rand(30, 4, generator=g, dtype=torch.float64), torch.rand(30, 4, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 4, (30,), generator=g)
    got = cross_modal_map(img, txt, labels)
    lab = labels.tolist()
    i2t, t2i = _naive_map(img, txt, lab, lab), _naive_map(txt, img, lab, lab)
    assert got["image_to_text_mAP@all"] == pytest.approx(i2t, abs=1e-9)
    assert got["text_to_image_mAP@all"] == pytest.approx(t2i, abs=1e-9)
    assert got["mean_mAP@all"] == pytest.approx((i2t + t2i) / 2, abs=1e-9)


def test_perfect_representations_give_map_one_and_optional_cutoffs() -> None:
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    onehot = torch.nn.functional.one_hot(labels, 3).double()
    got = cross_modal_map(onehot, onehot, labels, map_at=("all", 2), precision_at=(2,))
    assert got["mean_mAP@all"] == pytest.approx(1.0)
    assert got["image_to_text_mAP@2"] == pytest.approx(1.0) and got["text_to_image_P@2"] == pytest.approx(1.0)
