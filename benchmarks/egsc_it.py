"""EGSC-IT (Ma et al., ICLR 2019, arXiv:1805.11145): the full model, its ablations and baselines, on two data sets.

Rows (one ``egsc_it`` task each, the same data, seed, steps and losses; only the listed task_args change):

* EGSC-IT with the signed AdaIN (``adain: signed``: the textbook form with each channel's skewness sign matched, the
  digits configs' default since ``benchmarks/egsc_it_pairs.py`` showed the textbook form drawing the strokes in the
  wrong colour for half of the colour pairs; docs/egsc_it.md), with the textbook AdaIN (/ std) and with the
  authors' (``adain: code``: / variance, + variance);
* no feature mask (``use_mask: false``); no perceptual loss (style and content weights 0), both signed;
* no exemplar, UNIT-like (``adain: no_exemplar``, no masks: the style comes from the domain only);
* MUNIT-style (``adain: munit``, no masks: a trained style code from the exemplar through an MLP).

Data sets: the world's digit pairs (``configs/egsc_it/world_pairs_stage*.yaml``) and the digits pair of real
MNIST digits (``configs/egsc_it/digits_stage*.yaml``). Stage 1 (the feature-mask auto-encoders) trains once per data
set; every row's stage 2 loads it (rows without masks and statistics ignore it). Columns: the ``egsc_it_translation``
protocol (SSIM, PSNR against the ground truth, semantic consistency, style distance, diversity), translations per
second at 64x64 (batch 16, 2 threads, after training), and training seconds. Below it, per data set, a table by
the exemplar's colour pair for the full model and its strongest baseline (the baseline row with the highest semantic
consistency in this run): items, semantic consistency, the judge on the ground truths (the pair's ceiling) and SSIM
of each pair (the protocol's ``by_pair`` rows, ``eval/protocols/egsc_it_groups.py``), and a table by content digit
for the full model; every row of the JSON keeps its ``by_pair`` and ``by_digit`` scores. Grid pictures of each data
set (rows: content images, columns: exemplars, the full model) go to
``benchmarks/results/egsc_it[_quick]_<data>_grid.png``.
Finished rows are kept in ``runs/bench/egsc_it[_quick]/<data>/<row>/result.json`` so a killed run resumes.
The two data sets train at once, one worker process each on one torch thread (``--only DATA`` runs one); the parent
then measures every row's translation speed on 2 threads with nothing else running, and draws the grids.
Run: ``semspace bench egsc_it`` (``--quick``: a smoke run with tiny networks, a few steps and ``random_cnn`` in
place of EfficientNet-Lite0; its numbers mean nothing). ``python benchmarks/egsc_it.py --rescore`` scores every kept
row's trained model again with the current protocol (after a change to the scores, not to training), keeping its
training seconds; a row with no kept model trains as usual (so, from kept runs, the per-pair tables cost a rescore,
about 2 minutes on 2 cores). ``--seed S`` trains every row at training seed ``S``
(the data, the judge and the exemplar draws stay those of seed 0) into ``egsc_it_seed<S>.*``.

Claims over seeds (issue 23 item 3): ``--seeds N`` runs seeds 0..N-1 (each as ``--seed S``, every row, kept rows
reused) and adds to ``egsc_it.{md,json}`` a claims table (``claims_over_seeds``): per data set, the full model above
every ablation and baseline on semantic consistency and above every baseline on SSIM, and the digits' consistency
>= 0.9, each read against two standard errors of the seeds (``eval.seeds.claim_row``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from semspace.config import load_run_cfg, to_dict
from semspace.data import create_dataset
from semspace.engine.run import train
from semspace.eval.figures import translation_grid
from semspace.eval.protocols.egsc_it_groups import parse_group_rows
from semspace.eval.report import markdown_table, write_benchmark
from semspace.eval.seeds import attach_claims, claim_row, claims_section
from semspace.retrieval.evaluation import evaluate
from semspace.tasks import load_task
from semspace.utils.io import atomic_write_text

FULL = "EGSC-IT (signed AdaIN)"  # the digits configs' default form (docs/egsc_it.md, "Why colour pairs failed")
ROWS: dict[str, dict[str, Any]] = {  # row -> task_args overrides of the stage-2 config
    FULL: {"adain": "signed"},
    "EGSC-IT (textbook AdaIN)": {"adain": "textbook"},
    "EGSC-IT (code AdaIN)": {"adain": "code"},
    "no feature mask": {"adain": "signed", "use_mask": False},
    "no perceptual loss": {"adain": "signed", "weights": {"style": 0.0, "content": 0.0}},
    "no exemplar (UNIT-like)": {"adain": "no_exemplar", "use_mask": False},
    "MUNIT-style": {"adain": "munit", "use_mask": False},
}
# the issue: "above every ablation"
ABLATIONS = ("EGSC-IT (textbook AdaIN)", "EGSC-IT (code AdaIN)", "no feature mask", "no perceptual loss")
BASELINES = ("no exemplar (UNIT-like)", "MUNIT-style")
DATA = {  # data set -> (stage-1 config, stage-2 config)
    "world_pairs": ("configs/egsc_it/world_pairs_stage1.yaml", "configs/egsc_it/world_pairs_stage2.yaml"),
    "digits": ("configs/egsc_it/digits_stage1.yaml", "configs/egsc_it/digits_stage2.yaml"),
}
METRICS = ("ssim", "psnr", "semantic_consistency", "style_distance", "diversity")
GROUPS = ("by_pair", "by_digit")  # the protocol's per-group rows, kept in each row of the JSON
ARCH_QUICK = ["task_args.channels=4", "task_args.n_res=1", "task_args.disc_channels=4", "task_args.disc_layers=2"]
QUICK = {
    "stage1": [*ARCH_QUICK, "data.train.args.n=64", "train.max_steps=4", "train.log_every=2", "train.ckpt_every=0"],
    "stage2": [
        *ARCH_QUICK, "task_args.perceptual=random_cnn", "data.train.args.n=64", "train.max_steps=6",
        "train.log_every=2", "train.ckpt_every=0", "eval.data.args.n=32", "eval.classifier_data.args.n=100",
        "eval.classifier_steps=20", "eval.n_diversity=8",
    ],
}  # fmt: skip


def _set(key: str, value: Any) -> str:
    return f"{key}={json.dumps(value)}"  # JSON is YAML: a dict stays a dict, a bool a bool


def translations_per_second(task: Any, *, size: int = 64, batch: int = 16, reps: int = 3) -> float:
    """Translations per second of ``task`` at ``size`` x ``size`` (the networks are fully convolutional)."""
    task.eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    ex = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    with torch.no_grad():
        task.translate(x, ex)  # warm-up
        t0 = time.perf_counter()
        for _ in range(reps):
            task.translate(x, ex)
    return batch * reps / (time.perf_counter() - t0)


def grid_picture(task: Any, data_cfg: dict[str, Any], path: Path, n: int = 5) -> Path:
    """Rows: ``n`` content images (A) of different classes, columns: ``n`` exemplars (B), cells: translations."""
    from semspace.data.transforms import attach_transform, to_pil

    ds = create_dataset(data_cfg["name"], **{**data_cfg.get("args", {}), "n": 10 * n})
    pre = task.domains()[task.cfg.domain_a].preprocess
    attach_transform(ds, pre)
    firsts: dict[int, int] = {}
    for i in range(len(ds)):
        firsts.setdefault(int(ds[i]["label"]), i)
    rows = sorted(firsts.values())[:n]
    c_in = torch.stack([ds[i]["image"] for i in rows])  # (n, 3, s, s) model input
    e_in = torch.stack([ds[len(ds) - 1 - j]["exemplar"] for j in range(n)])  # (n, 3, s, s)
    task.eval()
    with torch.no_grad():
        cells = [task.translate(c_in[i : i + 1].expand(n, -1, -1, -1), e_in) for i in range(n)]
    sheet = translation_grid([to_pil(x, pre) for x in c_in], [to_pil(x, pre) for x in e_in],
                             [[to_pil(x, pre) for x in row] for row in cells])  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.resize((sheet.width * 3, sheet.height * 3), Image.Resampling.NEAREST).save(path)
    return path


def run_data(name: str, quick: bool, run_root: Path, rescore: bool = False,
             seed: int = 0) -> tuple[list[dict[str, Any]], dict]:  # fmt: skip
    """Trains and scores every row of data set ``name`` (stage 1 once) at training seed ``seed``, keeping each
    finished row; ``rescore`` scores the kept rows' models again with the current protocol."""
    s1_path, s2_path = DATA[name]
    root = run_root / name
    s1 = root / "stage1"
    t0 = time.time()
    if not (s1 / "model.pt").is_file():
        train(load_run_cfg(s1_path, [*(QUICK["stage1"] if quick else []), f"train.seed={seed}"]), s1, evaluate=False)
    stage1_seconds = round(time.time() - t0, 1)
    init = _set("init", [{"checkpoint": str(s1 / "model.pt"), "module": "mask_ae"}])
    rows: list[dict[str, Any]] = []
    cfg_out: dict[str, Any] = {"stage1": s1_path, "stage2": s2_path, "stage1_seconds": stage1_seconds}
    for label, over in ROWS.items():
        run_dir = root / label.lower().replace(" ", "_").replace("(", "").replace(")", "").replace("-", "_")
        done = run_dir / "result.json"
        if done.is_file():
            row = json.loads(done.read_text())
            if rescore:
                metrics = evaluate(run_dir)
                row.update({k: metrics.get(k) for k in (*METRICS, "classifier_acc_real")})
                row.update({g: parse_group_rows(metrics, g) for g in GROUPS})
                atomic_write_text(done, json.dumps(row, indent=2) + "\n")
            rows.append(row)
            print(f"{name} / {label}: {'rescored' if rescore else 'kept'} from {done}", flush=True)
            continue
        overrides = [*(QUICK["stage2"] if quick else []), init, f"train.seed={seed}",
                     *[_set(f"task_args.{k}", v) for k, v in over.items()]]  # fmt: skip
        cfg = load_run_cfg(s2_path, overrides)
        cfg_out.setdefault("stage2_resolved", to_dict(cfg))
        t0 = time.time()
        metrics = train(cfg, run_dir, evaluate=True, progress=sys.stderr.isatty())
        seconds = round(time.time() - t0, 1)
        row = {"data": name, "method": label, **{k: metrics.get(k) for k in METRICS},
               "classifier_acc_real": metrics.get("classifier_acc_real"), "train_seconds": seconds,
               "run_dir": str(run_dir), **{g: parse_group_rows(metrics, g) for g in GROUPS}}  # fmt: skip
        atomic_write_text(done, json.dumps(row, indent=2) + "\n")
        rows.append(row)
        print(f"{name} / {label}: " + ", ".join(f"{k} {row[k]:.3f}" for k in METRICS if row[k] is not None), flush=True)
    return rows, cfg_out


