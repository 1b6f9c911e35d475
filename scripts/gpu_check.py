"""``make gpu-check``: the GPU path, proven on a CUDA machine in one prepared run (issue 20 item 5).

    python scripts/gpu_check.py [--out DIR] [--budget] [--dry-run] [--total-seconds S]

Steps, each a subprocess with its own timeout and log (``DIR/logs/<step>.log``), timed, run in order; a failed or
timed-out step is recorded and the next one runs (a step whose input a failed step should have made is skipped,
naming it):

1. ``env``: torch, CUDA, the GPU's name, the CPU's native bf16 (``utils.device.cpu_native_bf16``); in-process.
2. ``device_error``: ``semspace eval --device cuda`` without CUDA (or ``cuda:99`` with it) is one error line, exit 1.
3. ``gpu_tests_float32`` / ``gpu_tests_float16``: the tests marked ``gpu`` with ``SEMSPACE_TEST_DEVICE=cuda`` and
   ``SEMSPACE_TEST_DTYPES`` float32, then float16 (``tests/conftest.py``).
4. ``train_<task>``: a few steps of every task on CUDA (``train.device=cuda``), on the tiny overrides the test suite
   uses (``tests/engine/ddp_task_worker.py``, ``tests/cli/test_bad_inputs.py``); EGSC-IT's stage 2 starts from its
   stage 1.
5. ``eval_cuda`` and ``index_build_cuda``: ``semspace eval`` and ``semspace index build`` of the tiny transfer run on
   CUDA (``--device cuda``).
6. ``bench_encoders`` (``benchmarks/encoders.py --device cuda --quick``) and ``bench_world_speed`` (``semspace bench
   world_speed --quick``: world rendering, a CPU benchmark, recorded beside).

Without CUDA, each CUDA step is recorded ``skipped`` with the reason and prints one line "skipped: no CUDA
(torch.cuda.is_available() is False)"; ``env``, ``device_error`` and ``bench_world_speed`` still run, and the exit
code is 0. With CUDA, the exit code is 1 when a step failed. The whole default run stays within ``--total-seconds``
(default 360): each step's timeout is cut to the time left, and steps past it are skipped ("out of time").

``--budget`` adds two long runs (CUDA only, ``--budget-seconds`` each): LTT in-domain (``transfer/
world_3d_in_domain.yaml``) at 10x its steps, recording whether R@1 reaches 0.70, and EGSC-IT on digits at the
authors' size (64 channels, 3 residual blocks, 7,500 steps, both stages), recording whether semantic consistency
reaches 0.9. ``--rehearse-on-cpu`` (no CUDA) runs the training, eval, index and encoder steps on the CPU, a check of
the commands themselves. ``--dry-run`` writes the plan (every step, ``dry-run`` or ``skipped``) running only ``env``.

Everything goes to ``DIR`` (default ``runs/gpu_check``): ``gpu_check.json`` (one summary: machine, every step with
its status, reason, seconds, command, log and parsed result), ``logs/``, ``runs/``, ``bench/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
NO_CUDA = "no CUDA (torch.cuda.is_available() is False)"
TOTAL_SECONDS = 360
LTT_GOAL_R1, EGSC_GOAL_CONSISTENCY = 0.70, 0.9

# tiny runs of every task: tests/engine/ddp_task_worker.py's overrides (transfer: tests/cli/test_bad_inputs.py's,
# which keep an eval section for eval_cuda)
COMMON = ["train.max_steps=4", "train.log_every=1", "train.ckpt_every=0", "train.eval_every=0", "train.num_workers=0",
          "train.warmup_steps=0", "train.batch_size=8"]  # fmt: skip
XMODAL = "{name: xmodal_pairs, args: {split: train, pairs_per_class: 4, classes: [apple, car, pear], size: 32}}"
OBJECTS = (
    "{{name: world_objects, args: {{split: train, n: 16, size: 32, view: {}, classes: [apple, car, chair, house]}}}}"
)
EGSC = ["task_args.size=16", "task_args.channels=4", "task_args.n_res=1", "task_args.disc_channels=4",
        "task_args.disc_layers=2", "data.train.args.n=16", "data.train.args.size=16"]  # fmt: skip
TINY: dict[str, tuple[str, list[str]]] = {
    "transfer": ("transfer/world_2d_to_3d.yaml", [
        "task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn",
        "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=16", "data.train.args.n=32",
        "data.train.args.size=32", "data.train.cache=false", "eval.num_workers=0", "eval.data.args.n=8",
        "eval.data.args.size=32",
    ]),
    "align": ("align/world_2d_3d.yaml", [
        "task_args.encoder_a=tiny_cnn", "task_args.encoder_b=tiny_cnn", "task_args.embed_dim=16",
        "data.train.args.n=16", "data.train.args.size=32", "eval={}",
    ]),
    "chtn": ("chtn/world.yaml", [
        "task_args.image_frozen=''", "task_args.image_trunk=tiny_cnn", "task_args.image_trunk_args={}",
        "task_args.image_key=image", "task_args.source_key=image", "task_args.widths=[16, 16]",
        "task_args.shared_widths=[16, 16]", "task_args.num_source_classes=2", f"data.train={XMODAL}",
        "data.extra.source={name: xmodal_source, batch_size: 8, "
        "args: {split: train, n_per_class: 8, classes: [bus, fish], size: 32}}", "eval={}",
    ]),
    "dscmr": ("chtn/world.yaml", [
        "task=dscmr", "task_args={image_trunk: tiny_cnn, hidden_dim: 16, common_dim: 8}", f"data.train={XMODAL}",
        "data.extra={}", "eval={}",
    ]),
    "ssgn": ("ssgn/world.yaml", [
        "task_args.backbone=tiny_cnn", "task_args.backbone_args={}", "task_args.fusion_layers=[-2, -1]",
        "task_args.fusion_dim=8", "task_args.sketch_dim=16", "task_args.hidden=16", "task_args.photo_head_dim=12",
        "task_args.noise_dim=0", "task_args.dropout=0.0",
        f"data.train={{name: sbir_pairs, args: {{sketches: {OBJECTS.format('sketch')}, "
        f"photos: {OBJECTS.format('photo')}}}}}", "eval={}",
    ]),
    "egsc_it_mask_ae": ("egsc_it/world_pairs_stage1.yaml", [*EGSC, "eval={}"]),
    "egsc_it": ("egsc_it/world_pairs_stage2.yaml", [
        *EGSC, "task_args.perceptual=random_cnn", "task_args.d_every=2", "eval={}",
        "init=[{checkpoint: STAGE1, module: mask_ae}]",
    ]),
}  # fmt: skip


@dataclass
class Step:
    """One check: ``argv`` run with ``env`` added, within ``timeout`` seconds; ``expect_rc`` / ``expect_text``: what
    a pass looks like (exit code, a text its output holds); ``needs``: steps that must have passed first."""

    name: str
    what: str
    argv: list[str]
    timeout: float
    needs_cuda: bool = True
    env: dict[str, str] = field(default_factory=dict)
    expect_rc: int = 0
    expect_text: str = ""
    needs: list[str] = field(default_factory=list)
    parse: str = ""  # "json_tail": the last line of stdout is a JSON document kept as the step's result
    budget: bool = False  # a --budget run: its own timeout, outside --total-seconds


def semspace(*args: str) -> list[str]:
    return [sys.executable, "-m", "semspace", *args]


def train_argv(task: str, out: Path, device: str = "cuda") -> list[str]:
    config, sets = TINY[task]
    sets = [s.replace("STAGE1", str(out / "runs" / "egsc_it_mask_ae" / "model.pt")) for s in sets]
    args = ["train", "--config", str(CONFIGS / config), "--run-dir", str(out / "runs" / task)]
    for s in [*sets, *COMMON, f"train.device={device}"]:
        args += ["--set", s]
    return semspace(*args)


def gpu_test_files() -> list[str]:
    """The test files holding tests marked ``gpu`` (collecting only them keeps the run short)."""
    found = [p for p in sorted((ROOT / "tests").rglob("test_*.py")) if "mark.gpu" in p.read_text(errors="replace")]
    return [str(p) for p in found]


def plan(out: Path, cuda: bool, budget: bool, budget_seconds: float, dev: str = "cuda") -> list[Step]:
    """Every step of the check, in order; ``dev`` "cpu" (``--rehearse-on-cpu``) points the CUDA steps at the CPU."""
    steps = [
        Step("env", "torch, CUDA and the CPU's bf16 (in-process)", [], 20, needs_cuda=False),
        Step("device_error", "--device naming an absent CUDA device is one error line, exit 1",
             semspace("eval", "--run-dir", str(out / "runs" / "none"), "--device", "cuda:99" if cuda else "cuda"),
             60, needs_cuda=False, expect_rc=1, expect_text="requested but"),
    ]  # fmt: skip
    tests = ["-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", *gpu_test_files()]
    for dtype in ("float32", "float16"):
        steps.append(Step(f"gpu_tests_{dtype}", f"the tests marked gpu on CUDA in {dtype}", [sys.executable, *tests],
                          90, env={"SEMSPACE_TEST_DEVICE": "cuda", "SEMSPACE_TEST_DTYPES": dtype}))  # fmt: skip
    for task in TINY:
        needs = ["train_egsc_it_mask_ae"] if task == "egsc_it" else []
        steps.append(Step(f"train_{task}", f"4 steps of task {task} on CUDA (tiny)", train_argv(task, out, dev), 60,
                          needs=needs))  # fmt: skip
    run = str(out / "runs" / "transfer")
    steps += [
        Step("eval_cuda", "semspace eval of the tiny transfer run on CUDA",
             semspace("eval", "--run-dir", run, "--device", dev, "--recompute", "--json"), 60,
             needs=["train_transfer"], parse="json_tail"),
        Step("index_build_cuda", "semspace index build of the tiny transfer run on CUDA",
             semspace("index", "build", "--run-dir", run, "--data", "world_scenes:split=test,n=16,size=32", "--out",
                      str(out / "index"), "--device", dev, "--json"), 60, needs=["train_transfer"],
             parse="json_tail"),
        Step("bench_encoders", "encoder throughput on CUDA (benchmarks/encoders.py --quick)",
             [sys.executable, str(ROOT / "benchmarks" / "encoders.py"), "--device", dev, "--quick", "--out",
              str(out / "bench")], 90),
        Step("bench_world_speed", "world rendering speed (CPU; semspace bench world_speed --quick)",
             semspace("bench", "world_speed", "--quick", "--root", str(ROOT / "benchmarks"), "--out",
                      str(out / "bench")), 90, needs_cuda=False),
    ]  # fmt: skip
    if budget:
        steps += budget_steps(out, budget_seconds)
    return steps


def budget_steps(out: Path, seconds: float) -> list[Step]:
    """LTT in-domain at 10x the steps; EGSC-IT digits at the authors' size, both stages (issue 20 item 5)."""
    ltt = out / "runs" / "budget_ltt_in_domain"
    s1, s2 = out / "runs" / "budget_egsc_digits_stage1", out / "runs" / "budget_egsc_digits"
    size = ["task_args.channels=64", "task_args.n_res=3", "task_args.disc_channels=64", "train.max_steps=7500",
            "train.device=cuda", "train.ckpt_every=500"]  # fmt: skip

    def sets(values: list[str]) -> list[str]:
        return [a for v in values for a in ("--set", v)]

    return [
        Step("budget_ltt_in_domain_10x", f"LTT in-domain at 15,000 steps (10x); goal R@1 >= {LTT_GOAL_R1}",
             semspace("train", "--config", str(CONFIGS / "transfer" / "world_3d_in_domain.yaml"), "--run-dir",
                      str(ltt), *sets(["train.max_steps=15000", "train.device=cuda", "train.ckpt_every=1000"])),
             seconds, budget=True),
        Step("budget_ltt_in_domain_10x_eval", "its evaluation (the run's own, reused)",
             semspace("eval", "--run-dir", str(ltt), "--device", "cuda", "--json"), 600,
             needs=["budget_ltt_in_domain_10x"], parse="json_tail", budget=True),
        Step("budget_egsc_digits_stage1", "EGSC-IT digits stage 1, 64 channels, 3 res-blocks, 7,500 steps",
             semspace("train", "--config", str(CONFIGS / "egsc_it" / "digits_stage1.yaml"), "--run-dir", str(s1),
                      *sets(size)), seconds, budget=True),
        Step("budget_egsc_digits_stage2", "EGSC-IT digits stage 2, the same size, 7,500 steps",
             semspace("train", "--config", str(CONFIGS / "egsc_it" / "digits_stage2.yaml"), "--run-dir", str(s2),
                      *sets([*size, f"init=[{{checkpoint: {s1 / 'model.pt'}, module: mask_ae}}]"])),
             seconds, needs=["budget_egsc_digits_stage1"], budget=True),
        Step("budget_egsc_digits_eval", f"its evaluation; goal semantic consistency >= {EGSC_GOAL_CONSISTENCY}",
             semspace("eval", "--run-dir", str(s2), "--device", "cuda", "--json"), 900,
             needs=["budget_egsc_digits_stage2"], parse="json_tail", budget=True),
    ]  # fmt: skip


