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