def run_tag(quick: bool, seed: int) -> str:
    """The name of a run's results and its kept rows: ``egsc_it``, ``egsc_it_seed1``, ``egsc_it_quick``, ..."""
    return "egsc_it" + (f"_seed{seed}" if seed else "") + ("_quick" if quick else "")


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False, rescore: bool = False, seed: int = 0,
         seeds: int = 1) -> Path:  # fmt: skip
    """Seed ``seed``'s table (``run_seed``); with ``seeds`` > 1, seeds 0..seeds-1 and the claims over them."""
    if seeds == 1:
        return run_seed(out_dir, quick, rescore, seed)
    for s in range(seeds):
        run_seed(out_dir, quick, rescore, s)
    return add_claims(out_dir, seeds, quick)


def run_seed(out_dir: str | Path, quick: bool, rescore: bool, seed: int) -> Path:
    """Every row of both data sets at training seed ``seed`` (two workers), then speeds, grids and the table."""
    t_all = time.time()
    tag = run_tag(quick, seed)
    run_root, out = Path("runs/bench") / tag, Path(out_dir)
    flags = [*(["--quick"] if quick else []), *(["--rescore"] if rescore else []), "--seed", str(seed)]
    workers = [subprocess.Popen([sys.executable, __file__, "--only", name, *flags]) for name in DATA]
    failed = [name for name, w in zip(DATA, workers, strict=True) if w.wait() != 0]
    if failed:
        raise SystemExit(f"egsc_it benchmark: the worker of {failed} failed (its output is above); rerun to resume")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    rows: list[dict[str, Any]] = []
    configs: dict[str, Any] = {}
    for name in DATA:
        data_rows, configs[name] = run_data(name, quick, run_root, seed=seed)  # every row is kept: this collects them
        for row in data_rows:
            task, _ = load_task(Path(row["run_dir"]) / "model.pt")
            row["translations_per_s_64"] = round(translations_per_second(task), 1)
            if row["method"] == FULL:
                eval_data = to_dict(load_run_cfg(DATA[name][1]))["eval"]["data"]
                row["grid"] = str(grid_picture(task, eval_data, out / f"{tag}_{name}_grid.png"))
        rows += data_rows
    columns = ["data", "method", *METRICS, "translations_per_s_64", "train_seconds"]
    _, md = write_benchmark(
        tag,
        rows=rows,
        columns=columns,
        seed=seed,
        config={"rows": ROWS, "data": configs, "quick": quick},
        seconds=time.time() - t_all,
        title="EGSC-IT: exemplar-guided translation, full model vs ablations and baselines"
        + (" (SMOKE RUN: tiny networks, a few steps; the numbers mean nothing)" if quick else ""),
        notes=_notes(rows, time.time() - t_all, quick, rescore) + "\n\n" + group_tables(rows),
        out_dir=out,
    )
    return md


