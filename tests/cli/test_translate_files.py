"""``semspace translate`` on folders writes one picture per (content, exemplar), named after both, into ``--out DIR``
and the grid only with ``--grid``; each picture is that pair's translation; names that would collide, ``--out x.png``
with folders and an output folder inside an input folder are refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semspace.cli.main import main
from semspace.cli.translate_files import output_paths
from semspace.config import load_run_cfg
from semspace.data import create_dataset
from semspace.data.images import load_image
from semspace.data.transforms import build_transform, to_pil
from semspace.engine.run import train
from semspace.errors import ConfigError, DataError
from semspace.retrieval.runs import load_run

ROOT = Path(__file__).resolve().parents[2]
STAGE2 = str(ROOT / "configs" / "egsc_it" / "world_pairs_stage2.yaml")
TINY = [
    "task_args.size=16", "task_args.channels=4", "task_args.n_res=1", "task_args.disc_channels=4",
    "task_args.disc_layers=2", "task_args.perceptual=random_cnn", "task_args.use_mask=false",
    "task_args.adain=no_exemplar", "init=[]", "eval={}", "data.train.args.n=16", "data.train.args.size=16",
    "train.batch_size=8", "train.num_workers=0", "train.max_steps=2", "train.ckpt_every=0",
]  # fmt: skip


def _mix(self: object, content: torch.Tensor, exemplar: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
    """A stand-in translation that depends on both pictures (a tiny trained model hardly uses its exemplar)."""
    return (content + exemplar.flip(-1)) / 2


@pytest.fixture(autouse=True)
def _both_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    from semspace.tasks.egsc_it import EgscItTask

    monkeypatch.setattr(EgscItTask, "translate", _mix)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("translate_files")
    train(load_run_cfg(STAGE2, TINY), root / "run", evaluate=False)
    ds = create_dataset("world_pairs", split="test", n=4, size=16)
    for sub in ("c", "c/sub", "e"):
        (root / sub).mkdir()
    for i in range(3):
        to_pil(ds[i]["image"]).save(root / "c" / f"digit{i}.png")
    to_pil(ds[3]["image"]).save(root / "c" / "sub" / "deep.png")
    for i in range(2):
        to_pil(ds[i]["exemplar"]).save(root / "e" / f"style{i}.png")
    return {"root": root, "run": root / "run", "c": root / "c", "e": root / "e"}


def _translate(run: Path, content: Path, exemplar: Path) -> np.ndarray:
    """The translation of one pair as ``semspace translate`` writes it, computed here directly: (H, W, 3) uint8."""
    task, _ = load_run(run)
    pre = task.domains()["a"].preprocess
    t = build_transform(pre)
    x = [t(load_image(p, background=pre.background, channels=pre.channels))[None] for p in (content, exemplar)]
    with torch.no_grad():
        y = task.translate(x[0], x[1], direction="a2b")[0]
    return np.asarray(to_pil(y, pre))


def test_folders_write_one_picture_per_pair_named_after_both(files: dict[str, Path]) -> None:
    out = files["root"] / "out_pairs"
    argv = ["translate", "--run-dir", str(files["run"]), "--content", str(files["c"]), "--exemplar", str(files["e"]),
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    expected = [f"digit{i}__style{j}.png" for i in range(3) for j in range(2)]
    assert written == sorted([*expected, "sub/deep__style0.png", "sub/deep__style1.png"])  # no grid, no temp files
    differs = 0
    for i in range(3):
        for j in range(2):
            got = np.asarray(Image.open(out / f"digit{i}__style{j}.png").convert("RGB")).astype(int)
            want = _translate(files["run"], files["c"] / f"digit{i}.png", files["e"] / f"style{j}.png").astype(int)
            assert np.abs(got - want).max() <= 1, (i, j)  # this pair's translation
            other = _translate(files["run"], files["c"] / f"digit{i}.png", files["e"] / f"style{1 - j}.png")
            differs += int(np.abs(got - other.astype(int)).max() > 1)
    assert differs == 6  # the exemplar matters, so a swapped exemplar in a name would have been seen


def test_one_exemplar_names_by_content_and_the_grid_comes_on_request(files: dict[str, Path]) -> None:
    out, grid = files["root"] / "out_one", files["root"] / "sheet.png"
    argv = ["translate", "--run-dir", str(files["run"]), "--content", str(files["c"]), "--exemplar",
            str(files["e"] / "style1.png"), "--out", str(out), "--grid", str(grid)]  # fmt: skip
    assert main(argv) == 0
    assert sorted(p.name for p in out.rglob("*.png")) == ["deep.png", "digit0.png", "digit1.png", "digit2.png"]
    assert Image.open(grid).size == (2 * 18 + 2, 5 * 18 + 2)  # 1 + 1 columns, 1 + 4 rows of 16 px, 2 px gaps


def test_single_pair_to_a_file_or_into_a_folder(files: dict[str, Path]) -> None:
    c, e = files["c"] / "digit0.png", files["e"] / "style0.png"
    base = ["translate", "--run-dir", str(files["run"]), "--content", str(c), "--exemplar", str(e)]
    assert main([*base, "--out", str(files["root"] / "single.webp")]) == 0
    assert Image.open(files["root"] / "single.webp").size == (16, 16)
    folder = files["root"] / "single_dir"
    folder.mkdir()
    assert main([*base, "--out", str(folder)]) == 0
    assert [p.name for p in folder.iterdir()] == ["digit0.png"]


def test_refusals_name_the_fix_and_write_nothing(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    base = ["translate", "--run-dir", str(files["run"]), "--exemplar", str(files["e"])]
    capsys.readouterr()
    assert main([*base, "--content", str(files["c"]), "--out", str(files["root"] / "grid.png")]) == 1
    assert "--grid grid.png" in capsys.readouterr().err
    assert not (files["root"] / "grid.png").exists()
    assert main([*base, "--content", str(files["c"]), "--out", str(files["c"] / "translated")]) == 1
    assert "inside the --content folder" in capsys.readouterr().err
    assert not (files["c"] / "translated").exists()


def test_output_paths_refuse_collisions_before_any_work(tmp_path: Path) -> None:
    c, e = tmp_path / "c", tmp_path / "e"
    (c / "x").mkdir(parents=True)
    e.mkdir()
    contents = [c / "a.png", c / "a.jpg"]
    exemplars = [e / "s.png", e / "t.png"]
    for p in (*contents, *exemplars):
        p.touch()
    with pytest.raises(DataError, match=r"a\.jpg.*a\.png|a\.png.*a\.jpg"):
        output_paths(tmp_path / "out", c, e, contents, exemplars)
    paths = output_paths(tmp_path / "out", c, e, [c / "a.png", c / "x" / "a.png"], exemplars)
    assert paths == [[tmp_path / "out" / "a__s.png", tmp_path / "out" / "a__t.png"],
                     [tmp_path / "out" / "x" / "a__s.png", tmp_path / "out" / "x" / "a__t.png"]]  # fmt: skip
    nested = [e / "s.png", e / "deep" / "s.png"]
    assert [p.name for p in output_paths(tmp_path / "o", c, e, [c / "a.png"], nested)[0]] == [
        "a__s.png",
        "a__deep-s.png",
    ]
    with pytest.raises(ConfigError, match="names no picture format"):
        output_paths(tmp_path / "t.txt", c / "a.png", e / "s.png", [c / "a.png"], [e / "s.png"])
    (tmp_path / "file").touch()
    with pytest.raises(ConfigError, match="is a file"):
        output_paths(tmp_path / "file", c, e, contents[:1], exemplars)
