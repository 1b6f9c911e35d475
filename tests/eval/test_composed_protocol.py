"""``composed_retrieval``: TIRG's protocol (query image removed from its ranking, hit = same target key)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from semspace.data import DATASETS, create_dataset
from semspace.errors import ConfigError
from semspace.eval.protocols import create_protocol
from semspace.tasks import create_task
from semspace.types import IMAGE, INDEX, LABEL, MOD_TEXT, SOURCE_INDEX, TARGET_LABEL

N_GALLERY, N_QUERIES, DIM = 40, 25, 8


def _toy_tables(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "gallery_label": torch.randint(0, 12, (N_GALLERY,), generator=g),
        "source": torch.randint(0, N_GALLERY, (N_QUERIES,), generator=g),
        "target_label": torch.randint(0, 12, (N_QUERIES,), generator=g),
        "emb": F.normalize(torch.randn(N_GALLERY, DIM, generator=g), dim=-1),
    }


class ToyGallery(torch.utils.data.Dataset):
    def __init__(self, t: dict[str, torch.Tensor]) -> None:
        self.t, self.transform = t, None

    def __len__(self) -> int:
        return N_GALLERY

    def __getitem__(self, j: int) -> dict[str, Any]:
        return {IMAGE: torch.tensor([float(j)]), LABEL: self.t["gallery_label"][j], INDEX: torch.tensor(j)}


@DATASETS.register("toy_composed_for_tests")
class ToyQueries(torch.utils.data.Dataset):
    """Query i shows gallery image ``source[i]`` (its IMAGE is that gallery index)."""

    def __init__(self, seed: int = 0, same_label_target: bool = False) -> None:
        self.t, self.transform = _toy_tables(seed), None
        if same_label_target:  # the target key is the source's own key: only the query image itself could hit
            self.t["gallery_label"] = torch.arange(N_GALLERY)
            self.t["target_label"] = self.t["source"].clone()

    def __len__(self) -> int:
        return N_QUERIES

    def __getitem__(self, i: int) -> dict[str, Any]:
        s = self.t["source"][i]
        return {
            IMAGE: torch.tensor([float(s)]),
            MOD_TEXT: f"mod {i}",
            TARGET_LABEL: self.t["target_label"][i],
            SOURCE_INDEX: s,
            INDEX: torch.tensor(i),
        }

    def gallery(self) -> ToyGallery:
        return ToyGallery(self.t)


@dataclass
class _Cfg:
    target_domain: str = "toy"


class ToyTask(nn.Module):
    """embed = a fixed table lookup; compose = a fixed linear map (or the identity: image only)."""

    def __init__(self, emb: torch.Tensor, identity: bool = False) -> None:
        super().__init__()
        self.cfg = _Cfg()
        self.emb = emb
        self.w = nn.Parameter(
            torch.eye(DIM) if identity else torch.randn(DIM, DIM, generator=torch.Generator().manual_seed(1))
        )

    def preprocess_cfg(self) -> None:
        return None

    def domain(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(name=name, preprocess=None)  # the record's preprocessing: none (raw tensors)

    def composable_domains(self) -> list[str]:
        return ["render3d", "blobs2d"]

    def unknown_words(self, texts: list[str]) -> list[str]:
        return []

    def embed(self, domain: str, x: torch.Tensor) -> torch.Tensor:
        return self.emb[x[:, 0].long()]  # (B, D)

    def compose(self, z: torch.Tensor, texts: list[str]) -> torch.Tensor:
        assert all(t.startswith("mod ") for t in texts)
        return F.normalize(z @ self.w, dim=-1)  # (B, D)


def _naive_recall(t: dict[str, torch.Tensor], w: torch.Tensor, k: int) -> float:
    hits = 0
    for i in range(N_QUERIES):
        q = F.normalize(t["emb"][t["source"][i]] @ w, dim=-1)
        scored = [(float(q @ t["emb"][j]), -j) for j in range(N_GALLERY) if j != int(t["source"][i])]
        top = [-j for _, j in sorted(scored, reverse=True)[:k]]
        hits += any(int(t["gallery_label"][j]) == int(t["target_label"][i]) for j in top)
    return hits / N_QUERIES


def test_recall_equals_a_naive_loop_with_the_query_image_removed() -> None:
    proto = create_protocol("composed_retrieval", data={"name": "toy_composed_for_tests"}, ks=[1, 5, 10], batch_size=7)
    ds = ToyQueries()
    task = ToyTask(ds.t["emb"])
    m = proto(task)
    assert set(m) == {"toy_to_toy_R@1", "toy_to_toy_R@5", "toy_to_toy_R@10"}
    for k in (1, 5, 10):
        assert m[f"toy_to_toy_R@{k}"] == pytest.approx(_naive_recall(ds.t, task.w.detach(), k))


def test_image_only_never_retrieves_its_own_source() -> None:
    proto = create_protocol(
        "composed_retrieval", data={"name": "toy_composed_for_tests", "args": {"same_label_target": True}}, ks=[1, 5]
    )
    ds = ToyQueries(same_label_target=True)
    m = proto(ToyTask(ds.t["emb"], identity=True))
    assert m["toy_to_toy_R@1"] == 0.0 and m["toy_to_toy_R@5"] == 0.0  # the only "hit" is the removed query image


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown experiment key"):
        create_protocol("composed_retrieval", data={"name": "toy_composed_for_tests"}, experiments=[{"bogus": 1}])
    with pytest.raises(ConfigError, match="needs a 'name'"):
        create_protocol("composed_retrieval", data={"args": {}})
    proto = create_protocol("composed_retrieval", data={"name": "world_pairs", "args": {"n": 4}})
    with pytest.raises(ConfigError, match="no gallery"):
        proto(ToyTask(torch.eye(DIM)))


def test_world_experiments_report_each_direction() -> None:
    data = create_dataset("world_scenes", split="train", n=16, size=32, view="blobs2d", paired_view="render3d")
    tiny = {"source_encoder": "tiny_cnn", "target_encoder": "tiny_cnn", "text_encoder": "tiny_lstm_text"}
    task = create_task("transfer", {**tiny, "embed_dim": 16}, data)
    proto = create_protocol(
        "composed_retrieval",
        data={"name": "world_scenes", "args": {"split": "test", "n": 12, "size": 32, "view": "render3d"}},
        experiments=[
            {"name": "3d_to_3d", "query_domain": "render3d", "gallery_domain": "render3d"},
            {"name": "2d_to_3d", "query_domain": "blobs2d", "query_args": {"view": "blobs2d"},
             "gallery_args": {"view": "render3d"}},
        ],
        ks=[1, 50],
    )  # fmt: skip
    m = proto(task)
    assert set(m) == {"3d_to_3d_R@1", "3d_to_3d_R@50", "2d_to_3d_R@1", "2d_to_3d_R@50"}
    assert m["3d_to_3d_R@50"] == 1.0  # 24 gallery items: every target is within the top 23
    assert all(0.0 <= v <= 1.0 for v in m.values())
    assert task.training  # the protocol restores the mode
