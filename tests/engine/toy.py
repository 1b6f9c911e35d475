"""A tiny task and dataset for engine tests (regression with dropout, so RNG state matters on resume)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from semspace.tasks.base import Task, TaskCfg


class ToyDataset(Dataset):
    def __init__(self, n: int = 64, dim: int = 4) -> None:
        g = torch.Generator().manual_seed(123)
        self.x = torch.randn(n, dim, generator=g)
        self.y = self.x @ torch.arange(1.0, dim + 1) + 0.5

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return {"features": self.x[idx], "label": self.y[idx], "index": idx}


@dataclass
class ToyCfg(TaskCfg):
    dim: int = 4
    dropout: float = 0.1
    nan_at_step: int = -1  # inject a non-finite loss at this call (tests the check)


class ToyTask(Task):
    Cfg = ToyCfg
    name = "toy"

    def __init__(self, cfg: ToyCfg) -> None:
        super().__init__(cfg)
        self.net = nn.Sequential(nn.Linear(cfg.dim, 16), nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(16, 1))
        self.calls = 0

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        self.calls += 1
        pred = self.net(batch["features"]).squeeze(-1)  # (B,)
        loss = ((pred - batch["label"]) ** 2).mean()
        if self.calls == self.cfg.nan_at_step:
            loss = loss * float("nan")
        return {"loss": loss, "mae": (pred - batch["label"]).abs().mean()}


class TwoGroupTask(ToyTask):
    """Two optimizers (like a GAN's D and G), stepped in the declared order."""

    name = "toy2"

    def __init__(self, cfg: ToyCfg) -> None:
        super().__init__(cfg)
        self.other = nn.Linear(cfg.dim, 1)
        self.order: list[str] = []

    def optimizer_groups(self, train_cfg: Any) -> dict[str, list[dict[str, Any]]]:
        return {
            "first": [{"params": list(self.other.parameters())}],
            "second": [{"params": list(self.net.parameters())}],
        }

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        self.order.append(group)
        if group == "first":
            pred = self.other(batch["features"]).squeeze(-1)
            return {"loss": ((pred - batch["label"]) ** 2).mean()}
        return super().training_forward(batch, group)


# ---- tasks for the engine hooks (tests/engine/test_hooks.py) -------------------------------------------------
class ToyClassDataset(ToyDataset):
    """``ToyDataset`` items plus an integer class ``"cls"`` (``idx % n_classes``) for class-balanced sampling."""

    def __init__(self, n: int = 60, dim: int = 4, n_classes: int = 6, seed: int = 123) -> None:
        super().__init__(n, dim)
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, dim, generator=g)
        self.y = self.x @ torch.arange(1.0, dim + 1) + 0.5
        self.classes = [i % n_classes for i in range(n)]

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return {**super().__getitem__(idx), "cls": self.classes[idx]}


class RecordingTask(ToyTask):
    """``ToyTask`` that records the item indices of every training batch (and of its extra streams)."""

    name = "toy_rec"

    def __init__(self, cfg: ToyCfg) -> None:
        super().__init__(cfg)
        self.seen: list[dict[str, list[int]]] = []

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        rec = {"train": batch["index"].tolist()}
        rec.update({k: v["index"].tolist() for k, v in batch.items() if isinstance(v, dict)})
        self.seen.append(rec)
        return super().training_forward(batch, group)


class BalancedTask(RecordingTask):
    """Trains on P x K class-balanced batches chosen by its ``train_sampler`` hook."""

    name = "toy_balanced"
    P, K = 3, 4

    def __init__(self, cfg: ToyCfg) -> None:
        super().__init__(cfg)
        self.classes_seen: list[list[int]] = []
        self.sampler_args: dict[str, Any] = {}

    def train_sampler(self, dataset: Any, *, stream: str, seed: int, num_replicas: int, rank: int) -> Any:
        from semspace.data.samplers import ClassBalancedSampler

        self.sampler_args = {"stream": stream, "seed": seed, "num_replicas": num_replicas, "rank": rank}
        return ClassBalancedSampler(dataset.classes, self.P, self.K, seed=seed, num_replicas=num_replicas, rank=rank)

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        self.classes_seen.append(batch["cls"].tolist())
        return super().training_forward(batch, group)


class TwoStreamTask(RecordingTask):
    """Reads the main batch and the ``"source"`` stream's batch in every step (CHTN's source beside target)."""

    name = "toy_streams"

    def __init__(self, cfg: ToyCfg) -> None:
        super().__init__(cfg)
        self.src_head = nn.Linear(cfg.dim, 1)
        self.shapes: list[tuple[tuple[int, ...], tuple[int, ...]]] = []

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        src = batch["source"]
        self.shapes.append((tuple(batch["features"].shape), tuple(src["features"].shape)))
        out = super().training_forward(batch, group)
        src_loss = ((self.src_head(src["features"]).squeeze(-1) - src["label"]) ** 2).mean()
        return {**out, "loss": out["loss"] + src_loss, "src_loss": src_loss}


class SlowFirstTask(TwoGroupTask):
    """``TwoGroupTask`` whose "first" group steps once every ``every`` trainer steps (EGSC-IT's discriminator)."""

    name = "toy_slow"
    every = 5

    def step_every(self) -> dict[str, int]:
        return {"first": self.every}


class FrozenStageTask(Task):
    """A head on top of ``stage``, a copy of ``ToyTask.net`` meant to be loaded from a trained toy run and frozen."""

    Cfg = ToyCfg
    name = "toy_stage"

    def __init__(self, cfg: ToyCfg, hidden: int = 16) -> None:
        super().__init__(cfg)
        self.stage = nn.Sequential(nn.Linear(cfg.dim, hidden), nn.ReLU(), nn.Dropout(0.5), nn.Linear(hidden, 1))
        self.head = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(8, 1))
        self.stage_training: list[bool] = []

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        self.stage_training.append(self.stage.training)
        pred = self.head(self.stage(batch["features"])).squeeze(-1)  # (B,)
        return {"loss": ((pred - batch["label"]) ** 2).mean()}
