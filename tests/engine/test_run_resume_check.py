"""``engine.run.train`` refuses a run folder that holds a run of another config before any data is rendered, naming
the keys that differ; the same config (or one with other ``train``/``eval`` settings) still resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from semspace.config import load_run_cfg, to_dict
from semspace.engine import run as engine_run
from semspace.engine.run import check_resumable
from semspace.errors import CheckpointError

TRANSFER = str(Path(__file__).resolve().parents[2] / "configs" / "transfer" / "world_2d_to_3d.yaml")
BASE = ["data.train.args.n=32", "train.max_steps=2"]


def _finished_run(run: Path) -> None:
    """A run folder as the trainer leaves it: ``last.pt`` and the resolved ``config.yaml`` (task_args resolved: one
    key more than the YAML gives, as ``Task.export_cfg`` adds data-dependent fields)."""
    run.mkdir()
    saved = to_dict(load_run_cfg(TRANSFER, BASE))
    saved["task_args"]["vocab"] = ["a", "cube"]
    (run / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    (run / "last.pt").write_bytes(b"a checkpoint")


def test_the_same_model_and_data_resume(tmp_path: Path) -> None:
    _finished_run(tmp_path / "run")
    check_resumable(load_run_cfg(TRANSFER, BASE), tmp_path / "run")
    check_resumable(load_run_cfg(TRANSFER, [*BASE, "train.max_steps=5", "train.lr=1e-4"]), tmp_path / "run")
    check_resumable(load_run_cfg(TRANSFER, [*BASE, "data.train.cache=false"]), tmp_path / "run")


def test_another_config_is_refused_before_any_data_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    _finished_run(run)

    def no_data(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data was built")

    monkeypatch.setattr(engine_run, "build_task_and_datasets", no_data)
    other = load_run_cfg(TRANSFER, ["data.train.args.n=8000", "train.max_steps=2", "task_args.embed_dim=64"])
    with pytest.raises(CheckpointError) as err:
        engine_run.train(other, run)
    msg = str(err.value)
    assert msg.startswith(f"{run} holds a run of another config (last.pt): it differs in ")
    assert "task_args.embed_dim 512 -> 64" in msg and "data.train.args.n 32 -> 8000" in msg
    assert "--no-resume overwrites it" in msg and str(run / "config.yaml") in msg
    with pytest.raises(AssertionError, match="the data was built"):  # --no-resume: no check, training starts
        engine_run.train(other, run, resume=False)


def test_a_folder_without_a_checkpoint_or_config_is_not_checked(tmp_path: Path) -> None:
    other = load_run_cfg(TRANSFER, ["data.train.args.n=8000"])
    check_resumable(other, tmp_path / "nothing")
    _finished_run(tmp_path / "run")
    (tmp_path / "run" / "last.pt").unlink()  # a run that never wrote a checkpoint starts again
    check_resumable(other, tmp_path / "run")
