"""End to end through the CLI: train on the world for a few steps, resume after a kill, reload the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from semspace.cli.main import main
from semspace.engine.logging import read_metrics
from semspace.models.checkpoint import load_checkpoint
from semspace.tasks import load_task

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "align" / "world_2d_3d.yaml"
TINY = [
    "--set", "data.train.args.n=16", "--set", "data.train.args.size=32",
    "--set", "train.batch_size=8", "--set", "train.ckpt_every=2", "--set", "train.log_every=1",
    "--set", "eval.data.args.n=8", "--set", "eval.data.args.size=32", "--set", "train.eval_every=0",
]  # fmt: skip


def test_train_resume_and_reload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "--config", str(CONFIG), "--run-dir", str(run), "--max-steps", "2", *TINY]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "blobs2d_to_render3d_R@1" in out and 0.0 <= out["mean_R@1"] <= 1.0
    assert load_checkpoint(run / "last.pt")["step"] == 2
    # the same command with more steps continues from last.pt (as after a kill) instead of starting over
    assert main(["train", "--config", str(CONFIG), "--run-dir", str(run), "--max-steps", "4", *TINY]) == 0
    steps = [r["step"] for r in read_metrics(run) if r["split"] == "train"]
    assert steps == [1, 2, 3, 4]
    assert (
        main(
            ["eval", "--run-dir", str(run), "--json", "--set", "eval.data.args.n=6", "--out", str(tmp_path / "m.json")]
        )
        == 0
    )
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated == json.loads((tmp_path / "m.json").read_text()) and "render3d_to_blobs2d_R@1" in evaluated
    task, ckpt = load_task(run / "model.pt")
    assert ckpt["task"] == "align" and ckpt["step"] == 4 and ckpt["preprocess_cfg"]["size"] > 0
    x = torch.rand(3, 3, 32, 32)
    z = task.model.encode("render3d", x)
    assert z.shape == (3, 64) and torch.allclose(z.norm(dim=-1), torch.ones(3), atol=1e-5)


def test_bad_dataset_argument_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["train", "--config", str(CONFIG), "--run-dir", str(tmp_path / "r"), "--set", "data.train.args.vieww=x"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "unknown argument(s) ['vieww']" in err and "Traceback" not in err


@pytest.mark.slow
def test_quick_demo_writes_report_and_beats_untrained(tmp_path: Path) -> None:
    from semspace.demo import run_demo

    out = tmp_path / "demo"
    metrics = run_demo(out, quick=True)
    report = (out / "report.md").read_text()
    assert report.count("![") == 10  # results, three searches, three contact sheets, CHTN, SSGN, EGSC-IT grids
    for picture in ("results_3d.png", "search_0.png", "search_1.png", "search_2.png", "sheets/scenes.png",
                    "chtn/chtn_text_to_image.png", "ssgn/ssgn_sketch_to_photo.png",
                    "egsc_it/egsc_it_digits_grid.png"):  # fmt: skip
        assert (out / picture).is_file(), picture
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["tirg_transferred"] == metrics["tirg_transferred"]
    assert metrics["tirg_transferred"]["3d_to_3d_R@10"] > metrics["untrained"]["3d_to_3d_R@10"] + 0.1
    assert len(metrics["examples"]) == 3 and all(len(e["hits"]) == 5 for e in metrics["examples"])
    assert (out / "index" / "manifest.json").is_file() and metrics["index"]["total"] > 0
    egsc = saved["egsc_it"]
    assert {"ssim", "psnr", "semantic_consistency", "style_distance", "diversity"} <= set(egsc)
    assert "Exemplar-guided translation (EGSC-IT)" in report and f"{egsc['ssim']:.3f}" in report


def test_checkpoint_rebuilds_without_presets(tmp_path: Path) -> None:
    """model.pt stores each encoder's full config, so a changed or missing preset cannot alter it."""
    from semspace.tasks import create_task

    task = create_task("align", {"encoder_a": "tiny_cnn", "encoder_b": "tiny_cnn", "embed_dim": 16})
    cfg = task.export_cfg()
    assert cfg["encoder_a"]["architecture"] == "small_cnn" and cfg["encoder_a"]["cfg"]["embed_dim"] == 16
    rebuilt = create_task("align", cfg)
    assert rebuilt.export_cfg() == cfg
    rebuilt.load_state_dict(task.state_dict())
    x = torch.rand(2, 3, 32, 32)
    task.eval(), rebuilt.eval()
    assert torch.equal(task.model.encode("blobs2d", x), rebuilt.model.encode("blobs2d", x))
