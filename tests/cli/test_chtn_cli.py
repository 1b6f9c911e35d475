"""``semspace train`` + ``semspace eval`` with the ``chtn`` task end to end: on feature files in DSCMR's Pascal
layout (no source: the run says the transfer is off) and on an image folder with captions (``pairs_table``)
with a labelled image folder as the source."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import yaml
from PIL import Image

from semspace.cli.main import main

TRAIN = {"max_steps": 3, "batch_size": 8, "num_workers": 0, "log_every": 1, "ckpt_every": 100, "lr": 1e-3}


def _pascal(root: Path, n_tr: int = 16, n_te: int = 10) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for split, n in (("train", n_tr), ("test", n_te)):
        y = np.arange(n) % 4
        arrays = {f"{split}_img": rng.random((n, 32), dtype=np.float32) + y[:, None],
                  f"{split}_txt": rng.random((n, 12), dtype=np.float32) - y[:, None],
                  f"{split}_img_lab": y.reshape(-1, 1)}  # fmt: skip
        for k, v in arrays.items():
            scipy.io.savemat(root / f"{k}.mat", {k: v})
    return root


def _write_cfg(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _train_and_eval(cfg: Path, run: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    assert main(["train", "--config", str(cfg), "--run-dir", str(run), "--no-eval"]) == 0
    capsys.readouterr()
    assert main(["eval", "--run-dir", str(run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert {"image_to_text_mAP@all", "text_to_image_mAP@all", "mean_mAP@all"} <= set(metrics)
    assert all(0.0 < metrics[k] <= 1.0 for k in metrics)
    return metrics


def test_chtn_on_pascal_feature_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    root = _pascal(tmp_path / "pascal")
    feats = {"image_trunk": "identity_features", "text_encoder": "identity_features", "image_key": "features.img",
             "text_key": "features.txt", "image_kind": "features", "image_input_norm": True, "widths": [16, 16],
             "shared_widths": [16, 16]}  # fmt: skip
    cfg = _write_cfg(tmp_path / "chtn_pascal.yaml", {
        "task": "chtn", "task_args": feats, "train": TRAIN,
        "data": {"train": {"name": "pascal_sentences", "args": {"root": str(root), "split": "train"}}},
        "eval": {"protocol": "cross_modal_map",
                 "data": {"name": "pascal_sentences", "args": {"root": str(root), "split": "test"}}},
    })  # fmt: skip
    with caplog.at_level(logging.WARNING):
        _train_and_eval(cfg, tmp_path / "run", capsys)
    off = [r.getMessage() for r in caplog.records if "modal-sharing transfer is off" in r.getMessage()]
    assert len(off) == 1, off  # said once, not at every step
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["task_args"]["num_classes"] == 20  # Pascal Sentences: 20 classes, from the loader


def test_chtn_on_an_image_folder_with_captions_and_a_labelled_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    colours = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 200, 30)}
    (tmp_path / "imgs").mkdir()
    rows = []
    for i in range(12):
        name = list(colours)[i % 3]
        Image.new("RGB", (16, 16), colours[name]).save(tmp_path / "imgs" / f"{i}.png")
        rows.append({"image": f"imgs/{i}.png", "text": f"a {name} square number {i}", "label": name,
                     "split": "train" if i < 9 else "test"})  # fmt: skip
    table = tmp_path / "pairs.jsonl"
    table.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for c, rgb in (("dark", (20, 20, 20)), ("light", (240, 240, 240))):
        (tmp_path / "source" / c).mkdir(parents=True)
        for j in range(4):
            Image.new("RGB", (16, 16), tuple(min(255, v + 5 * j) for v in rgb)).save(
                tmp_path / "source" / c / f"{j}.png"
            )
    cfg = _write_cfg(tmp_path / "chtn_folder.yaml", {
        "task": "chtn",
        "task_args": {"image_trunk": "tiny_cnn", "image_trunk_args": {"preprocess": {"size": 16}},
                      "widths": [16, 16], "shared_widths": [16, 16], "num_source_classes": 2},
        "train": TRAIN,
        "data": {"train": {"name": "pairs_table", "args": {"path": str(table), "split": "train"}},
                 "extra": {"source": {"name": "folder", "batch_size": 4, "args": {"root": str(tmp_path / "source")}}}},
        "eval": {"protocol": "cross_modal_map",
                 "data": {"name": "pairs_table", "args": {"path": str(table), "split": "test"}}},
    })  # fmt: skip
    _train_and_eval(cfg, tmp_path / "run", capsys)
    log = (tmp_path / "run" / "train.log").read_text()
    assert "loss_src_ce" in log and "loss_mmd6" in log  # the source stream reached the task
