"""The paired-retrieval protocol scores known embeddings as expected."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from semspace.eval.protocols import create_protocol
from semspace.types import LABEL


class LabelEmbedder(nn.Module):
    """Embeds each item as a one-hot of its label (domain a) and of a permuted label (domain b)."""

    def __init__(self, dim: int, swap_b: bool) -> None:
        super().__init__()
        self.dim, self.swap_b = dim, swap_b
        self.dummy = nn.Parameter(torch.zeros(1))

    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        idx = batch["index"] % self.dim
        a = nn.functional.one_hot(idx, self.dim).float()
        b = nn.functional.one_hot((idx + 1) % self.dim if self.swap_b else idx, self.dim).float()
        return {"blobs2d": a, "render3d": b}

    def prepare_batch(self, batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
        return batch


@pytest.mark.parametrize("swap_b, expected", [(False, 1.0), (True, 0.0)])
def test_paired_retrieval_on_known_embeddings(swap_b: bool, expected: float) -> None:
    data = {"name": "world_scenes", "args": {"split": "test", "n": 12, "size": 16, "view": "text"}}
    protocol = create_protocol("paired_retrieval", data=data, ks=[1, 5])
    labels = torch.stack([protocol.dataset[i][LABEL] for i in range(12)])
    assert len(set(labels.tolist())) == 12  # distinct scenes, so each query has exactly one relevant item
    m = protocol(LabelEmbedder(dim=12, swap_b=swap_b))  # cyclic: every query has one exact wrong match
    assert m["blobs2d_to_render3d_R@1"] == expected and m["render3d_to_blobs2d_R@1"] == expected
    assert m["mean_R@1"] == expected
