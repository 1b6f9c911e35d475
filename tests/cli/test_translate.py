"""``semspace translate`` on a tiny translation run: one picture, folders -> a grid on request, grey / RGBA / other
sizes read, a picture of the wrong domain refused with the domain the model expects (advice to swap only where that
fits), and the world's exported exemplars taken by a run of the digits. One picture per input (``--out DIR``):
``tests/cli/test_translate_files.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from semspace.cli.main import main
from semspace.config import load_run_cfg
from semspace.data import create_dataset
from semspace.data.transforms import to_pil
from semspace.engine.run import train
from semspace.retrieval.runs import load_run

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
            str(files["e"] / "0.png"), "--grid", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert Image.open(out).size == (2 * 18 + 2, 4 * 18 + 2)  # 1 + 1 columns, 1 + 3 rows of 16 px and 2 px gaps


def test_wrong_domain_names_the_expected_one(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["translate", "--run-dir", str(files["run"]), "--content", str(files["e"] / "0.png"), "--exemplar",
            str(files["c"] / "0.png"), "--out", str(files["root"] / "x.png")]  # fmt: skip
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "looks like domain 'b'" in err[0] and "expects the content from domain 'a'" in err[0]
    assert "swap --content and --exemplar, use --direction b2a, or pass --no-check-domains" in err[0]
    assert main([*argv, "--direction", "b2a"]) == 0


def _digits_run(run: Path, out: Path) -> None:
    """``run`` copied to ``out`` with the colour statistics of a run trained on the MNIST digits pair (domain A:
    black-and-white digits, B: coloured digits on coloured backgrounds), as ``guess_domain`` reads them."""
    from semspace.data.transforms import attach_transform
    from semspace.models.checkpoint import load_checkpoint, save_checkpoint
    from semspace.tasks.egsc_it import colour_stats

    shutil.copytree(run, out)
    ds = create_dataset("digit_pairs", source="mnist", split="train", size=16, direction="a2b", correlated=True)
    ckpt = load_checkpoint(out / "model.pt")
    attach_transform(ds, load_run(run)[0].domains()["a"].preprocess)
    state = ckpt["state_dict"]
    for side, key in enumerate(("image", "exemplar")):
        s = colour_stats(torch.stack([ds[i][key] for i in range(64)])).double()  # (64, N_STATS)
        state["stat_n"][side] = 64
        state["stat_sum"][side] = s.sum(0).to(state["stat_sum"].dtype)
        state["stat_sq"][side] = (s**2).sum(0).to(state["stat_sq"].dtype)
    save_checkpoint(out / "model.pt", ckpt)


def test_the_worlds_exemplars_are_taken_and_swapping_is_advised_only_where_it_fits(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The world's exported pairs (semspace world generate --kind pairs) with a run trained on the digits: their
    exemplars are unlike both of its domains and are translated; a content given as the exemplar is refused with
    advice for the exemplar, not to swap the arguments (the content would then be refused)."""
    root = files["root"]
    _digits_run(files["run"], root / "digits")
    assert main(["world", "generate", "--kind", "pairs", "--split", "test", "--n", "4", "--out", str(root / "w")]) == 0
    run = ["translate", "--run-dir", str(root / "digits"), "--grid", str(root / "w.png")]
    assert main([*run, "--content", str(root / "w/source"), "--exemplar", str(root / "w/exemplar")]) == 0
    capsys.readouterr()
    assert main([*run, "--content", str(root / "w/source/000000.png"), "--exemplar", str(root / "w/source")]) == 1
    err = capsys.readouterr().err.strip()
    assert "exemplar" in err and "looks like domain 'a'" in err and "swap" not in err
    assert "use a picture of domain 'b' as the exemplar, or pass --no-check-domains" in err
