"""``precision: bf16`` on a CPU without native bf16 logs one warning when training starts (issue 20 item 5)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from semspace.config import TrainCfg
from semspace.engine import Trainer
from semspace.utils import device as device_mod

from .toy import ToyCfg, ToyDataset, ToyTask


@pytest.mark.parametrize(
    ("flags", "warned"), [("fpu sse2 avx2 avx512f", True), ("avx512f avx512_bf16 amx_bf16", False)]
)
def test_bf16_training_warns_only_on_a_cpu_without_native_bf16(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, flags: str, warned: bool
) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    monkeypatch.setattr(device_mod, "CPUINFO", info)
    monkeypatch.delenv(device_mod.ISA_ENV, raising=False)
    cfg = TrainCfg(max_steps=2, batch_size=8, precision="bf16", device="cpu", log_every=1, num_workers=0)
    with caplog.at_level(logging.WARNING, logger="semspace.engine.trainer"):
        Trainer(ToyTask(ToyCfg(dropout=0.0)), cfg, tmp_path / "run", dataset=ToyDataset()).fit()
    said = [r.getMessage() for r in caplog.records if "without native bf16" in r.getMessage()]
    assert len(said) == (1 if warned else 0), said
