"""Transferred transformations (LTT, arXiv:1903.00793, on TIRG, arXiv:1812.07119): the paper-style table.

Four experiments on the world's scenes, each run with TIRG and its baselines (concat, image only, text only)
on the same data, seed and budget, in one run:

* (a) in-domain: composer trained on 3D render triplets, 3D query -> 3D gallery (the upper bound);
* (b) 2D -> 3D transfer: composer trained on 2D blob triplets only (encoders aligned on paired, unmodified
  2D/3D views), applied to 3D queries, 3D gallery;
* (c) text -> image transfer: composer trained on scene descriptions with text modifications, applied to
  3D render queries, 3D gallery;
* (d) 2D query -> 3D gallery, with the model of (b).

Protocol: TIRG's Recall@K (query image removed from its own ranking; a hit is a gallery image of the target
scene) over 2000 unseen test queries (4 modifications per source scene, as in CSS) and their 2500-image
gallery. The training settings are the configs in ``configs/transfer/`` (this script only swaps the composer).
Finished methods are kept in ``runs/bench/transfer/<experiment>/<method>/result.json``, so a killed benchmark
resumes where it stopped (and re-running it only rebuilds the table).
Run: ``semspace bench transfer`` (``--quick`` for a smoke run with tiny models).

Claims over seeds (issue 23 item 3): ``--seeds N`` also trains TIRG and its strongest baseline, concat
(``CLAIM_METHODS``), at training seeds 1..N-1 for every experiment, kept in
``runs/bench/transfer_seed<S>/<experiment>/<method>/result.json`` (a killed run resumes), and reads each claim
against two standard errors of the seeds (``eval.seeds.claim_row``). Seed 0 is the table's own run (the same code
path and config): its kept ``result.json`` or, when ``runs/bench/transfer`` holds none, the committed
``transfer.json`` (the Markdown says which). ``python benchmarks/transfer.py --seeds 3 --claims-only
[--experiments transfer_2d_to_3d,in_domain_3d]`` runs only that pass, for the experiments named (default: all);
the table is read from the committed JSON, and an experiment not named keeps its claims when its seeds are on disk.

On the user's data (``data_table``): ``semspace bench transfer --data SPEC [--seeds N]`` trains TIRG, concat,
image only and text only with the in-domain config (a) on a composed-retrieval dataset (``css3d``, ``fashion200k``,
``mit_states``: its ``split=train`` and ``split=test``) and reports Recall@1/5/10 with the source image removed
from its ranking; with N seeds, each method's mean and standard deviation and TIRG's lead over each baseline read
against two standard errors (``eval.seeds``). Results: ``runs/bench/results/transfer_<dataset>.{json,md}``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from semspace.config import DataSpec, RunCfg, load_run_cfg, to_dict
from semspace.data import create_dataset
from semspace.engine.run import build_evaluator, build_task_and_data
from semspace.engine.trainer import Trainer
from semspace.errors import ConfigError
from semspace.eval.report import write_benchmark
from semspace.eval.seeds import aggregate_rows, attach_claims, claim, claim_row, claims_section
from semspace.tasks import create_task
from semspace.utils.io import atomic_write_text
from semspace.utils.seed import seed_everything

METHODS = {"TIRG": "tirg", "concat": "concat", "image only": "image_only", "text only": "text_only"}
EXPERIMENTS = {  # name -> (config, {column prefix: metric prefix of its evaluation}); transfer runs first
    "transfer_2d_to_3d": (
        "configs/transfer/world_2d_to_3d.yaml",
        {"(b) 2D-trained, 3D->3D": "3d_to_3d", "(d) 2D-trained, 2D->3D": "2d_to_3d"},
    ),
    "in_domain_3d": ("configs/transfer/world_3d_in_domain.yaml", {"(a) 3D->3D in-domain": "3d_to_3d"}),
    "transfer_text_to_3d": ("configs/transfer/world_text_to_3d.yaml", {"(c) text-trained, 3D->3D": "3d_to_3d"}),
}
KS = (1, 5, 10)
QUICK = [
    "task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn", "task_args.text_encoder=tiny_lstm_text",
    "task_args.embed_dim=32", "data.train.args.n=256", "train.max_steps=30", "eval.data.args.n=50",
]  # fmt: skip


def kept(run_root: Path, name: str, methods: dict[str, str]) -> dict[str, dict[str, float]] | None:
    """The kept results of every method of experiment ``name`` under ``run_root``, or None when one is missing."""
    done = {label: run_root / name / composer / "result.json" for label, composer in methods.items()}
    if not all(p.is_file() for p in done.values()):
        return None
    return {label: json.loads(p.read_text()) for label, p in done.items()}


def run_experiment(name: str, cfg: RunCfg, run_root: Path,
                   methods: dict[str, str] = METHODS) -> dict[str, dict[str, float]]:  # fmt: skip
    """Trains every method of ``methods`` on one cached training set; returns {method: metrics}."""
    if (done_all := kept(run_root, name, methods)) is not None:  # nothing to train: no rendering either
        print(f"{name}: every method kept under {run_root / name}", flush=True)
        return done_all
    _, train_set = build_task_and_data(cfg)  # rendered and cached once (the config sets cache), shared by all methods
    protocol = build_evaluator(cfg)
    results: dict[str, dict[str, float]] = {}
    for label, composer in methods.items():
        run_dir = run_root / name / composer
        done = run_dir / "result.json"
        if done.is_file():
            results[label] = json.loads(done.read_text())
            print(f"{name} / {label}: kept from {done}", flush=True)
            continue
        seed_everything(cfg.train.seed)
        task = create_task(cfg.task, {**cfg.task_args, "composer": composer}, train_set)
        t0 = time.time()
        run_cfg = to_dict(cfg) | {"task_args": task.export_cfg()}
        progress = sys.stderr.isatty()
        Trainer(task, cfg.train, run_dir, dataset=train_set, run_cfg=run_cfg, progress=progress).fit(resume=True)
        metrics = dict(protocol(task)) | {"train_seconds": round(time.time() - t0, 1)}
        atomic_write_text(done, json.dumps(metrics, indent=2) + "\n")
        results[label] = metrics
        recalls = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if k.endswith("R@1"))
        print(f"{name} / {label}: {recalls} ({metrics['train_seconds']} s)", flush=True)
    return results


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False, data: dict[str, DataSpec] | None = None,
         seeds: int = 1, claims_only: bool = False, experiments: Sequence[str] | None = None) -> Path:  # fmt: skip
    """The world's four experiments at seed 0 (``data`` None; ``claims_only``: the table read from ``out_dir``'s
    JSON) and, with ``seeds`` > 1, the claims pass over ``experiments`` (default: all); or the table on the user's
    composed-retrieval data (``data_table``, ``seeds`` training seeds)."""
    t_all = time.time()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    if data is not None:
        return data_table(data["data"], out_dir, quick, seeds)
    run_root = Path("runs/bench/transfer" + ("_quick" if quick else ""))
    name = "transfer" + ("_quick" if quick else "")
    unknown = sorted(set(experiments or ()) - set(EXPERIMENTS))
    if unknown:
        raise ConfigError(f"bench transfer: unknown experiment(s) {unknown}; choose from {list(EXPERIMENTS)}")
    if claims_only:
        table = Path(out_dir) / f"{name}.json"
        if not table.is_file():
            raise ConfigError(f"bench transfer --claims-only: {table} not found; run the table first")
        doc = json.loads(table.read_text())
        rows, cfg_doc, table_seconds = doc["rows"], doc["config"], float(doc["seconds"])
    else:
        rows, cfg_doc = world_table(run_root, quick)
        table_seconds = time.time() - t_all
    claims, lead = claims_pass(run_root, rows, quick, seeds, experiments) if seeds > 1 else ([], "")
    notes = _notes(rows, cfg_doc["seconds_per_experiment"])
    json_path, md = write_benchmark(
        name, rows=rows, columns=_columns(), seed=cfg_doc["experiments"]["in_domain_3d"]["train"]["seed"],
        config=cfg_doc, seconds=table_seconds,
        title="Transferred transformations on the world (LTT / TIRG protocol, Recall@K, 2000 test queries)",
        notes=notes + ("\n\n" + claims_section(claims, seeds, lead) if claims else ""), out_dir=out_dir,
    )  # fmt: skip
    if claims:
        attach_claims(json_path, claims, claim_seeds=seeds, claims_seconds=round(time.time() - t_all, 1))
    return md


def _columns() -> list[str]:
    cols_in_order = sorted(c for _, cols in EXPERIMENTS.values() for c in cols)  # (a), (b), (c), (d)
    return ["method", *[f"{col} R@{k}" for col in cols_in_order for k in KS]]


def world_table(run_root: Path, quick: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The four experiments with every method at the configs' seed: (rows, {experiments: configs, seconds})."""
    per_exp: dict[str, dict[str, dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    configs: dict[str, Any] = {}
    for name, (path, _) in EXPERIMENTS.items():
        cfg = load_run_cfg(path, QUICK if quick else [])
        configs[name] = to_dict(cfg)
        t0 = time.time()
        per_exp[name] = run_experiment(name, cfg, run_root)
        seconds[name] = round(time.time() - t0, 1)
    rows = []
    for label in METHODS:
        row: dict[str, Any] = {"method": label}
        for name, (_, cols) in EXPERIMENTS.items():
            for col, prefix in cols.items():
                for k in KS:
                    row[f"{col} R@{k}"] = per_exp[name][label][f"{prefix}_R@{k}"]
        rows.append(row)
    return rows, {"experiments": configs, "seconds_per_experiment": seconds}


CLAIM_METHODS = {"TIRG": "tirg", "concat": "concat"}  # TIRG and its strongest baseline in every column


CLAIM_KS = (1, 5)  # the recalls the claims read: TIRG's headline R@1, and R@5 where the ranking's top differs


def claims_pass(run_root: Path, rows: list[dict[str, Any]], quick: bool, seeds: int,
                experiments: Sequence[str] | None) -> tuple[list[dict[str, Any]], str]:  # fmt: skip
    """TIRG and concat at seeds 1..seeds-1 for ``experiments`` (module docstring), seed 0 from the table; the
    claims (R@1 and R@5 of ``CLAIM_KS``) of every experiment whose seeds are all there; returns (claim rows, the
    section's lead)."""
    # K -> column -> method -> R@K per seed
    recalls: dict[int, dict[str, dict[str, list[float]]]] = {k: {} for k in CLAIM_KS}
    seed0_from_json = []
    for name, (path, cols) in EXPERIMENTS.items():
        per_seed = []
        for s in range(1, seeds):
            root = run_root.with_name(f"{run_root.name}_seed{s}")
            if experiments is None or name in experiments:
                cfg = load_run_cfg(path, [*(QUICK if quick else []), f"train.seed={s}"])
                per_seed.append(run_experiment(name, cfg, root, CLAIM_METHODS))
            elif (res := kept(root, name, CLAIM_METHODS)) is not None:
                per_seed.append(res)
        if len(per_seed) == seeds - 1:
            first = kept(run_root, name, CLAIM_METHODS)
            if first is None:
                seed0_from_json.append(name)
                first = {m: {f"{p}_R@{k}": _cell(rows, m, f"{c} R@{k}") for c, p in cols.items() for k in CLAIM_KS}
                         for m in CLAIM_METHODS}  # fmt: skip
            per_seed.insert(0, first)
            for k in CLAIM_KS:
                for col, prefix in cols.items():
                    recalls[k][col] = {m: [float(res[m][f"{prefix}_R@{k}"]) for res in per_seed] for m in CLAIM_METHODS}
    claims = [claim_row(f"TIRG > concat, {col} R@{k}", v["TIRG"], v["concat"])
              for k in CLAIM_KS for col, v in sorted(recalls[k].items())]  # fmt: skip
    r1 = recalls[1]  # column -> method -> R@1 per seed
    a, b, c = "(a) 3D->3D in-domain", "(b) 2D-trained, 3D->3D", "(c) text-trained, 3D->3D"
    if a in r1:
        claims.append(claim_row(f"TIRG {a} R@1 >= 0.70", r1[a]["TIRG"], [0.70] * seeds))
        for col, factor in ((b, 0.8), (c, 0.5)):
            if col in r1:
                claims.append(claim_row(f"TIRG {col} R@1 >= {factor} x {a}", r1[col]["TIRG"],
                                        [factor * x for x in r1[a]["TIRG"]]))  # fmt: skip
    missing = [n for n in EXPERIMENTS if not any(col in r1 for col in EXPERIMENTS[n][1])]
    lead = (f"TIRG and its strongest baseline, concat, trained at seeds 0..{seeds - 1} with the experiments' configs "
            "(only `train.seed` changes; R@1 and R@5, 2000 test queries). Seed 0: "
            + (f"the committed table's rows for {', '.join(seed0_from_json)} (no seed-0 run was kept on disk); "
               if seed0_from_json else "")
            + "the table's own runs otherwise."
            + (f" Not yet run over the seeds: {', '.join(missing)}." if missing else ""))  # fmt: skip
    return claims, lead


def _cell(rows: list[dict[str, Any]], method: str, column: str) -> float:
    return float(next(r[column] for r in rows if r["method"] == method))


def _notes(rows: list[dict[str, Any]], seconds: dict[str, float]) -> str:
    """The targets of issue #3, checked against this run's numbers."""
    tirg = rows[0]
    a, b = tirg["(a) 3D->3D in-domain R@1"], tirg["(b) 2D-trained, 3D->3D R@1"]
    c, d = tirg["(c) text-trained, 3D->3D R@1"], tirg["(d) 2D-trained, 2D->3D R@1"]
    beats = {}
    for col in (k for k in tirg if k.endswith("R@1")):
        beats[col] = all(tirg[col] > r[col] for r in rows[1:])
    lines = [
        "Targets (R@1 of TIRG):",
        f"- in-domain >= 0.70: {a:.3f} ({'met' if a >= 0.70 else 'MISSED'})",
        f"- 2D->3D transferred >= 0.8 x in-domain: {b:.3f} = {b / max(a, 1e-9):.2f} x "
        f"({'met' if b >= 0.8 * a else 'MISSED'})",
        f"- text->image transferred >= 0.5 x in-domain: {c:.3f} = {c / max(a, 1e-9):.2f} x "
        f"({'met' if c >= 0.5 * a else 'MISSED'})",
        f"- (d) 2D query -> 3D gallery: {d:.3f} = {d / max(a, 1e-9):.2f} x in-domain",
        "- TIRG above every baseline at R@1: "
        + ", ".join(f"{col.removesuffix(' R@1')}: {'yes' if ok else 'NO'}" for col, ok in beats.items()),
        "",
        "Wall time per experiment (4 methods, data rendering included): "
        + ", ".join(f"{k} {v / 60:.1f} min" for k, v in seconds.items()),
    ]
    return "\n".join(lines)


# ---- the table on the user's data (semspace bench transfer --data SPEC [--seeds N]) --------------------------------
DATA_ROLES = {"data": "a composed-retrieval dataset (css3d, fashion200k, mit_states: image + modification text -> "
              "target image); its splits train and test are read"}  # fmt: skip
DATA_CONFIG = Path(__file__).resolve().parents[1] / "configs/transfer/world_3d_in_domain.yaml"  # (a)'s solver
DATA_QUICK = ["task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn",
              "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=32", "train.max_steps=10"]  # fmt: skip
DATA_COLUMNS = ["method", *[f"R@{k}" for k in KS]]


def data_table(spec: DataSpec, out_dir: str | Path | None, quick: bool, seeds: int) -> Path:
    """TIRG and its baselines on ``spec`` (module docstring); returns the .md written to ``out_dir``."""
    from semspace.data.spec import format_data_spec

    t0 = time.time()
    given = format_data_spec(spec)
    if "split" in spec.args:
        raise ConfigError(f"--data {given!r}: the benchmark reads split=train and split=test itself; drop split")
    train = {"name": spec.name, "args": {**spec.args, "split": "train"}}
    test = {"name": spec.name, "args": {**spec.args, "split": "test"}}
    n_train = len(create_dataset(train["name"], **train["args"]))
    overrides = [f"train.batch_size={min(32, n_train)}", "train.num_workers=0", "eval.num_workers=0",
                 "train.warmup_steps=0" if quick else "train.log_every=50"] + (DATA_QUICK if quick else [])  # fmt: skip
    name = f"transfer_{spec.name}" + ("_quick" if quick else "")
    digest = hashlib.sha256(given.encode()).hexdigest()[:10]
    tables = []
    for s in range(seeds):
        cfg = load_run_cfg(DATA_CONFIG, [*overrides, f"train.seed={s}"])
        cfg.data.train.name, cfg.data.train.args, cfg.data.train.cache = train["name"], dict(train["args"]), False
        cfg.eval = {**cfg.eval, "data": test, "experiments": [{"name": "data", "query_domain": "render3d",
                                                               "gallery_domain": "render3d"}]}  # fmt: skip
        res = run_experiment("data", cfg, Path("runs/bench") / f"{name}_{digest}" / f"seed{s}")
        tables.append([{"method": m, **{f"R@{k}": r[f"data_R@{k}"] for k in KS}} for m, r in res.items()])
    rows, columns = (tables[0], DATA_COLUMNS) if seeds == 1 else (
        aggregate_rows(tables), ["method", *[c for k in KS for c in (f"R@{k}", f"R@{k} sd")], "seeds"])  # fmt: skip
    per = {r["method"]: [t[i]["R@1"] for t in tables] for i, r in enumerate(tables[0])}
    notes = [f"Training: configs (a)'s solver on {given} ({n_train} training queries){', quick' if quick else ''}; "
             f"{seeds} seed(s); 'met' only beyond two standard errors.", "", "Claims (R@1):"]  # fmt: skip
    notes += [f"- TIRG > {m}: {claim(per['TIRG'], per[m])[1]}" for m in METHODS if m != "TIRG"]
    _, md = write_benchmark(
        name, rows=rows, columns=columns, seed=0, config={"data": given, "seeds": seeds, "overrides": overrides},
        seconds=time.time() - t0, title=f"TIRG and its baselines on {given} (Recall@K)", notes="\n".join(notes),
        out_dir=Path(out_dir) if out_dir is not None else Path("runs/bench/results"),
    )  # fmt: skip
    return md


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny models, for a smoke run")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds of TIRG and concat (mean, sd)")
    parser.add_argument("--claims-only", action="store_true", help="only the claims pass; the table read from JSON")
    parser.add_argument("--experiments", default=None, help=f"comma-separated, of {', '.join(EXPERIMENTS)}")
    parser.add_argument("--out", default="benchmarks/results", help="results folder")
    a = parser.parse_args()
    chosen = a.experiments.split(",") if a.experiments else None
    print(main(out_dir=a.out, quick=a.quick, seeds=a.seeds, claims_only=a.claims_only, experiments=chosen).read_text())
