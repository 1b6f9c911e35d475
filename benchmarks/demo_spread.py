"""The demo's spread over training seeds: ``semspace demo --seed S`` for S = 0, 1, 2 on one machine.

The world (scenes, test queries, gallery) is the same for every seed; the seed sets the model initialisation
and the batch order. Each row is one seed's ``metrics.json``: Recall@K of the 2D-trained TIRG composer and of
the image-only baseline (the same trained encoders, modification ignored), 3D query -> 3D gallery and 2D
query -> 3D gallery over the demo's 500 test queries, the demo's wall time (world export, training,
evaluation, index and searches), its CPU time (user + system) and the machine's mean 1-min load average while
it ran (the demo's own two threads count about 2); then mean, sample standard deviation (n - 1), min and max
over the seeds.

A seed whose ``runs/demo_s<S>/metrics.json`` exists is kept (that is where ``semspace demo --out
runs/demo_s<S> --seed S`` writes), so the benchmark can collect demos already run with the CLI, and a killed
benchmark resumes; the others are run here (``semspace.demo.run_demo``, what the CLI calls). CPU time and load
come from ``runs/demo_s<S>/conditions.json`` (written here for the demos run here; for a CLI run, write it by
hand, e.g. from ``/usr/bin/time -v``; missing: left empty). The footer's wall time is that of every seed's demo,
the kept ones' from their ``metrics.json``, plus the collection here.
Run: ``semspace bench demo_spread`` (``--quick``: the quick demo, seeds 0 and 1, in ``runs/bench/``).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from semspace.demo import demo_run_cfg, run_demo
from semspace.eval.report import write_benchmark
from semspace.utils.io import atomic_write_text

SEEDS = (0, 1, 2)
QUICK_SEEDS = (0, 1)
METHODS = {"TIRG": "tirg_transferred", "image only": "image_only"}
METRICS = [(f"{m} {col} R@{k}", key, f"{name}_R@{k}") for m, key in METHODS.items()
           for name, col in (("3d_to_3d", "3D->3D"), ("2d_to_3d", "2D->3D")) for k in (1, 5, 10)]  # fmt: skip
COLUMNS = ["seed", *[c for c, _, _ in METRICS], "wall s", "cpu s", "load"]


def _run_dir(seed: int, quick: bool) -> Path:
    return Path("runs/bench/demo_spread_quick" if quick else "runs") / f"demo_s{seed}"


def _demo(seed: int, quick: bool) -> dict[str, Any]:
    """One seed's demo metrics (kept from its metrics.json when there)."""
    out = _run_dir(seed, quick)
    done, conditions = out / "metrics.json", out / "conditions.json"
    if done.is_file():
        print(f"demo_spread / seed {seed}: kept from {done}", flush=True)
        kept = json.loads(conditions.read_text()) if conditions.is_file() else {}
        return dict(json.loads(done.read_text())) | {"conditions": kept, "kept": True}
    load0, cpu0 = os.getloadavg()[0], _cpu_seconds()
    metrics = run_demo(out, quick=quick, seed=seed)
    metrics["conditions"] = {
        "cpu_seconds": round(_cpu_seconds() - cpu0, 1),
        "load_average": round((load0 + os.getloadavg()[0]) / 2, 2),
        "how": "resource.getrusage (this process and its children); 1-min load average at start and end",
    }
    atomic_write_text(conditions, json.dumps(metrics["conditions"], indent=2) + "\n")
    print(f"demo_spread / seed {seed}: TIRG 3D->3D R@1 {metrics['tirg_transferred']['3d_to_3d_R@1']:.3f} "
          f"({metrics['seconds']} s)", flush=True)  # fmt: skip
    return metrics


def _cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False) -> Path:
    t_all = time.time()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    load_start = os.getloadavg()
    seeds = QUICK_SEEDS if quick else SEEDS
    demos = {s: _demo(s, quick) for s in seeds}
    rows: list[dict[str, Any]] = []
    for s, m in demos.items():
        row: dict[str, Any] = {"seed": str(s)}
        for col, key, metric in METRICS:
            row[col] = m[key][metric]
        row["wall s"] = m["seconds"]
        row["cpu s"] = m["conditions"].get("cpu_seconds")
        row["load"] = m["conditions"].get("load_average")
        rows.append(row)
    for label, fn in (("mean", statistics.mean), ("std", statistics.stdev), ("min", min), ("max", max)):
        summary: dict[str, Any] = {"seed": label}
        for c in COLUMNS[1:]:
            values = [r[c] for r in rows[: len(seeds)] if r[c] is not None]
            summary[c] = float(fn(values)) if len(values) == len(seeds) else None
        rows.append(summary)
    first = demos[seeds[0]]
    config = {
        "run_cfg": f"semspace.demo.demo_run_cfg({quick}, seed)",
        "train": {k: getattr(demo_run_cfg(quick, seeds[0]).train, k) for k in ("max_steps", "batch_size", "lr")},
        "seeds": list(seeds),
        "run_dirs": [str(_run_dir(s, quick)) for s in seeds],
        "torch_threads": {s: demos[s].get("torch_threads") for s in seeds},
        "examples": [{"query": e["query"], "modify": e["modify"]} for e in first.get("examples", [])],
        "load_average_start_end": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
    }
    tirg, img = rows[len(seeds)], rows[len(seeds)]  # the mean row
    lo, hi = rows[len(seeds) + 2], rows[len(seeds) + 3]
    notes = "\n".join(
        [
            f"Over seeds {', '.join(map(str, seeds))}: TIRG 3D->3D R@1 mean {tirg['TIRG 3D->3D R@1']:.3f} "
            f"(range {lo['TIRG 3D->3D R@1']:.3f}-{hi['TIRG 3D->3D R@1']:.3f}), 2D->3D R@1 mean "
            f"{tirg['TIRG 2D->3D R@1']:.3f} (range {lo['TIRG 2D->3D R@1']:.3f}-{hi['TIRG 2D->3D R@1']:.3f}); "
            f"image only 3D->3D R@1 mean {img['image only 3D->3D R@1']:.3f}. Wall time "
            f"{lo['wall s']:.0f}-{hi['wall s']:.0f} s per demo on this machine (set-up not included); wall time "
            "depends on the CPU and on whatever else runs on it (`cpu s`: user + system seconds, so `cpu s` / `wall "
            "s` near 2 means the demo had two cores to itself; `load`: the mean 1-min load average during the demo, "
            "its own two threads included).",
            "",
            "The world is the same for every seed (seed 0); the seed is `semspace demo --seed`, the training seed. "
            "Demos kept from an earlier `semspace demo` run are collected as they are.",
        ]
    )
    _, md = write_benchmark(
        "demo_spread" + ("_quick" if quick else ""),
        rows=rows,
        columns=COLUMNS,
        seed=seeds[0],
        config=config,
        seconds=time.time() - t_all + sum(m["seconds"] for m in demos.values() if m.get("kept")),
        title="The demo over training seeds (2D-trained TIRG on 3D renders, Recall@K, "
        f"{demo_run_cfg(quick, seeds[0]).eval['data']['args']['n']} test queries)",
        notes=notes,
        out_dir=out_dir,
    )
    return md
