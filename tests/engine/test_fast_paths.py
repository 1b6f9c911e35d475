"""The training loop's speed options (engine/fast_paths.py): channels_last, fused optimizers, compile, data wait."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from semspace.config import TrainCfg
from semspace.engine import Trainer
from semspace.engine.fast_paths import (
    CHANNELS_LAST_MIN_WIDTH,
    channels_last_batch,
    channels_last_pays,
    check_speed_cfg,
    fused_supported,
    resolve_channels_last,
    resolve_fused,
    tristate,
)
from semspace.engine.logging import read_metrics
from semspace.errors import ConfigError
from semspace.tasks.base import Task, TaskCfg

from .toy import ToyCfg, ToyDataset, ToyTask

ROOT = Path(__file__).resolve().parents[2]
CPU = torch.device("cpu")
CL = torch.channels_last
# fused vs the per-parameter loop: the same update in another float32 order; after FUSED_STEPS steps of AdamW on
# the conv toy task the loss agrees to FUSED_RTOL (measured: 2e-9 relative; docs/engine.md "Speed")
FUSED_STEPS, FUSED_RTOL = 30, 1e-4


class ImageDataset(Dataset):
    """Random (3, 8, 8) images with a nested view and a regression target."""

    def __init__(self, n: int = 32) -> None:
        g = torch.Generator().manual_seed(5)
        self.x = torch.rand(n, 3, 8, 8, generator=g)
        self.y = self.x.mean(dim=(1, 2, 3))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return {"image": self.x[idx], "label": self.y[idx], "index": idx, "view": {"image": self.x[idx].flip(-1)}}


@dataclass
class ConvCfg(TaskCfg):
    width: int = 64


class ConvTask(Task):
    """Two convolutions and a head; records the memory format of its inputs."""

    Cfg = ConvCfg
    name = "toy_conv"

    def __init__(self, cfg: ConvCfg) -> None:
        super().__init__(cfg)
        self.net = nn.Sequential(
            nn.Conv2d(3, cfg.width, 3, padding=1), nn.ReLU(), nn.Conv2d(cfg.width, cfg.width, 3, padding=1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cfg.width, 1),
        )  # fmt: skip
        self.inputs_nhwc: list[bool] = []

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        x, xv = batch["image"], batch["view"]["image"]  # (B, 3, 8, 8) each
        self.inputs_nhwc.append(x.is_contiguous(memory_format=CL) and xv.is_contiguous(memory_format=CL))
        pred = (self.net(x) + self.net(xv)).squeeze(-1) / 2  # (B,)
        return {"loss": ((pred - batch["label"]) ** 2).mean()}


def _cfg(**kw: Any) -> TrainCfg:
    base: dict[str, Any] = dict(max_steps=6, batch_size=8, lr=1e-2, log_every=3, ckpt_every=0, seed=3)
    return TrainCfg(**{**base, **kw})


# ---- the settings ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [("auto", None), (True, True), ("false", False), ("On", True)])
def test_tristate_reads_auto_true_false(value: Any, expected: bool | None) -> None:
    assert tristate(value, "train.x") is expected


def test_bad_setting_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"train\.channels_last.*'fast'.*auto, true or false"):
        check_speed_cfg(TrainCfg(channels_last="fast"))
    with pytest.raises(ConfigError, match=r"train\.fused_optimizer"):
        check_speed_cfg(TrainCfg(fused_optimizer=2))  # type: ignore[arg-type]


def test_channels_last_auto_follows_the_trained_conv_widths() -> None:
    wide, narrow = ConvTask(ConvCfg(width=CHANNELS_LAST_MIN_WIDTH * 2)), ConvTask(ConvCfg(width=8))
    assert channels_last_pays(wide) and not channels_last_pays(narrow)
    assert not channels_last_pays(ToyTask(ToyCfg()))  # no convolution at all
    assert resolve_channels_last("auto", wide, CPU) and not resolve_channels_last("auto", narrow, CPU)
    assert not resolve_channels_last("auto", wide, torch.device("meta"))  # only CPU and CUDA were measured
    assert resolve_channels_last(True, narrow, CPU) and not resolve_channels_last(False, wide, CPU)
    wide.net.requires_grad_(False)  # a frozen backbone does not count
    assert not channels_last_pays(wide)


def test_channels_last_batch_converts_nested_float_images_only() -> None:
    batch = {
        "image": torch.rand(2, 3, 4, 5), "mask": torch.ones(2, 1, 4, 5, dtype=torch.long), "vec": torch.rand(2, 7),
        "text": ["a", "b"], "src": {"image": torch.rand(2, 3, 4, 5), "pair": [torch.rand(2, 3, 4, 5)]},
    }  # fmt: skip
    out = channels_last_batch(batch)
    for x in (out["image"], out["src"]["image"], out["src"]["pair"][0]):
        assert x.shape == (2, 3, 4, 5) and x.is_contiguous(memory_format=CL) and not x.is_contiguous()
    assert torch.equal(out["image"], batch["image"]) and out["text"] == ["a", "b"]
    assert out["mask"].is_contiguous() and out["vec"] is batch["vec"]


def test_fused_is_resolved_per_optimizer_and_device() -> None:
    assert fused_supported("adamw", CPU) and fused_supported("SGD", CPU)
    assert resolve_fused("auto", "adam", CPU) and not resolve_fused(False, "adam", CPU)
    assert not fused_supported("rmsprop", CPU) and not resolve_fused("auto", "rmsprop", CPU)
    with pytest.raises(ConfigError, match=r"train\.fused_optimizer=true.*'rmsprop'"):
        resolve_fused(True, "rmsprop", CPU)


# ---- the trainer -----------------------------------------------------------------------------------------------
def test_trainer_runs_nhwc_weights_and_inputs(tmp_path: Path) -> None:
    task = ConvTask(ConvCfg(width=64))
    trainer = Trainer(task, _cfg(channels_last="auto"), tmp_path / "cl", dataset=ImageDataset())
    trainer.fit()
    assert trainer.channels_last and task.net[2].weight.is_contiguous(memory_format=CL)
    assert task.inputs_nhwc and all(task.inputs_nhwc)  # the nested view too
    off = ConvTask(ConvCfg(width=64))
    Trainer(off, _cfg(channels_last=False), tmp_path / "off", dataset=ImageDataset()).fit()
    assert not any(off.inputs_nhwc) and off.net[2].weight.is_contiguous()


def _loss_after(tmp_path: Path, **kw: Any) -> tuple[float, torch.Tensor]:
    torch.manual_seed(0)
    task = ConvTask(ConvCfg(width=16))
    cfg = _cfg(max_steps=FUSED_STEPS, log_every=FUSED_STEPS, optimizer="adamw", weight_decay=1e-2, **kw)
    trainer = Trainer(task, cfg, tmp_path, dataset=ImageDataset())
    trainer.fit()
    assert trainer.fused is (kw["fused_optimizer"] is True)
    params = torch.cat([p.detach().flatten() for p in task.parameters()])
    return read_metrics(tmp_path)[-1]["loss"], params


def test_fused_optimizer_gives_the_same_numbers_within_tolerance(tmp_path: Path) -> None:
    loss_f, p_f = _loss_after(tmp_path / "fused", fused_optimizer=True)
    loss_l, p_l = _loss_after(tmp_path / "loop", fused_optimizer=False)
    assert loss_f == pytest.approx(loss_l, rel=FUSED_RTOL)
    assert torch.allclose(p_f, p_l, rtol=FUSED_RTOL, atol=1e-5)
    torch.manual_seed(0)
    untrained = torch.cat([p.detach().flatten() for p in ConvTask(ConvCfg(width=16)).parameters()])
    assert not torch.allclose(p_f, untrained, rtol=FUSED_RTOL, atol=1e-5)  # the tolerance is finer than training


def test_resume_uses_this_runs_optimizer_kernel(tmp_path: Path) -> None:
    task = ConvTask(ConvCfg(width=8))
    Trainer(task, _cfg(max_steps=4, ckpt_every=2, fused_optimizer=False), tmp_path, dataset=ImageDataset()).fit()
    again = Trainer(ConvTask(ConvCfg(width=8)), _cfg(max_steps=6, fused_optimizer=True), tmp_path,
                    dataset=ImageDataset())  # fmt: skip
    again.fit(resume=True)
    assert again.step == 6 and all(g["fused"] for g in again.optimizers["main"].param_groups)


class SlowDataset(ToyDataset):
    def __getitem__(self, idx: int) -> dict[str, Any]:
        time.sleep(0.01)  # 80 ms of waiting per batch of 8 against a step of well under 10 ms
        return super().__getitem__(idx)


def test_data_wait_is_logged(tmp_path: Path) -> None:
    Trainer(ToyTask(ToyCfg()), _cfg(), tmp_path / "fast", dataset=ToyDataset()).fit()
    rows = [r for r in read_metrics(tmp_path / "fast") if r["split"] == "train"]
    assert len(rows) == 2 and all(0.0 <= r["data_wait"] <= 1.0 for r in rows)
    Trainer(ToyTask(ToyCfg()), _cfg(), tmp_path / "slow", dataset=SlowDataset()).fit()
    slow = [r["data_wait"] for r in read_metrics(tmp_path / "slow") if r["split"] == "train"]
    assert min(slow) > 0.5  # the step waits on the data nearly all the time


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("cc") or shutil.which("gcc")), reason="torch.compile on CPU needs a C compiler")
def test_compile_option_trains_on_cpu(tmp_path: Path) -> None:
    torch.manual_seed(0)
    eager = ConvTask(ConvCfg(width=8))
    compiled = ConvTask(ConvCfg(width=8))
    compiled.load_state_dict(eager.state_dict())
    Trainer(eager, _cfg(max_steps=3, fused_optimizer=False), tmp_path / "eager", dataset=ImageDataset()).fit()
    tr = Trainer(compiled, _cfg(max_steps=3, compile=True, fused_optimizer=False), tmp_path / "compiled",
                 dataset=ImageDataset())  # fmt: skip
    tr.fit()
    assert tr.model is not compiled  # the compiled wrapper ran the steps
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


# ---- the benchmark -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_train_speed_benchmark_quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the benchmark reads configs/ of the checkout
    spec = importlib.util.spec_from_file_location("semspace_bench_train_speed", ROOT / "benchmarks/train_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    module.main(out_dir=tmp_path, quick=True, cases=["tirg"])
    doc = json.loads((tmp_path / "train_speed_quick.json").read_text())
    rows = {r["variant"]: r for r in doc["rows"]}
    assert set(rows) == {"before", "after", "channels_last", "fused"}  # TIRG's auto: both options
    assert rows["after"]["channels_last"] and rows["after"]["fused"]
    assert not rows["before"]["channels_last"] and not rows["before"]["fused"]
    assert all(r["gflop_per_step"] > 1 and 0 < r["of_matmul"] and r["engine_vs_bare"] != "" for r in
               (rows["before"], rows["after"]))  # fmt: skip
    assert any("tirg" in v and "matmul rate" in v for v in doc["config"]["verdicts"])
    parts = doc["config"]["cases"]["tirg"]["parts"]  # each option alone
    assert parts["opt_loop_ms"] > 0 and parts["opt_fused_ms"] > 0 and parts["fwd_bwd_nhwc_ms"] > 0
    assert "Targets (issue 20)" in (tmp_path / "train_speed_quick.md").read_text()
