"""The MUNIT-style peer of EGSC-IT (models/egsc_it/munit_style.py, ``egsc_it`` with ``adain: munit``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.errors import ConfigError
from semspace.models.egsc_it.munit_style import AdainParamMlp, MunitStylePath
from semspace.tasks import create_task, load_task

STAGE2 = str(Path(__file__).resolve().parents[3] / "configs" / "egsc_it" / "digits_stage2.yaml")
ARCH = {"size": 16, "channels": 4, "n_res": 1, "disc_channels": 4, "disc_layers": 2}


def test_style_path_shapes_and_mlp_formula() -> None:
    torch.manual_seed(0)
    path = MunitStylePath(channels=4, out_channels=6, style_dim=3)
    scale, bias = path(torch.rand(2, 3, 16, 16))
    assert scale.shape == bias.shape == (2, 6, 1, 1)
    mlp = AdainParamMlp(style_dim=3, out_channels=2, n_layers=1)  # one linear layer: check the split by hand
    code = torch.randn(4, 3)
    raw = mlp.net(code)  # (4, 4): [scale - 1 (2), bias (2)]
    s, b = mlp(code)
    torch.testing.assert_close(s[:, :, 0, 0], 1 + raw[:, :2])
    torch.testing.assert_close(b[:, :, 0, 0], raw[:, 2:])


def test_munit_needs_no_masks_and_trains_its_style_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="use_mask: false"):
        create_task("egsc_it", {**ARCH, "adain": "munit"})
    over = [f"task_args.{k}={v}" for k, v in ARCH.items()] + [
        "task_args.adain=munit", "task_args.use_mask=false", "task_args.perceptual=random_cnn", "init=[]", "eval={}",
        "data.train.args.n=16", "data.train.args.size=16", "train.batch_size=4", "train.num_workers=0",
        "train.ckpt_every=0", "train.max_steps=3", "train.lr=1e-2",
    ]  # fmt: skip
    train(load_run_cfg(STAGE2, over), tmp_path / "munit", evaluate=False)  # no stage 1 needed
    task, _ = load_task(tmp_path / "munit" / "model.pt")
    assert not task.uses_mask_ae and "style_paths.a.mlp.net.0.weight" in task.state_dict()
    task.train()
    batch = {"image": torch.rand(2, 3, 16, 16) * 2 - 1, "exemplar": torch.rand(2, 3, 16, 16) * 2 - 1}
    task.training_forward(batch)["loss"].backward()
    for side in ("a", "b"):  # the generator's loss reaches both style paths
        grads = [p.grad for p in task.style_paths[side].parameters()]
        assert all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)
    task.eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    ex = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        y1, y2 = task.translate(x, ex[:1]), task.translate(x, ex[1:])
    assert y1.shape == (2, 3, 16, 16) and not torch.allclose(y1, y2)  # the exemplar changes the output
