"""A real kill: SIGKILL a `semspace train` process mid-run, run the same command again, it continues: one metrics
row per step (the redone steps replace the killed run's), a clock that continues, one "resumed from" line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from semspace.engine.logging import read_metrics
from semspace.models.checkpoint import load_checkpoint

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "align" / "world_2d_3d.yaml"


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "semspace", "train", "--config", str(CONFIG), "--run-dir", str(run),
           "--max-steps", "300", "--set", "data.train.args.n=64", "--set", "data.train.args.size=32",
           "--set", "task_args.encoder_a=tiny_cnn", "--set", "task_args.encoder_b=tiny_cnn",
           "--set", "train.batch_size=8", "--set", "train.ckpt_every=5", "--set", "train.num_workers=0",
           "--set", "train.eval_every=0", "--set", "train.log_every=5",
           "--set", "eval.data.args.n=8", "--set", "eval.data.args.size=32"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (run / "last.pt").exists():
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = load_checkpoint(run / "last.pt")["step"]  # the checkpoint survived the kill intact
    assert 0 < killed_at < 300
    assert not list(run.glob("*.tmp*"))  # no half-written file was promoted or left to confuse a resume
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert load_checkpoint(run / "model.pt")["step"] == 300
    log = (run / "train.log").read_text()
    assert f"at step {killed_at}" in log and log.count("resumed from") == 1  # it continued from the checkpoint
    assert done.stderr.count("resumed from") == 1  # printed once
    rows = read_metrics(run)
    steps = [r["step"] for r in rows if r["split"] == "train"]
    assert steps == list(range(5, 301, 5))  # one row per logged step: the killed run's rows past it were replaced
    times = [r["time"] for r in rows]
    assert times == sorted(times)  # the clock continued from the checkpoint's instead of restarting at 0
    assert rows[-1]["split"] == "eval" and rows[-1]["step"] == 300
