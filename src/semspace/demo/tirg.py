"""The demo's main section: transferred transformations (LTT, Vo, Jiang, Hays 2019, arXiv:1903.00793) on TIRG
(arXiv:1812.07119), an index and searches.

A composer that applies a text modification ("make the large red cube blue") to an image embedding is trained on
**2D blob** scene triplets only, while the 2D and 3D encoders are aligned on paired, unmodified views; it is then
applied to **3D render** queries it never saw modified. The section

1. trains that model (``configs/transfer/world_2d_to_3d.yaml``, shortened) with the one engine;
2. scores it under TIRG's protocol (Recall@K, query image removed, hit = the target scene) against the same
   encoders searching without the modification (image only) and against the untrained model;
3. builds a FAISS + SQLite index of the 3D test gallery and runs three example searches with modifications.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from semspace.capabilities import require
from semspace.config import DataSpec, RunCfg, to_dict
from semspace.data.transforms import denormalize
from semspace.demo.common import shipped_run_cfg
from semspace.demo.sections import SectionResult, SectionRun, demo_section
from semspace.engine.run import build_evaluator, build_task_and_data
from semspace.engine.trainer import Trainer
from semspace.eval.figures import retrieval_grid, save_figure
from semspace.eval.protocols.composed import ComposedExperiment
from semspace.eval.report import markdown_table
from semspace.retrieval import Searcher, build_index
from semspace.tasks import Task
from semspace.types import IMAGE, KEY, MOD_TEXT, TARGET_KEY
from semspace.utils.seed import seed_everything

CONFIG = "configs/transfer/world_2d_to_3d.yaml"
BLURB = (
    "trains a TIRG composer on 2D-blob scene modifications only and applies it to 3D renders it never saw modified "
    "(LTT), scores it against baselines, builds a search index and runs three example searches"
)
EXAMPLES = (0, 1, 2)  # test queries shown as example searches


def demo_run_cfg(quick: bool, seed: int = 0) -> RunCfg:
    """The transfer run of the demo: the 2D -> 3D config, shortened (tiny models with ``quick``); ``seed`` is the
    training seed (model initialisation and batch order; the world's scenes stay the same).

    The quick budget (2,000 training scenes, 600 steps, 64-d) was chosen among five on the world's *val* split at
    seed 0, 3D->3D R@1 of TIRG / image-only: 1,000 scenes x 300 steps (the old budget) 0.175 / 0.110; x 600 steps
    0.200 / 0.130; 2,000 x 600 0.335 / 0.175; 2,000 x 600 at 128-d 0.260 / 0.165; 2,000 x 900 0.325 / 0.190. The
    demo reports the *test* split, which played no part in the choice.
    """
    overrides = ["data.train.args.n=4000", "train.max_steps=1000", "train.batch_size=32", "eval.data.args.n=500"]
    if quick:  # chosen on the world's val split (see the docstring); the report shows the test split
        overrides = [
            "task_args.source_encoder=tiny_cnn", "task_args.target_encoder=tiny_cnn",
            "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=64", "data.train.args.n=2000",
            "data.train.args.size=32", "train.max_steps=600", "train.batch_size=32", "eval.data.args.n=200",
            "eval.data.args.size=32",
        ]  # fmt: skip
    bookkeeping = ["train.log_every=50", "train.ckpt_every=250", f"train.seed={seed}"]
    return shipped_run_cfg(CONFIG, overrides + bookkeeping)


@demo_section("tirg", order=10, blurb=BLURB, configs=(CONFIG,), main=True)
def tirg_section(run: SectionRun) -> SectionResult:
    """Trains the transfer run into ``out/run``, scores it and its baselines, indexes the 3D test gallery into
    ``out/index`` and runs the example searches; its metrics are the three rows' Recall@K, the index's size and
    time and the searches."""
    out, progress = run.out, run.progress
    cfg = demo_run_cfg(run.quick, run.seed)
    seed_everything(cfg.train.seed)
    task, train_set = build_task_and_data(cfg, progress=progress)  # the config caches the rendered views
    protocol = build_evaluator(cfg)
    untrained = protocol(task)
    run_dir = out / "run"
    run_cfg = to_dict(cfg) | {"task_args": task.export_cfg()}
    Trainer(task, cfg.train, run_dir, dataset=train_set, run_cfg=run_cfg, progress=progress).fit(resume=False)
    trained = protocol(task)
    image_only = protocol(_ImageOnly(task))
    rows = [
        _row("untrained model", untrained),
        _row("image only (trained encoders, modification ignored)", image_only),
        _row(f"TIRG composer trained on 2D only ({cfg.train.max_steps} steps)", trained),
    ]
    columns = ["method", "3D->3D R@1", "3D->3D R@5", "3D->3D R@10", "2D->3D R@1", "2D->3D R@5", "2D->3D R@10"]
    table = markdown_table(rows, columns)

    exp = protocol.resolve(task)[0]  # 3D queries, 3D gallery
    save_figure(_result_grid(task, protocol, exp), out / "results_3d.png")
    n_test = cfg.eval["data"]["args"]["n"]
    gallery_spec = DataSpec(cfg.eval["data"]["name"], dict(cfg.eval["data"]["args"]))  # the evaluated 3D gallery
    stats = build_index(run_dir, gallery_spec, out / "index", progress=progress)
    examples = _example_searches(out, protocol, exp, task)
    metrics = {"untrained": untrained, "image_only": image_only, "tirg_transferred": trained,
               "index": {k: stats[k] for k in ("total", "seconds")}, "examples": examples}  # fmt: skip
    return SectionResult(metrics, _markdown(table, rows, examples, stats["total"], n_test), table)


class _ImageOnly:
    """The trained task searching with the query image alone (every modification ignored): TIRG's image-only
    baseline evaluated on the very encoders the composer uses."""

    def __init__(self, task: Task) -> None:
        self.task, self.cfg, self.training = task, task.cfg, task.training

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    def compose(self, z: torch.Tensor, texts: list[str]) -> torch.Tensor:
        return require(self.task, "compose").compose(z, [""] * len(texts))


def _row(label: str, m: dict[str, float]) -> dict[str, Any]:
    row: dict[str, Any] = {"method": label}
    for name, col in (("3d_to_3d", "3D->3D"), ("2d_to_3d", "2D->3D")):
        for k in (1, 5, 10):
            row[f"{col} R@{k}"] = m[f"{name}_R@{k}"]
    return row


def _result_grid(task: Task, protocol: Any, exp: ComposedExperiment, n: int = 6, k: int = 5) -> Any:
    """Top-k 3D renders of the first 3D queries composed with their modification (green: the target scene)."""
    scores, idx, queries, gallery = protocol.top_k(task, exp, k=k)
    q_pre, g_pre = task.domain(exp.query_domain).preprocess, task.domain(exp.gallery_domain).preprocess

    def show(x: torch.Tensor, preprocess: Any) -> torch.Tensor:
        return denormalize(x, preprocess) if preprocess is not None else x

    rows = [queries[q] for q in range(n)]
    results = [[show(gallery[int(j)][IMAGE], g_pre) for j in idx[q]] for q in range(n)]
    hits = [[gallery[int(j)][KEY] == rows[q][TARGET_KEY] for j in idx[q]] for q in range(n)]
    captions = [rows[q][MOD_TEXT] for q in range(n)]
    return retrieval_grid([show(r[IMAGE], q_pre) for r in rows], results, hits, scores=scores[:n].tolist(),
                          captions=captions)  # fmt: skip


def _example_searches(out: Path, protocol: Any, exp: ComposedExperiment, task: Task) -> list[dict[str, Any]]:
    """Three searches through the index, as a user would run them: an image file plus a modification."""
    from semspace.data.transforms import to_pil

    searcher = Searcher(out / "index")
    queries, _ = protocol.datasets(exp, task)
    preprocess = task.domain(exp.query_domain).preprocess
    examples = []
    for q in EXAMPLES:
        item = queries[q]
        path = out / "queries" / f"query_{q}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        query = to_pil(item[IMAGE], preprocess)
        query.save(path)
        result = searcher.search_image(path, modify=item[MOD_TEXT], k=5, query_domain=exp.query_domain)
        hits = [h.label == item[TARGET_KEY] for h in result.hits]
        picture = out / f"search_{q}.png"
        save_figure(searcher.result_grid(result, query, caption=item[MOD_TEXT], relevant=list(hits)), picture)
        examples.append({"query": str(path.relative_to(out)), "modify": item[MOD_TEXT], "picture": picture.name,
                         "hits": [{"id": h.id, "score": round(h.score, 4), "uri": h.uri, "target": hit}
                                  for h, hit in zip(result.hits, hits, strict=True)]})  # fmt: skip
    return examples


def _margin(rows: list[dict[str, Any]]) -> str:
    """One sentence: how far the composer is ahead of (or behind) the image-only baseline at R@1."""
    base, tirg = rows[1], rows[2]
    parts = [f"{name} {tirg[col] - base[col]:+.3f} ({tirg[col]:.3f} against {base[col]:.3f})"
             for name, col in (("3D->3D", "3D->3D R@1"), ("2D->3D", "2D->3D R@1"))]  # fmt: skip
    return ("Margin of the 2D-trained composer over image-only search with the same encoders, R@1: "
            + "; ".join(parts) + ". A margin near 0 would mean the modification text is not being used.")  # fmt: skip


def _markdown(table: str, rows: list[dict[str, Any]], examples: list[dict[str, Any]], total: int, n: int) -> str:
    lines = [
        "## Transferred transformations: 2D-trained composer, 3D queries",
        "",
        f"Recall@K under TIRG's protocol on {n} unseen test queries (4 modifications per source scene) and their "
        f"{total}-image 3D gallery: the query image is removed from its own ranking and a hit is a "
        "render of the exact target scene. 3D->3D: 3D query "
        "composed with the modification, 3D gallery; 2D->3D: 2D query, 3D gallery. The composer never saw a 3D "
        "modification; the benchmark (`make bench`, `benchmarks/results/transfer.md`) adds the in-domain upper "
        "bound, the concat and text-only baselines and the text -> image transfer.",
        "",
        table,
        "",
        _margin(rows),
        "",
        "The first six 3D queries with their modification and top-5 results (green: the target scene):",
        "",
        "![3D results](results_3d.png)",
        "",
        f"## Search through the index ({total} 3D renders, FAISS + SQLite in `index/`)",
        "",
        "Each query image is a render in the index; as in TIRG's protocol it is left out of its own results "
        "(`semspace search` says so in a note; `--keep-query` keeps it).",
        "",
    ]
    for ex in examples:
        found = next((i + 1 for i, h in enumerate(ex["hits"]) if h["target"]), None)
        lines += [
            f'`semspace search --index index --image {ex["query"]} --modify "{ex["modify"]}" -k 5`: '
            + (f"target found at rank {found}." if found else "target not in the top 5."),
            "",
            f"![search {ex['query']}]({ex['picture']})",
            "",
        ]
    return "\n".join(lines)
