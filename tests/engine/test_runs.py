"""A run folder across a kill and a resume: one metrics row per step, a continuing clock, a refused other model."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from semspace.config import TrainCfg
from semspace.engine import Trainer
from semspace.engine.logging import MetricsWriter, read_metrics
from semspace.errors import CheckpointError
from semspace.models.checkpoint import load_checkpoint, save_checkpoint

from .toy import ToyCfg, ToyDataset, ToyTask


class Killed(Exception):
    pass


def _cfg(**kw: object) -> TrainCfg:
    base: dict[str, object] = dict(max_steps=12, batch_size=8, lr=0.05, log_every=1, ckpt_every=4, seed=7)
    base.update(kw)
    return TrainCfg(**base)  # type: ignore[arg-type]


def _kill_at(step_to_kill: int):  # type: ignore[no-untyped-def]
    def fn(trainer: Trainer, step: int, logs: dict) -> None:
        if step == step_to_kill:
            raise Killed

    return fn


def _killed_run(run: Path, kill_at: int = 10, **kw: object) -> Trainer:
    """A run killed at ``kill_at`` (after its metrics row, before any checkpoint of that step)."""
    trainer = Trainer(ToyTask(ToyCfg()), _cfg(**kw), run, dataset=ToyDataset(n=40))
    trainer.add_callback("on_step_end", _kill_at(kill_at))
    with pytest.raises(Killed):
        trainer.fit()
    return trainer


def test_resumed_run_has_one_row_per_step_and_its_clock_continues(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _killed_run(run)
    before = read_metrics(run)
    assert [r["step"] for r in before] == list(range(1, 11))  # rows 9 and 10 are past the checkpoint of step 8
    ckpt = load_checkpoint(run / "last.pt")
    elapsed = round(ckpt["elapsed"], 3)  # metrics.jsonl rounds its times to ms
    assert ckpt["step"] == 8 and elapsed >= before[7]["time"] > 0
    Trainer(ToyTask(ToyCfg()), _cfg(), run, dataset=ToyDataset(n=40)).fit()
    rows = read_metrics(run)
    assert [r["step"] for r in rows] == list(range(1, 13))  # the redone steps 9 and 10 replaced the killed run's
    times = [r["time"] for r in rows]
    assert times == sorted(times) and times[8] >= elapsed  # the clock did not restart at 0


def test_a_checkpoint_without_elapsed_continues_from_its_last_metrics_row(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _killed_run(run)
    ckpt = load_checkpoint(run / "last.pt")
    del ckpt["elapsed"]  # written before the clock was stored
    save_checkpoint(run / "last.pt", ckpt)
    at_8 = read_metrics(run)[7]["time"]
    Trainer(ToyTask(ToyCfg()), _cfg(), run, dataset=ToyDataset(n=40)).fit()
    rows = read_metrics(run)
    assert [r["step"] for r in rows] == list(range(1, 13)) and rows[8]["time"] >= at_8


def test_a_finished_run_evaluated_again_keeps_one_eval_row(tmp_path: Path) -> None:
    def evaluate(task: torch.nn.Module) -> dict[str, float]:
        return {"score": 1.0}

    for _ in range(2):  # the second fit resumes at max_steps: nothing trained, evaluated again
        Trainer(ToyTask(ToyCfg()), _cfg(), tmp_path, dataset=ToyDataset(n=40), evaluate=evaluate).fit()
    evals = [r for r in read_metrics(tmp_path) if r["split"] == "eval"]
    assert [r["step"] for r in evals] == [12]


def test_resume_logs_once_and_says_where(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run = tmp_path / "run"
    _killed_run(run)
    with caplog.at_level(logging.INFO, logger="semspace.engine.trainer"):
        Trainer(ToyTask(ToyCfg()), _cfg(), run, dataset=ToyDataset(n=40)).fit()
    resumed = [r.getMessage() for r in caplog.records if "resumed from" in r.getMessage()]
    assert len(resumed) == 1 and "at step 8" in resumed[0] and "2 metrics row(s)" in resumed[0]
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "training task 'toy'" in messages and "step 12/12: loss" in messages


def test_a_run_folder_of_another_model_is_refused_with_the_keys_that_differ(tmp_path: Path) -> None:
    Trainer(ToyTask(ToyCfg(dim=4)), _cfg(max_steps=2), tmp_path, dataset=ToyDataset(n=40)).fit()
    other = Trainer(ToyTask(ToyCfg(dim=3)), _cfg(max_steps=4), tmp_path, dataset=ToyDataset(n=40, dim=3))
    with pytest.raises(CheckpointError) as err:
        other.fit()
    msg = str(err.value)
    assert "holds another model's checkpoint (last.pt, step 2)" in msg
    assert "task_args.dim 4 -> 3" in msg and "train.max_steps 2 -> 4" in msg
    assert "use another run folder or remove" in msg and "config.yaml" in msg
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 2  # nothing was overwritten
    fresh = Trainer(ToyTask(ToyCfg(dim=3)), _cfg(max_steps=4), tmp_path, dataset=ToyDataset(n=40, dim=3))
    fresh.fit(resume=False)  # --no-resume starts it again
    assert load_checkpoint(tmp_path / "last.pt")["task_cfg"]["dim"] == 3


def test_a_changed_config_that_still_fits_resumes_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Trainer(ToyTask(ToyCfg()), _cfg(max_steps=4), tmp_path, dataset=ToyDataset(n=40)).fit()
    with caplog.at_level(logging.WARNING, logger="semspace.engine.trainer"):
        Trainer(ToyTask(ToyCfg()), _cfg(max_steps=6), tmp_path, dataset=ToyDataset(n=40)).fit()
    assert any("changed config: train.max_steps 4 -> 6" in r.getMessage() for r in caplog.records)
    assert load_checkpoint(tmp_path / "model.pt")["step"] == 6


def test_metrics_writer_replaces_a_row_of_the_same_step_and_split(tmp_path: Path) -> None:
    w = MetricsWriter(tmp_path)
    for step in (1, 2, 3):
        w.write({"step": step, "split": "train", "loss": float(step)})
    w.write({"step": 3, "split": "eval", "score": 0.5})
    assert w.truncate(2) == 2
    w.write({"step": 2, "split": "train", "loss": 20.0})
    again = MetricsWriter(tmp_path, elapsed=100.0)
    again.write({"step": 3, "split": "train", "loss": 30.0})
    rows = read_metrics(tmp_path)
    assert [(r["step"], r["split"], r["loss"]) for r in rows] == [(1, "train", 1.0), (2, "train", 20.0),
                                                                  (3, "train", 30.0)]  # fmt: skip
    assert rows[-1]["time"] >= 100.0