def run_step(step: Step, out: Path, timeout: float) -> dict[str, Any]:
    """Runs ``step`` (its own process group, killed whole at ``timeout``); its record: status ok / failed /
    timeout, seconds, exit code, the log's path and, for ``parse="json_tail"``, the JSON its stdout ended with."""
    log = out / "logs" / f"{step.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {"command": step.argv, "log": str(log.relative_to(out)), "timeout_s": round(timeout, 1)}
    env = {**os.environ, **step.env}
    t0 = time.perf_counter()
    with open(log, "w") as sink:
        sink.write(f"$ {' '.join(step.argv)}\n")
        sink.flush()
        proc = subprocess.Popen(step.argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=sink, text=True,
                                start_new_session=True)  # fmt: skip
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, _ = proc.communicate()
            sink.write(stdout or "")
            return {**record, "status": "timeout", "reason": f"still running after {timeout:.0f} s (killed)",
                    "seconds": round(time.perf_counter() - t0, 2), "returncode": None}  # fmt: skip
        sink.write(stdout or "")
    seconds = round(time.perf_counter() - t0, 2)
    text = stdout + log.read_text(errors="replace")
    ok = proc.returncode == step.expect_rc and step.expect_text in text
    record |= {"status": "ok" if ok else "failed", "seconds": seconds, "returncode": proc.returncode}
    if not ok:
        why = f"exit {proc.returncode} (expected {step.expect_rc})"
        if step.expect_text and step.expect_text not in text:
            why += f"; output lacks {step.expect_text!r}"
        record["reason"] = f"{why}; see {record['log']}"
    if step.parse == "json_tail" and ok:
        try:
            record["result"] = json.loads(stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            record |= {"status": "failed", "reason": f"stdout did not end with a JSON line; see {record['log']}"}
    return record


def env_record() -> dict[str, Any]:
    """The ``env`` step: versions, CUDA devices, the CPU's bf16 (in-process: torch is imported here)."""
    import torch

    from semspace.utils.device import cpu_native_bf16

    cuda = torch.cuda.is_available()
    return {
        "python": platform.python_version(), "torch": torch.__version__, "cuda_available": cuda,
        "cuda_version": torch.version.cuda, "device_count": torch.cuda.device_count() if cuda else 0,
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "cpu_native_bf16": cpu_native_bf16(), "load_average": list(os.getloadavg()),
    }  # fmt: skip


def goals(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Whether the budget runs reached their goals (None where they did not run to an evaluation)."""
    out: dict[str, Any] = {}
    ltt = records.get("budget_ltt_in_domain_10x_eval", {}).get("result")
    if isinstance(ltt, dict):
        r1 = next((float(v) for k, v in ltt.items() if k.lower().endswith("r@1")), None)
        out["ltt_in_domain_r1"] = {"value": r1, "goal": LTT_GOAL_R1, "reached": r1 is not None and r1 >= LTT_GOAL_R1}
    egsc = records.get("budget_egsc_digits_eval", {}).get("result")
    if isinstance(egsc, dict):
        c = egsc.get("semantic_consistency")
        out["egsc_digits_consistency"] = {"value": c, "goal": EGSC_GOAL_CONSISTENCY,
                                          "reached": c is not None and float(c) >= EGSC_GOAL_CONSISTENCY}  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="make gpu-check: the GPU path in one run (scripts/gpu_check.py)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "gpu_check", help="the one folder it writes")
    parser.add_argument("--budget", action="store_true", help="add the two long budget runs (CUDA only)")
    parser.add_argument("--budget-seconds", type=float, default=1800, help="timeout of each budget training")
    parser.add_argument("--total-seconds", type=float, default=TOTAL_SECONDS, help="the default run's whole budget")
    parser.add_argument("--dry-run", action="store_true", help="write the plan, run nothing")
    parser.add_argument("--rehearse-on-cpu", action="store_true",
                        help="without CUDA: run the training, eval, index and encoder steps on the CPU (a check of "
                        "this script's commands; the gpu tests and budget runs stay skipped)")  # fmt: skip
    args = parser.parse_args(argv)
    import torch  # after parsing: --help is instant

    from semspace.utils.io import atomic_write_text

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    t_start, deadline = time.perf_counter(), time.perf_counter() + args.total_seconds
    records: dict[str, dict[str, Any]] = {}
    summary: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cuda": cuda, "dry_run": args.dry_run,
                               "total_seconds": args.total_seconds, "out": str(out)}  # fmt: skip

    def write() -> None:
        summary.update(
            steps=list(records.values()), goals=goals(records), seconds=round(time.perf_counter() - t_start, 2)
        )
        summary["failed"] = [r["name"] for r in records.values() if r["status"] in ("failed", "timeout")]
        atomic_write_text(out / "gpu_check.json", json.dumps(summary, indent=2) + "\n")

    rehearse = args.rehearse_on_cpu and not cuda
    summary["rehearsed_on_cpu"] = rehearse
    for step in plan(out, cuda, args.budget, args.budget_seconds, "cpu" if rehearse else "cuda"):
        head = {"name": step.name, "what": step.what, "needs_cuda": step.needs_cuda, "budget": step.budget}
        left = deadline - time.perf_counter()
        missing = [n for n in step.needs if records.get(n, {}).get("status") not in ("ok", "dry-run")]
        if step.needs_cuda and not cuda and not (rehearse and not step.budget and "gpu_tests" not in step.name):
            rec = {**head, "status": "skipped", "reason": NO_CUDA, "command": step.argv}
        elif missing:
            rec = {**head, "status": "skipped", "reason": f"needs {', '.join(missing)}, which did not pass"}
        elif step.name == "env":  # in-process and instant: also under --dry-run
            t0 = time.perf_counter()
            rec = {**head, "status": "ok", "result": env_record(), "seconds": round(time.perf_counter() - t0, 2)}
        elif args.dry_run:
            rec = {**head, "status": "dry-run", "reason": "--dry-run: not run", "command": step.argv}
        elif not step.budget and left < 5:
            rec = {**head, "status": "skipped", "reason": f"out of time (--total-seconds {args.total_seconds:.0f})"}
        else:
            print(f"{step.name}: {step.what} ...", flush=True)
            rec = {**head, **run_step(step, out, step.timeout if step.budget else min(step.timeout, left))}
        records[step.name] = rec
        extra = f" ({rec['seconds']} s)" if "seconds" in rec else ""
        print(f"{step.name}: {rec['status']}{': ' + rec['reason'] if rec.get('reason') else ''}{extra}", flush=True)
        write()
    write()
    print(f"wrote {out / 'gpu_check.json'}: {len(records)} steps, failed: {summary['failed'] or 'none'}")
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
