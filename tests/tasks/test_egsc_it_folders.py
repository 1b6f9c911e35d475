"""EGSC-IT on a user's unpaired two-domain folders (``trainA/ trainB/ testA/ testB/``) through the CLI:
``configs/egsc_it/folders_stage{1,2}.yaml`` train (B from the extra stream ``b``), stage 2 loads stage 1,
``semspace eval`` reports the scores that need no ground truth, and ``semspace translate`` draws the grid."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semspace.cli.main import main
from semspace.tasks import load_task

ROOT = Path(__file__).resolve().parents[2]
CFG = ROOT / "configs" / "egsc_it"
COUNTS = {"trainA": 6, "trainB": 5, "testA": 3, "testB": 2}  # unequal on purpose: nothing is paired


def _picture(rng: np.random.Generator, styled: bool, size: int) -> Image.Image:
    """A disc at a random place: white on black (A) or one colour on another (B); sizes differ per file."""
    yy, xx = np.mgrid[:size, :size]
    cy, cx, r = rng.integers(size // 4, 3 * size // 4, 2).tolist() + [size // 5]
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    fg, bg = ((rng.integers(0, 256, 3), rng.integers(0, 256, 3)) if styled
              else (np.full(3, 255), np.zeros(3)))  # fmt: skip
    return Image.fromarray(np.where(disc[..., None], fg, bg).astype(np.uint8))


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("two_domain") / "data"
    rng = np.random.default_rng(0)
    for folder, n in COUNTS.items():
        (root / folder).mkdir(parents=True)
        for i in range(n):
            _picture(rng, folder.endswith("B"), 20 + 4 * i).save(root / folder / f"{i:03d}.png")
    (root / "trainA_seg").mkdir()  # extra folders of the published layouts are ignored
    return root


def _roots(data: Path, *keys: str) -> list[str]:
    return [x for k in keys for x in ("--set", f"{k}.args.root={data}")]


TINY = [
    "task_args.size=16", "task_args.channels=4", "task_args.n_down=1", "task_args.n_res=1",
    "task_args.disc_channels=4", "task_args.disc_layers=2", "train.batch_size=2", "train.num_workers=0",
    "train.max_steps=3", "train.log_every=1", "train.ckpt_every=0",
]  # fmt: skip


def test_folders_train_eval_and_translate(folders: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = [x for t in TINY for x in ("--set", t)]
    s1, s2 = tmp_path / "stage1", tmp_path / "stage2"
    argv = ["train", "--config", str(CFG / "folders_stage1.yaml"), "--run-dir", str(s1), *tiny,
            *_roots(folders, "data.train", "data.extra.b")]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    init = f"init=[{{checkpoint: {s1 / 'model.pt'}, module: mask_ae}}]"
    argv = ["train", "--config", str(CFG / "folders_stage2.yaml"), "--run-dir", str(s2), *tiny,
            "--set", "task_args.perceptual=random_cnn", "--set", init, "--no-eval",
            *_roots(folders, "data.train", "data.extra.b", "eval.data", "eval.exemplar_data")]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    task, _ = load_task(s2 / "model.pt")
    assert all(int(ae.trained_steps) == 3 for ae in task.mask_ae.values())  # stage 1 loaded
    assert int(task.stat_n[0]) > 0 and int(task.stat_n[1]) > 0  # both streams reached the task

    capsys.readouterr()
    assert main(["eval", "--run-dir", str(s2), "--json"]) == 0, capsys.readouterr().err
    metrics = json.loads(capsys.readouterr().out)
    assert math.isfinite(metrics["style_distance"]) and math.isfinite(metrics["diversity"])
    assert not {"ssim", "psnr", "semantic_consistency"} & set(metrics)  # no ground truth, no labels: not made up

    out = tmp_path / "grid.png"
    argv = ["translate", "--run-dir", str(s2), "--content", str(folders / "testA"), "--exemplar",
            str(folders / "testB"), "--grid", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert Image.open(out).size == (3 * 18 + 2, 4 * 18 + 2)  # 1 + 2 columns, 1 + 3 rows of 16 px, 2 px gaps


def test_folders_without_exemplars_say_what_to_give(folders: Path, tmp_path: Path) -> None:
    from semspace.errors import ConfigError
    from semspace.eval.protocols.egsc_it import TranslationProtocol
    from semspace.tasks import create_task

    task = create_task("egsc_it", {"size": 16, "channels": 4, "n_res": 1, "disc_channels": 4, "disc_layers": 2,
                                   "use_mask": False, "adain": "no_exemplar"})  # fmt: skip
    proto = TranslationProtocol(data={"name": "two_domain", "args": {"root": str(folders), "split": "test"}})
    with pytest.raises(ConfigError, match="exemplar_data"):
        proto(task)
