"""Training speed (issue 20 item 3): steps/s and achieved GFLOP/s of every method's world config against the
machine's float32 matmul rate, and the engine (``Trainer``) against a bare PyTorch loop on the same math.

For each case (a shipped world config on a small training set: the per-step cost does not depend on the set's size)
the task is built once and copied per variant:

* ``before``: ``train.channels_last=false``, ``train.fused_optimizer=false`` (the engine before issue 20);
* ``channels_last`` / ``fused``: one option alone (only where it differs from the others);
* ``after``: the defaults, ``auto`` / ``auto`` (engine/fast_paths.py decides).

Every variant is timed in turns within one process (a change in the machine's load reaches them alike): per turn,
a fresh ``Trainer.fit`` of ``WARM + K`` steps (no checkpoints inside the loop, no evaluation; the steps after the
warm-up are timed by an ``on_step_end`` callback, so the engine's data fetching, batch conversion, logging and
scheduler are in), the bare loop (``zero_grad; loss.backward(); opt.step()`` on the same task with the same
optimizer kernel and batches drawn before the timing) for ``before`` and ``after``, and ``MATMUL_CALLS`` short
measurements of float32 ``(1024, 1024) @ (1024, 1024)`` (``benchmarks/encoders.py``'s ``matmul_gflops``, 30 ms
each) on the same threads. Each figure is the best step, and the rate the best matmul measurement (``median_*``
columns: the median step): on shared cores the best is the one least disturbed, for the steps and the matmul alike.
FLOPs per step: ``torch.utils.flop_counter.FlopCounterMode`` over forward + backward of one cycle of the task's
optimizer groups (``Task.step_every``), 2 per multiply-add of the convolutions and matmuls (elementwise work, norms
and the optimizer are not counted). ``data_wait``: the engine's own ``metrics.jsonl`` figure, the share
of the step's wall time spent waiting on the data streams. The TIRG case is also run on 1 thread. Run:
``semspace bench train_speed`` (``--quick``: tiny sets, one short turn; a smoke run).
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from semspace.config import RunCfg, TrainCfg, load_run_cfg
from semspace.data.collate import collate_dicts
from semspace.engine.fast_paths import channels_last_batch, resolve_channels_last, resolve_fused
from semspace.engine.optim import create_optimizer
from semspace.engine.run import build_task_and_datasets
from semspace.engine.stages import apply_init
from semspace.engine.streams import build_streams, step_batches
from semspace.engine.trainer import Trainer, _trainable
from semspace.eval.report import markdown_table, write_benchmark
from semspace.utils.seed import seed_everything

SEED = 0
CPU = torch.device("cpu")
TARGET_OF_MATMUL = 0.6  # the TIRG config's achieved GFLOP/s over the matmul rate (issue 20)
TARGET_VS_BARE = 0.98  # the engine's steps/s over the bare loop's (issue 20)
MATMUL_CALLS = 12  # matmul_gflops calls per turn, MATMUL_CALL_S each: the best call, like the best step
MATMUL_CALL_S = 0.03
PART_REPS = 12  # turns of the options timed alone (_parts)


@dataclasses.dataclass
class Case:
    name: str  # the row's name
    config: str  # the shipped world config (relative to the checkout)
    overrides: list[str]  # a small training set (the per-step cost is the full config's)
    k: int  # timed steps per turn (a multiple of the task's step_every cycle)
    turns: int
    threads: tuple[int, ...] = (2,)


CASES = [
    Case("tirg", "configs/transfer/world_2d_to_3d.yaml", ["data.train.args.n=256"], k=4, turns=4, threads=(2, 1)),
    Case("chtn", "configs/chtn/world.yaml", ["data.extra.source.args.data.args.n_per_class=4"], k=30, turns=4),
    Case(
        "ssgn",
        "configs/ssgn/world.yaml",
        ["data.train.args.sketches.args.n=128", "data.train.args.photos.args.n=128"],
        k=20,
        turns=4,
    ),  # fmt: skip
    Case("egsc_it", "configs/egsc_it/world_pairs_stage2.yaml", ["data.train.args.n=256"], k=10, turns=3),
]
QUICK = {  # --quick: tiny sets, one turn of a few steps
    "tirg": ["data.train.args.n=64", "train.batch_size=8"],
    "ssgn": ["data.train.args.sketches.args.n=64", "data.train.args.photos.args.n=64", "train.batch_size=16"],
    "egsc_it": ["data.train.args.n=32"],
}


def _matmul_gflops() -> Any:
    """``matmul_gflops`` of ``benchmarks/encoders.py`` (the one definition of the matmul rate)."""
    path = Path(__file__).with_name("encoders.py")
    spec = importlib.util.spec_from_file_location("semspace_bench_encoders", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module.matmul_gflops


class Variant:
    """One setting of a case: its copy of the task, optimizers of the bare loop and pre-drawn batches."""

    def __init__(self, name: str, task: Any, train: TrainCfg, batches: list[dict[str, Any]], every: dict[str, int]):
        self.name, self.task, self.train, self.every = name, task, train, every
        self.channels_last = resolve_channels_last(train.channels_last, task, CPU)
        self.fused = resolve_fused(train.fused_optimizer, train.optimizer, CPU)
        if self.channels_last:
            task.to(memory_format=torch.channels_last)
        self.batches = [channels_last_batch(b) for b in batches] if self.channels_last else batches
        self.opts = {
            g: create_optimizer(_trainable(groups), train, fused=self.fused)
            for g, groups in task.optimizer_groups(train).items()
        }
        self.cycle = math.lcm(*every.values()) if every else 1  # steps per cycle of the optimizer groups
        self.engine: list[float] = []  # seconds per step of each timed cycle, all turns
        self.bare: list[float] = []
        self.data_wait: list[float] = []

    def bare_steps(self, first: int, k: int) -> list[float]:
        """Seconds per step of each cycle of ``k`` bare steps (trainer steps ``first .. first + k - 1``)."""
        self.task.train()
        marks = [time.perf_counter()]
        for s in range(first, first + k):
            batch = self.batches[s % len(self.batches)]
            for g, opt in self.opts.items():
                if s % self.every.get(g, 1):
                    continue
                opt.zero_grad(set_to_none=True)
                self.task(batch, group=g)["loss"].backward()
                if self.train.clip_grad > 0:
                    torch.nn.utils.clip_grad_norm_([p for pg in opt.param_groups for p in pg["params"]],
                                                   self.train.clip_grad)  # fmt: skip
                opt.step()
            marks.append(time.perf_counter())
        return _per_cycle(marks, self.cycle)

    def engine_steps(self, cfg: RunCfg, data: tuple[Any, Any], warm: int, k: int, run_dir: Path) -> list[float]:
        """Seconds per step of each cycle of steps ``warm + 1 .. warm + k`` of a fresh ``Trainer.fit`` (no resume)."""
        marks: dict[int, float] = {}
        train = dataclasses.replace(self.train, max_steps=warm + k, log_every=warm + k)
        trainer = Trainer(
            self.task, train, run_dir, dataset=data[0], extra_datasets=data[1],
            extra_batch_sizes={n: s.batch_size for n, s in cfg.data.extra.items()},
        )  # fmt: skip
        trainer.add_callback("on_step_end", lambda tr, step, logs: marks.__setitem__(step, time.perf_counter()))
        trainer.fit(resume=False)
        rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        self.data_wait.append(rows[-1]["data_wait"])
        return _per_cycle([marks[s] for s in range(warm, warm + k + 1)], self.cycle)


def _per_cycle(marks: list[float], cycle: int) -> list[float]:
    """Seconds per step of each whole cycle between the clock ``marks`` (one mark before the first step and one
    after each step)."""
    return [(marks[i + cycle] - marks[i]) / cycle for i in range(0, len(marks) - cycle, cycle)]


def _flops_per_step(variant: Variant) -> float:
    """FLOPs of one trainer step, averaged over a cycle of the task's groups (forward + backward), after one pass
    over the pre-drawn batches (a memo of frozen features, SSGN's, then holds them, as in the timed steps)."""
    variant.bare_steps(0, len(variant.batches))
    counter = FlopCounterMode(display=False)
    with counter:
        variant.bare_steps(0, variant.cycle)
    return counter.get_total_flops() / variant.cycle


def run_case(case: Case, quick: bool, tmp: Path, matmul: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of one case at each of its thread counts."""
    overrides = [*case.overrides, *(QUICK.get(case.name, []) if quick else [])]
    cfg = load_run_cfg(case.config, [*overrides, "train.device=cpu", "train.ckpt_every=0", "train.eval_every=0"])
    seed_everything(cfg.train.seed)
    t_build = time.perf_counter()
    task, dataset, extra = build_task_and_datasets(cfg)
    if cfg.init:  # the stages are frozen as in a run; their weights (another run's) do not change the cost
        apply_init(task, cfg.init, load=False)
        for ae in getattr(task, "mask_ae", {}).values():  # EGSC-IT's stage 1: count it as trained (random weights)
            ae.trained_steps.fill_(1)
    build_s = time.perf_counter() - t_build
    t_case = time.perf_counter()
    every = {g: task.step_every().get(g, 1) for g in task.optimizer_groups(cfg.train)}
    warm, k, turns = (1, 2, 1) if quick else (max(every.values()), case.k, case.turns)
    streams = build_streams(
        task, dataset, extra, {n: s.batch_size for n, s in cfg.data.extra.items()}, batch_size=cfg.train.batch_size,
        seed=cfg.train.seed, num_replicas=1, rank=0,
    )  # fmt: skip
    draw = step_batches(streams, collate_fn=collate_dicts, num_workers=0, pin_memory=False)
    batches = [task.prepare_batch(next(draw), CPU) for _ in range(warm + k)]
    settings = {"before": (False, False), "channels_last": (True, False), "fused": (False, True),
                "after": ("auto", "auto")}  # fmt: skip
    variants: dict[str, Variant] = {}
    chosen: set[tuple[bool, bool]] = set()
    for name in ("before", "after", "channels_last", "fused"):  # an option alone only where it is a new setting
        cl, fused = settings[name]
        train = dataclasses.replace(cfg.train, channels_last=cl, fused_optimizer=fused)
        key = (resolve_channels_last(cl, task, CPU), resolve_fused(fused, cfg.train.optimizer, CPU))
        has_conv = any(isinstance(m, torch.nn.Conv2d) for m in task.modules())
        if key in chosen or (name == "channels_last" and not has_conv):  # NHWC of a task without convolutions
            continue
        chosen.add(key)
        variants[name] = Variant(name, copy.deepcopy(task), train, batches, every)
    flops = _flops_per_step(variants["before"])
    rows, info = [], {"build_s": round(build_s, 1), "warm_steps": warm, "timed_steps": k, "turns": turns}
    for threads in case.threads if not quick else case.threads[:1]:
        torch.set_num_threads(threads)
        rates: list[float] = []
        for v in variants.values():
            v.engine, v.bare, v.data_wait = [], [], []
            v.engine_steps(cfg, (dataset, extra), warm, 1, tmp / v.name)  # warm-up: memos, allocator, kernels
            v.bare_steps(0, 1)
        for _ in range(turns):
            rates += [matmul(seconds=MATMUL_CALL_S) for _ in range(2 if quick else MATMUL_CALLS)]
            for v in variants.values():
                v.engine += v.engine_steps(cfg, (dataset, extra), warm, k, tmp / v.name)
                if v.name in ("before", "after"):
                    v.bare += v.bare_steps(warm, k)
        rate = max(rates)
        base, base_median = min(variants["before"].engine), statistics.median(variants["before"].engine)
        for v in variants.values():
            best, median = min(v.engine), statistics.median(v.engine)
            gflops = flops / best / 1e9
            row = {
                "case": case.name, "threads": threads, "variant": v.name, "channels_last": v.channels_last,
                "fused": v.fused, "steps_per_s": round(1 / best, 2), "median_steps_per_s": round(1 / median, 2),
                "gflop_per_step": round(flops / 1e9, 3), "gflops": round(gflops, 2),
                "of_matmul": round(gflops / rate, 3),
                "vs_before": round(base / best, 3), "median_vs_before": round(base_median / median, 3),
                "engine_vs_bare": round(min(v.bare) / best, 3) if v.bare else "",
                "median_vs_bare": round(statistics.median(v.bare) / median, 3) if v.bare else "",
                "data_wait": round(statistics.median(v.data_wait), 3), "matmul_gflops": round(rate, 1),
                "samples": len(v.engine),
            }  # fmt: skip
            rows.append(row)
            print({k_: row[k_] for k_ in ("case", "threads", "variant", "steps_per_s", "of_matmul",  # noqa: T201
                                          "engine_vs_bare", "data_wait")})  # fmt: skip
    torch.set_num_threads(case.threads[0])
    info["parts"] = _parts(variants, reps=2 if quick else PART_REPS)
    info["timing_s"] = round(time.perf_counter() - t_case, 1)
    return rows, info


def _parts(variants: dict[str, Variant], reps: int) -> dict[str, float]:
    """Each option alone, on 1 thread, in turns: the optimizer step (torch's loop vs fused, on the grads left by the
    last step) and forward + backward of every group (NCHW vs NHWC, where the task has convolutions); best ms."""
    torch.set_num_threads(1)
    base = variants["before"]
    fused = variants.get("fused") or variants["after"]
    nhwc = variants.get("channels_last")
    times: dict[str, list[float]] = {}

    def clock(key: str, fn: Any) -> None:
        t0 = time.perf_counter()
        fn()
        times.setdefault(key, []).append(time.perf_counter() - t0)

    def fwd_bwd(v: Variant) -> None:
        for g in v.opts:
            v.task.zero_grad(set_to_none=True)
            v.task(v.batches[0], group=g)["loss"].backward()

    for v in (base, nhwc or base, fused):
        fwd_bwd(v)  # grads for the optimizer steps
    for _ in range(reps):
        clock("opt_loop_ms", lambda: [o.step() for o in base.opts.values()])
        clock("opt_fused_ms", lambda: [o.step() for o in fused.opts.values()])
        if nhwc is not None:
            clock("fwd_bwd_nchw_ms", lambda: fwd_bwd(base))
            clock("fwd_bwd_nhwc_ms", lambda: fwd_bwd(nhwc))  # noqa: B023
    out = {k: round(min(v) * 1e3, 2) for k, v in times.items()}
    out |= {k.replace("_ms", "_median_ms"): round(statistics.median(v) * 1e3, 2) for k, v in times.items()}
    return out


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False, cases: list[str] | None = None) -> Path:
    """Runs every case (or those named in ``cases``) and writes ``train_speed.json`` / ``.md``."""
    load_start = os.getloadavg()
    threads_before = torch.get_num_threads()
    matmul = _matmul_gflops()
    t_all = time.perf_counter()
    rows: list[dict[str, Any]] = []
    infos: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for case in CASES:
                if cases and case.name not in cases:
                    continue
                case_rows, infos[case.name] = run_case(case, quick, Path(tmp) / case.name, matmul)
                rows += case_rows
    finally:
        torch.set_num_threads(threads_before)
    load_end = os.getloadavg()
    cols = ["case", "threads", "variant", "channels_last", "fused", "steps_per_s", "median_steps_per_s",
            "gflop_per_step", "gflops", "of_matmul", "vs_before", "median_vs_before", "engine_vs_bare",
            "median_vs_bare", "data_wait"]  # fmt: skip
    verdicts = _verdicts(rows)
    name = "train_speed_quick" if quick else "train_speed"
    _, md = write_benchmark(
        name, rows=rows, columns=cols, seed=SEED,
        config={"quick": quick, "cases": {c.name: {"config": c.config, "overrides": c.overrides, **infos[c.name]}
                                          for c in CASES if c.name in infos},
                "matmul_calls_per_turn": MATMUL_CALLS, "matmul_call_s": MATMUL_CALL_S,
                "load_average_start": load_start, "load_average_end": load_end,
                "verdicts": verdicts},
        seconds=time.perf_counter() - t_all,
        title="Training speed (steps/s, achieved GFLOP/s and fraction of the matmul rate; engine vs a bare loop)",
        notes=_notes(verdicts, load_start, load_end) + _parts_table(infos),
        out_dir=out_dir,
    )  # fmt: skip
    print(markdown_table(rows, cols))  # noqa: T201
    return md


def _verdicts(rows: list[dict[str, Any]]) -> list[str]:
    """Met / missed for the issue's targets, on the ``after`` rows."""
    out = []
    for r in rows:
        if r["variant"] != "after":
            continue
        if r["case"] == "tirg":
            met = "met" if r["of_matmul"] >= TARGET_OF_MATMUL else "missed"
            out.append(f"tirg @{r['threads']} thread(s): {r['of_matmul']} of the matmul rate (target "
                       f">= {TARGET_OF_MATMUL}): {met}")  # fmt: skip
        met = "met" if r["engine_vs_bare"] >= TARGET_VS_BARE else "missed"
        out.append(f"{r['case']} @{r['threads']} thread(s): engine {r['engine_vs_bare']} of the bare loop (best "
                   f"steps; medians {r['median_vs_bare']}; target >= {TARGET_VS_BARE}): {met}")  # fmt: skip
    return out


def _parts_table(infos: dict[str, Any]) -> str:
    """The options timed alone (``_parts``), one row per case: best ms (median in brackets)."""
    rows = []
    for case, info in infos.items():
        p = info["parts"]

        def cell(key: str, p: dict[str, float] = p) -> str:
            return f"{p[key + '_ms']} ({p[key + '_median_ms']})" if key + "_ms" in p else ""

        speed = round(p["fwd_bwd_nchw_ms"] / p["fwd_bwd_nhwc_ms"], 3) if "fwd_bwd_nhwc_ms" in p else ""
        rows.append({"case": case, "opt_step_loop_ms": cell("opt_loop"), "opt_step_fused_ms": cell("opt_fused"),
                     "fused_speedup": round(p["opt_loop_ms"] / p["opt_fused_ms"], 2),
                     "fwd_bwd_nchw_ms": cell("fwd_bwd_nchw"), "fwd_bwd_nhwc_ms": cell("fwd_bwd_nhwc"),
                     "nhwc_speedup": speed})  # fmt: skip
    cols = ["case", "opt_step_loop_ms", "opt_step_fused_ms", "fused_speedup", "fwd_bwd_nchw_ms", "fwd_bwd_nhwc_ms",
            "nhwc_speedup"]  # fmt: skip
    return (
        "\n\nEach option alone, 1 thread, in turns (best ms of the turns, median in brackets): the optimizer step "
        "(torch's per-parameter loop vs fused) and forward + backward of every group (NCHW vs NHWC, where the task "
        "has convolutions):\n\n" + markdown_table(rows, cols)
    )


def _notes(verdicts: list[str], start: tuple[float, ...], end: tuple[float, ...]) -> str:
    load = ", ".join(f"{v:.1f}" for v in start), ", ".join(f"{v:.1f}" for v in end)
    return (
        "Targets (issue 20), on the `after` rows:\n\n" + "\n".join(f"- {v}" for v in verdicts) + "\n\n"
        "steps_per_s: the engine's best step (a fresh `Trainer.fit` per turn, each step after a warm-up timed; a "
        "cycle of the optimizer groups where they step at different rates), median_steps_per_s its median step; "
        "gflops = gflop_per_step x steps_per_s (FlopCounterMode: convolutions and matmuls of forward + backward, 2 per "
        "multiply-add); of_matmul = gflops / the best 30 ms float32 1024^3 matmul rate of the same turns and threads "
        "(column matmul_gflops in the JSON); vs_before: best step of `before` over this row's (median_vs_before: of "
        "the medians); engine_vs_bare: the bare loop's best step over the engine's (median_vs_bare: of the medians); "
        "data_wait: the engine's metrics.jsonl share of the step spent waiting on the data streams. Training sets "
        f"are small (the config's per-step cost). Load average (1, 5, 15 min) {load[0]} at the start, {load[1]} at "
        "the end: the cores are shared, so single figures move with the load; ratios are of turns run side by side."
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="training speed (benchmarks/train_speed.py)")
    parser.add_argument("--out", default="benchmarks/results", help="results folder")
    parser.add_argument("--quick", action="store_true", help="tiny sets, one short turn (a smoke run)")
    parser.add_argument("--cases", nargs="*", help="only these cases (tirg, chtn, ssgn, egsc_it)")
    cli = parser.parse_args()
    main(out_dir=cli.out, quick=cli.quick, cases=cli.cases)
