"""Relative paths in a YAML config (``init:`` checkpoints, data roots and files) resolve against the config file's
folder when they exist there, from any working directory; otherwise they stay as written (the project's configs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from semspace.config import load_run_cfg


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exp = tmp_path / "experiment"
    (exp / "stage1").mkdir(parents=True)
    (exp / "stage1" / "model.pt").write_bytes(b"x")
    (exp / "photos").mkdir()
    (exp / "feats.npz").write_bytes(b"x")
    cfg = {
        "task": "chtn",
        "init": [{"checkpoint": "stage1/model.pt", "module": "trunk"}, {"checkpoint": "later/model.pt"}],
        "data": {
            "train": {"name": "folder", "args": {"root": "photos"}},
            "extra": {"source": {"name": "features", "args": {"path": ["feats.npz", "missing.npz"]}}},
        },
        "eval": {"data": {"name": "frozen_features", "args": {
            "cache_dir": "photos", "data": {"name": "folder", "args": {"root": "photos"}}}}},
    }  # fmt: skip
    (exp / "run.yaml").write_text(yaml.safe_dump(cfg))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    got = load_run_cfg(exp / "run.yaml", ["data.val.name=folder", "data.val.args.root=photos"])
    assert got.init[0].checkpoint == str(exp / "stage1" / "model.pt")
    assert got.init[1].checkpoint == "later/model.pt"  # not there (yet): kept as written
    assert got.data.train.args["root"] == str(exp / "photos")
    assert got.data.extra["source"].args["path"] == [str(exp / "feats.npz"), "missing.npz"]
    inner = got.eval["data"]["args"]
    assert inner["data"]["args"]["root"] == str(exp / "photos") and inner["cache_dir"] == "photos"  # cache: cwd
    assert got.data.val is not None and got.data.val.args["root"] == "photos"  # --set values are the command line's


def test_project_configs_keep_their_working_directory_paths() -> None:
    cfg = load_run_cfg(Path(__file__).resolve().parents[1] / "configs" / "egsc_it" / "digits_stage2.yaml")
    assert cfg.init[0].checkpoint == "runs/egsc_it_digits_stage1/model.pt"
