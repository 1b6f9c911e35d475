"""The EGSC-IT digits configs (configs/egsc_it/digits_stage*.yaml) train, load stage 1 and evaluate on digit_pairs."""

from __future__ import annotations

import math
from pathlib import Path

from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.tasks import load_task

ROOT = Path(__file__).resolve().parents[2]
CFG = ROOT / "configs" / "egsc_it"
TINY = [
    "task_args.size=16", "task_args.channels=4", "task_args.n_res=1", "task_args.disc_channels=4",
    "task_args.disc_layers=2", "data.train.args.n=16", "data.train.args.size=16", "train.batch_size=4",
    "train.num_workers=0", "train.log_every=1", "train.ckpt_every=0", "train.max_steps=2",
]  # fmt: skip


def test_digits_configs_train_and_evaluate(tmp_path: Path) -> None:
    s1 = tmp_path / "stage1"
    train(load_run_cfg(str(CFG / "digits_stage1.yaml"), TINY), s1, evaluate=False)
    stage2 = [
        *TINY, "task_args.perceptual=random_cnn", f"init=[{{checkpoint: {s1 / 'model.pt'}, module: mask_ae}}]",
        "eval.data.args.n=12", "eval.data.args.size=16", "eval.classifier_data.args.n=40",
        "eval.classifier_data.args.size=16", "eval.classifier_steps=3", "eval.n_diversity=4", "eval.n_exemplars=2",
    ]  # fmt: skip
    metrics = train(load_run_cfg(str(CFG / "digits_stage2.yaml"), stage2), tmp_path / "stage2")
    for k in ("ssim", "psnr", "semantic_consistency", "style_distance", "diversity", "classifier_acc_real"):
        assert k in metrics and math.isfinite(metrics[k]), k
    task, _ = load_task(tmp_path / "stage2" / "model.pt")
    assert all(int(ae.trained_steps) == 2 for ae in task.mask_ae.values())  # stage 1 loaded
