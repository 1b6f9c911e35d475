"""``semspace translate`` on a tiny translation run: one picture, folders -> a grid, grey / RGBA / other sizes read,
and a picture of the wrong domain refused with the domain the model expects."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from semspace.cli.main import main
from semspace.config import load_run_cfg
from semspace.data import create_dataset
from semspace.data.transforms import to_pil
from semspace.engine.run import train

ROOT = Path(__file__).resolve().parents[2]
STAGE2 = str(ROOT / "configs" / "egsc_it" / "world_pairs_stage2.yaml")
TINY = [
    "task_args.size=16", "task_args.channels=4", "task_args.n_res=1", "task_args.disc_channels=4",
    "task_args.disc_layers=2", "task_args.perceptual=random_cnn", "task_args.use_mask=false",
    "task_args.adain=no_exemplar", "init=[]", "eval={}", "data.train.args.n=16", "data.train.args.size=16",
    "train.batch_size=8", "train.num_workers=0", "train.max_steps=2", "train.ckpt_every=0",
]  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("translate")
    train(load_run_cfg(STAGE2, TINY), root / "run", evaluate=False)
    ds = create_dataset("world_pairs", split="test", n=3, size=24)
    (root / "c").mkdir()
    (root / "e").mkdir()
    for i in range(3):
        to_pil(ds[i]["image"]).convert("L").save(root / "c" / f"{i}.png")  # greyscale content
        to_pil(ds[i]["exemplar"]).convert("RGBA").save(root / "e" / f"{i}.png")  # RGBA exemplar
    return {"root": root, "run": root / "run", "c": root / "c", "e": root / "e"}


def test_one_picture(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = files["root"] / "one.png"
    argv = ["translate", "--run-dir", str(files["run"]), "--content", str(files["c"] / "0.png"), "--exemplar",
            str(files["e"] / "1.png"), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert Image.open(out).size == (16, 16)


def test_folders_make_a_grid(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = files["root"] / "grid.png"
    argv = ["translate", "--run-dir", str(files["run"]), "--content", str(files["c"]), "--exemplar",
            str(files["e"] / "0.png"), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert Image.open(out).size == (2 * 18 + 2, 4 * 18 + 2)  # 1 + 1 columns, 1 + 3 rows of 16 px and 2 px gaps


def test_wrong_domain_names_the_expected_one(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["translate", "--run-dir", str(files["run"]), "--content", str(files["e"] / "0.png"), "--exemplar",
            str(files["c"] / "0.png"), "--out", str(files["root"] / "x.png")]  # fmt: skip
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "looks like domain 'b'" in err[0] and "expects the content from domain 'a'" in err[0]
    assert main([*argv, "--direction", "b2a"]) == 0
