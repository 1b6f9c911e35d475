"""``semspace bench chtn --data SPEC``: CHTN's paper-style table (CCA, semantic matching, DSCMR, CHTN and its
ablations) on a feature-file fixture in the Wikipedia benchmark's distributed layout (``raw_features.mat`` with
``I_tr``/``T_tr``/``I_te``/``T_te``, the two tab-separated category lists, ``categories.list``; built by
``wikipedia_layout``), with a fold, a labelled source and two seeds; and the command's errors for benchmarks that
take no ``--data``/``--seeds``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from wikipedia_layout import source_features, wikipedia_folder

from semspace.cli.bench import parse_role_specs
from semspace.cli.main import main
from semspace.errors import SemspaceError

ROOT = Path(__file__).resolve().parents[2]


def _bench(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(tmp_path)  # the benchmark's run folders (runs/bench/...) land in tmp_path
    return main(["bench", "chtn", "--root", str(ROOT / "benchmarks"), "--quick", "--out", str(tmp_path / "out"), *args])


def test_bench_chtn_on_wikipedia_feature_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = wikipedia_folder(tmp_path / "wikipedia")
    assert _bench(["--data", f"wikipedia_xmodal:root={root}"], tmp_path, monkeypatch) == 0
    doc = json.loads((tmp_path / "out" / "chtn_wikipedia_xmodal_quick.json").read_text())
    rows = {r["method"]: r for r in doc["rows"]}
    assert {"CCA", "semantic matching", "DSCMR objective", "CHTN (no source given: transfer off)"} <= set(rows)
    assert "CHTN warm-started on the source" not in rows  # no source: the transfer rows are left out, and said so
    for r in rows.values():
        assert 0.0 < r["image->text MAP"] <= 1.0 and 0.0 < r["text->image MAP"] <= 1.0
    # the fixture's classes are separable in both modalities: the baselines must see it (chance MAP is ~0.15)
    assert rows["semantic matching"]["mean MAP"] > 0.5 and rows["CCA"]["mean MAP"] > 0.3
    md = (tmp_path / "out" / "chtn_wikipedia_xmodal_quick.md").read_text()
    assert "| CCA |" in md and "| semantic matching |" in md and "no source given" in md


@pytest.mark.slow
def test_bench_chtn_with_a_fold_a_source_and_two_seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = wikipedia_folder(tmp_path / "wikipedia", n_train=9)
    source_features(tmp_path / "source.npz")
    args = ["--data", f"wikipedia_xmodal:root={root},fold=1/3", "--data",
            f"source=features:path={tmp_path / 'source.npz'},modality=img", "--seeds", "2"]  # fmt: skip
    assert _bench(args, tmp_path, monkeypatch) == 0
    doc = json.loads((tmp_path / "out" / "chtn_wikipedia_xmodal_quick.json").read_text())
    rows = {r["method"]: r for r in doc["rows"]}
    assert {"CHTN", "CHTN without source (no transfer)", "CHTN warm-started on the source"} <= set(rows)
    assert all(r["seeds"] == 2 and len(r["mean MAP per seed"]) == 2 for r in rows.values())
    assert rows["CCA"]["mean MAP sd"] == 0.0  # deterministic baseline
    assert np.isclose(rows["CHTN"]["mean MAP"], np.mean(rows["CHTN"]["mean MAP per seed"]), atol=1e-3)
    md = (tmp_path / "out" / "chtn_wikipedia_xmodal_quick.md").read_text()
    assert "2 SE" in md and "mean MAP sd" in md


def test_bench_data_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    bench = ["bench", "--root", str(ROOT / "benchmarks")]
    assert main([*bench, "world_speed", "--data", "xmodal_pairs"]) == 1
    assert "benchmark 'world_speed' does not take --data" in capsys.readouterr().err
    assert main([*bench, "world_speed", "--seeds", "2"]) == 1
    assert "does not take --seeds" in capsys.readouterr().err
    assert main([*bench, "chtn", "--data", "sketch=xmodal_pairs"]) == 1
    assert "unknown --data role(s) ['sketch']" in capsys.readouterr().err
    assert main([*bench, "chtn", "--quick", "--data", "xmodal_pairs:split=test"]) == 1
    assert "the benchmark reads split=train and split=test itself" in capsys.readouterr().err


def test_role_prefixes() -> None:
    got = parse_role_specs(["wikipedia_xmodal:root=a=b", "source=features:path=x.npz,modality=img"])
    assert got["data"].name == "wikipedia_xmodal" and got["data"].args == {"root": "a=b"}
    assert got["source"].name == "features" and got["source"].args == {"path": "x.npz", "modality": "img"}
    with pytest.raises(SemspaceError, match="role 'data' given twice"):
        parse_role_specs(["folder:a", "folder:b"])


def _css3d(root: Path) -> Path:
    """CSS3D's annotation file as TIRG ships it (a pickled dict of splits: objects_img, mods, labels); the 2D blob
    view is drawn from it, so no render PNGs are needed."""
    shapes, colours = ["rectangle", "circle", "triangle"], ["red", "blue", "green", "yellow"]

    def split(n: int, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        objs = [[{"pos": [float(rng.random()), float(rng.random())], "shape": shapes[i % 3],
                  "color": colours[i % 4], "size": "small"}] for i in range(n)]  # fmt: skip
        mods = [{"from": [i], "to": [(i + 1) % n], "to_str": f"make it {colours[(i + 1) % 4]}"} for i in range(n)]
        return {"objects_img": objs, "mods": mods}

    root.mkdir(parents=True)
    data = {"train": split(8, 0), "test": split(6, 1)}
    np.save(root / "css_toy_dataset_novel2_small.dup.npy", np.array(data, dtype=object), allow_pickle=True)
    return root


@pytest.mark.slow
def test_bench_transfer_on_css3d_with_two_seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _css3d(tmp_path / "CSS")
    monkeypatch.chdir(tmp_path)
    argv = ["bench", "transfer", "--root", str(ROOT / "benchmarks"), "--quick", "--out", str(tmp_path / "out"),
            "--data", f"css3d:root={root},view=blobs2d", "--seeds", "2"]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads((tmp_path / "out" / "transfer_css3d_quick.json").read_text())
    rows = {r["method"]: r for r in doc["rows"]}
    assert set(rows) == {"TIRG", "concat", "image only", "text only"}
    assert all(r["seeds"] == 2 and 0.0 <= r["R@1"] <= r["R@5"] <= 1.0 for r in rows.values())
    assert "TIRG > concat" in (tmp_path / "out" / "transfer_css3d_quick.md").read_text()
