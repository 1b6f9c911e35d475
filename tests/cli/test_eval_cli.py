"""``semspace eval`` on a tiny transfer run: the run's own protocol, ``--data SPEC`` and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semspace.cli.main import main
from semspace.config import load_run_cfg
from semspace.engine.run import train

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn", "task_args.text_encoder=tiny_lstm_text",
    "task_args.embed_dim=16", "data.train.args.n=32", "data.train.args.size=32", "data.train.cache=false",
    "train.max_steps=2", "train.batch_size=16", "train.num_workers=0", "eval.num_workers=0",
    "eval.data.args.n=8", "eval.data.args.size=32",
]  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("transfer_run")
    train(load_run_cfg(ROOT / "configs" / "transfer" / "world_2d_to_3d.yaml", TINY), out)
    return out


def test_eval_uses_the_runs_protocol_and_writes_json(run_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "eval.json"
    assert main(["eval", "--run-dir", str(run_dir), "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {f"{e}_R@{k}" for e in ("3d_to_3d", "2d_to_3d") for k in (1, 5, 10, 50)}
    assert json.loads(out.read_text()) == printed


def test_eval_data_spec_replaces_the_dataset(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = "world_scenes:split=test,n=6,size=32,view=render3d,mods_per_scene=3"
    assert main(["eval", "--run-dir", str(run_dir), "--data", spec, "--json"]) == 0
    small = json.loads(capsys.readouterr().out)
    # 6 queries over a gallery of 2 sources + 6 targets: every target is within the top 7
    assert small["3d_to_3d_R@50"] == 1.0
    assert main(["eval", "--run-dir", str(run_dir), "--data", "world_scenes:n=", "--json"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0].lower()
