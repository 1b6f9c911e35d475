"""``make gpu-check`` (scripts/gpu_check.py) on a machine without CUDA: every step is in its one JSON, each CUDA step
skipped with the reason, exit 0; its step runner records a failure, a wrong output and a timeout and goes on."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_without_cuda_every_step_is_recorded_and_cuda_steps_skip_saying_why(tmp_path: Path) -> None:
    gc = _module()
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--budget", "--out", str(tmp_path)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "gpu_check.json").read_text())
    planned = gc.plan(tmp_path, cuda=False, budget=True, budget_seconds=1)
    assert [s["name"] for s in doc["steps"]] == [s.name for s in planned]
    assert {"env", "device_error", "gpu_tests_float32", "gpu_tests_float16", "eval_cuda", "bench_encoders",
            "budget_ltt_in_domain_10x", "budget_egsc_digits_stage2"} <= {s.name for s in planned}  # fmt: skip
    assert {f"train_{t}" for t in ("transfer", "align", "chtn", "dscmr", "ssgn", "egsc_it_mask_ae", "egsc_it")} <= {
        s.name for s in planned
    }
    by_name = {s["name"]: s for s in doc["steps"]}
    for step in planned:
        rec = by_name[step.name]
        if step.needs_cuda:
            assert rec["status"] == "skipped" and rec["reason"] == gc.NO_CUDA, rec
            assert f"{step.name}: skipped: {gc.NO_CUDA}" in done.stdout
        else:
            assert rec["status"] in ("ok", "dry-run"), rec
    assert by_name["env"]["result"]["cuda_available"] is False and doc["cuda"] is False and doc["failed"] == []


def test_the_step_runner_records_failures_and_timeouts_and_keeps_going(tmp_path: Path) -> None:
    gc = _module()
    py = sys.executable
    steps = [
        gc.Step("fails", "exit 3", [py, "-c", "import sys; sys.exit(3)"], 30, needs_cuda=False),
        gc.Step("wrong_text", "exit 1 without the text", [py, "-c", "import sys; print('no'); sys.exit(1)"], 30,
                needs_cuda=False, expect_rc=1, expect_text="requested but"),
        gc.Step("hangs", "sleeps", [py, "-c", "import time; time.sleep(60)"], 30, needs_cuda=False),
        gc.Step("json", "prints JSON", [py, "-c", "print('x'); print('{\"R@1\": 0.71}')"], 30, needs_cuda=False,
                parse="json_tail"),
    ]  # fmt: skip
    recs = [gc.run_step(s, tmp_path, timeout=2 if s.name == "hangs" else 30) for s in steps]
    assert [r["status"] for r in recs] == ["failed", "failed", "timeout", "ok"], recs
    assert "exit 3" in recs[0]["reason"] and "lacks 'requested but'" in recs[1]["reason"]
    assert recs[2]["seconds"] < 20 and recs[3]["result"] == {"R@1": 0.71}
    assert (tmp_path / "logs" / "fails.log").is_file()
    goals = gc.goals({"budget_ltt_in_domain_10x_eval": {"result": {"3d_to_3d_R@1": 0.69}},
                      "budget_egsc_digits_eval": {"result": {"semantic_consistency": 0.93}}})  # fmt: skip
    assert goals["ltt_in_domain_r1"]["reached"] is False and goals["egsc_digits_consistency"]["reached"] is True


@pytest.mark.parametrize("flag", ["--help"])
def test_help_is_instant_and_names_the_options(flag: str) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), flag], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--budget" in done.stdout and "--dry-run" in done.stdout