def claims_over_seeds(per_seed: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The claims (module docstring) over the seeds' rows (``per_seed[s]``: seed s's rows, every data set)."""

    def values(data: str, method: str, metric: str) -> list[float]:
        return [float(next(r[metric] for r in rows if r["data"] == data and r["method"] == method))
                for rows in per_seed]  # fmt: skip

    claims = []
    for data in DATA:
        full = {m: values(data, FULL, m) for m in ("semantic_consistency", "ssim")}
        for other in (*ABLATIONS, *BASELINES):
            claims.append(claim_row(f"{data}: full > {other}, consistency", full["semantic_consistency"],
                                    values(data, other, "semantic_consistency")))  # fmt: skip
        for other in BASELINES:
            claims.append(claim_row(f"{data}: full > {other}, SSIM", full["ssim"], values(data, other, "ssim")))
        if data == "digits":
            n = len(per_seed)
            claims.append(claim_row("digits: full consistency >= 0.9", full["semantic_consistency"], [0.9] * n))
    return claims


def add_claims(out_dir: str | Path, seeds: int, quick: bool = False) -> Path:
    """Reads ``egsc_it[_seed<S>].json`` for seeds 0..seeds-1 from ``out_dir`` and appends the claims section to
    ``egsc_it[_quick].md`` (and the table to its JSON)."""
    out = Path(out_dir)
    per_seed = [json.loads((out / f"{run_tag(quick, s)}.json").read_text())["rows"] for s in range(seeds)]
    claims = claims_over_seeds(per_seed)
    lead = (
        f"Every row trained at seeds 0..{seeds - 1} (`--seed S`: only `train.seed` changes; the data, the judge "
        f"and the exemplars stay seed 0's; each seed's table in `egsc_it_seed<S>.md`)."
    )
    md = out / f"{run_tag(quick, 0)}.md"
    text = md.read_text().split("\n## Claims over")[0].rstrip("\n")
    atomic_write_text(md, text + "\n\n" + claims_section(claims, seeds, lead) + "\n")
    attach_claims(md.with_suffix(".json"), claims, claim_seeds=seeds)
    return md


def strongest_baseline(rows: list[dict[str, Any]], data: str) -> dict[str, Any] | None:
    """The baseline row of ``data`` with the highest semantic consistency (None when no baseline has one)."""
    scored = [r for r in rows if r["data"] == data and r["method"] in BASELINES
              and r.get("semantic_consistency") is not None]  # fmt: skip
    return max(scored, key=lambda r: r["semantic_consistency"]) if scored else None


def _cell(row: dict[str, Any] | None, group: str, g: str, score: str) -> Any:
    value = ((row or {}).get(group) or {}).get(g, {}).get(score)
    return "-" if value is None else value


def group_tables(rows: list[dict[str, Any]]) -> str:
    """Markdown: per data set, the full model and its strongest baseline by exemplar colour pair, and the full
    model by content digit (from each row's ``by_pair`` / ``by_digit``; a data set whose rows have none: a line
    that says so, e.g. rows kept from before the protocol had them: rerun with ``--rescore``)."""
    out: list[str] = []
    for data in DATA:
        full = next((r for r in rows if r["data"] == data and r["method"] == FULL), None)
        if full is None:
            continue
        base = strongest_baseline(rows, data)
        name = base["method"] if base else "no baseline"
        pairs = sorted((full.get("by_pair") or {}).keys())
        out.append(f"**{data}, by the exemplar's colour pair** (fg_on_bg): {FULL} and the strongest baseline "
                   f"by semantic consistency, {name}; the judge on ground truth is the pair's ceiling.")  # fmt: skip
        if not pairs:
            out += ["", "(no per-pair scores in these rows: `python benchmarks/egsc_it.py --rescore` adds them)", ""]
            continue
        cols = ["colour pair", "items", "consistency (full)", "SSIM (full)", f"consistency ({name})",
                f"SSIM ({name})", "judge on ground truth"]  # fmt: skip
        scores = ((full, "semantic_consistency"), (full, "ssim"), (base, "semantic_consistency"), (base, "ssim"),
                  (full, "classifier_acc_real"))  # fmt: skip
        table = [{"colour pair": p.replace("_", " "), "items": int(full["by_pair"][p]["items"]),
                  **{col: _cell(row, "by_pair", p, score) for col, (row, score) in zip(cols[2:], scores, strict=True)}}
                 for p in pairs]  # fmt: skip
        out += ["", markdown_table(table, cols), ""]
        digits = sorted((full.get("by_digit") or {}).keys(), key=int)
        if digits:
            dcols = ["digit", "items", "consistency (full)", "SSIM (full)", "judge on ground truth"]
            dtable = [{"digit": d, "items": int(full["by_digit"][d]["items"]),
                       dcols[2]: _cell(full, "by_digit", d, "semantic_consistency"),
                       dcols[3]: _cell(full, "by_digit", d, "ssim"),
                       dcols[4]: _cell(full, "by_digit", d, "classifier_acc_real")} for d in digits]  # fmt: skip
            out += [f"**{data}, {FULL} by content digit.**", "", markdown_table(dtable, dcols), ""]
    return "\n".join(out).strip()


def _notes(rows: list[dict[str, Any]], seconds: float, quick: bool, rescore: bool = False) -> str:
    """The issue's targets, checked against this run's numbers."""
    lines = []
    if quick:
        lines += ["**Smoke run** (`--quick`): 4 + 6 steps, 4 channels, random_cnn features; not the benchmark.", ""]
    lines += [
        "Columns: SSIM / PSNR against the ground-truth translation (scikit-image); semantic consistency = accuracy of "
        "a CNN trained on real domain-B images, on the translations; style distance = mean |difference| of per-channel "
        "mean and std between translation and exemplar (lower is closer); diversity = mean L1 between translations of "
        "one content under 4 exemplars; translations/s at 64x64, batch 16, 2 threads; train seconds of stage 2 "
        "on one thread, the two data sets training at once (stage 1 is shared and listed in the JSON).",
        "",
        "Targets:",
    ]
    for data in DATA:
        by = {r["method"]: r for r in rows if r["data"] == data}
        if FULL not in by:
            continue
        full = by[FULL]
        for metric in ("ssim", "semantic_consistency"):
            for kind, names in (("ablation", ABLATIONS), ("baseline", BASELINES)):
                beaten = [m for m in names if m in by and (by[m][metric] or 0) >= (full[metric] or 0)]
                lines.append(f"- {data}: full model above every {kind} on {metric}: "
                             + ("met" if not beaten else f"MISSED (not above {', '.join(beaten)})"))  # fmt: skip
        if data == "digits":
            sc = full["semantic_consistency"] or 0.0
            lines.append(f"- digits: semantic consistency >= 0.9: {sc:.3f} ({'met' if sc >= 0.9 else 'MISSED'})")
        train_min = sum(r["train_seconds"] for r in by.values()) / 60
        lines.append(f"- {data}: stage-2 training of all rows {train_min:.1f} min (target: 30 min per data set)")
    lines.append(f"- wall time {seconds / 60:.1f} min" + (" (rescoring the kept models; training is in the "
                 "train seconds column)" if rescore else ""))  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny networks, a few steps")
    parser.add_argument("--rescore", action="store_true", help="score the kept rows' models again")
    parser.add_argument("--seed", type=int, default=0, help="training seed (results: egsc_it_seed<S>.*)")
    parser.add_argument("--only", choices=list(DATA), help="a worker: one data set on one thread")
    parser.add_argument("--seeds", type=int, default=1, help="run seeds 0..N-1, then the claims over them")
    args = parser.parse_args()
    if args.only:
        torch.set_num_threads(1)
        run_data(args.only, args.quick, Path("runs/bench") / run_tag(args.quick, args.seed), args.rescore, args.seed)
    else:
        print(main(quick=args.quick, rescore=args.rescore, seed=args.seed, seeds=args.seeds).read_text())
