"""The demo's CHTN section: cross-modal hybrid transfer (Huang, Peng, Yuan, IJCAI 2017) on the world's few
photo-caption pairs plus labelled source photos, its MAP table, a two-domain index and text -> image searches."""

from __future__ import annotations

from semspace.config import DataSpec, to_dict
from semspace.demo.common import shipped_run_cfg, stack
from semspace.demo.sections import SectionResult, SectionRun, demo_section
from semspace.engine.run import build_evaluator
from semspace.engine.trainer import Trainer
from semspace.eval.figures import save_figure
from semspace.eval.report import markdown_table
from semspace.retrieval import Searcher, build_index
from semspace.tasks.chtn import SOURCE_ONLY_WEIGHTS, warm_start_init
from semspace.utils.seed import seed_everything

CHTN_CONFIG = "configs/chtn/world.yaml"
CHTN_ROW = "CHTN (warm-started on the source)"
CHTN_QUERIES = ("a red chair with four legs", "a blue mug with a handle", "a green truck with wheels")


@demo_section("chtn", order=20, blurb="CHTN (text <-> image with a labelled source)", configs=(CHTN_CONFIG,))
def chtn_section(run: SectionRun) -> SectionResult:
    """The CHTN part of the demo: a shortened ``configs/chtn/world.yaml`` run (few photo-caption pairs plus the
    labelled source photos) warm-started from a source-only run (``tasks.chtn.warm_start_init``), CHTN's MAP table
    against the same model trained without the source, one index holding the test photos and captions, and a
    picture of text -> image searches. Its metrics are the MAP table's rows."""
    from semspace.engine.run import build_task_and_datasets

    out, quick, progress = run.out, run.quick, run.progress
    # the section adds at most 90 s to the demo: most of it is the frozen features (train, source and test photos,
    # and the test photos again for the index), then the two short runs
    steps, test_per_class = (30 if quick else 60), 10
    over = [
        f"train.max_steps={steps}",
        "train.log_every=50",
        "train.ckpt_every=1000",
        f"eval.data.args.data.args.pairs_per_class={test_per_class}",
        "data.extra.source.args.data.args.n_per_class=" + ("3" if quick else "5"),
        "train.threads=1",  # steps of a few 512-wide layers: one thread is as fast, and not slowed by a busy CPU
    ]
    tables: dict[str, dict[str, float]] = {}
    source_only = [f"task_args.{k}={v}" for k, v in SOURCE_ONLY_WEIGHTS.items()]
    runs: tuple[tuple[str | None, str, list[str], bool], ...] = (  # label (None: not scored), folder, overrides, warm
        ("CHTN without source (no transfer)", "run_no_source", ["task_args.use_source=false"], False),
        (None, "run_source_only", source_only, False),
        (CHTN_ROW, "run", [], True),
    )
    for label, folder, extra, warm in runs:
        cfg = shipped_run_cfg(CHTN_CONFIG, over + extra)
        seed_everything(cfg.train.seed)
        task, train_set, streams = build_task_and_datasets(cfg, progress=progress)
        run_cfg = to_dict(cfg) | {"task_args": task.export_cfg()}
        uses_source = "use_source=false" not in " ".join(extra)
        sizes = {k: v.batch_size for k, v in cfg.data.extra.items()}
        init = warm_start_init(str(out / "run_source_only" / "model.pt")) if warm else []
        Trainer(task, cfg.train, out / folder, dataset=train_set, run_cfg=run_cfg, progress=progress,
                extra_datasets=streams if uses_source else {}, extra_batch_sizes=sizes if uses_source else {},
                init=init).fit(resume=False)  # fmt: skip
        if label is not None:
            tables[label] = build_evaluator(cfg)(task)
    rows = [{"method": k, "image->text MAP": m["image_to_text_mAP@all"], "text->image MAP": m["text_to_image_mAP@all"],
             "mean MAP": m["mean_mAP@all"]} for k, m in tables.items()]  # fmt: skip
    table = markdown_table(rows, ["method", "image->text MAP", "text->image MAP", "mean MAP"])
    spec = DataSpec("xmodal_pairs", {"split": "test", "pairs_per_class": test_per_class})
    for domain in ("photo", "text"):
        build_index(out / "run", spec, out / "index", domain=domain, progress=progress)
    searcher = Searcher(out / "index")
    grids = []
    for q in CHTN_QUERIES:
        result = searcher.search_text(q, k=8, in_domains=["photo"])
        grids.append(searcher.result_grid(result, caption=q))
    save_figure(stack(grids), out / "chtn_text_to_image.png")
    md = "\n".join([
        "## Cross-modal hybrid transfer (CHTN): text <-> image with a labelled single-modal source", "",
        f"8 photo-caption pairs per class (10 look-alike classes, each shot in one setting) plus labelled photos of 58 "
        f"other classes in another style, over frozen ImageNet EfficientNet-Lite0 features. CHTN trains {steps} steps "
        "on the labelled source alone, then "
        f"{steps} steps of the full objective starting from them, as the authors start from a network trained on the "
        "source (`configs/chtn/world.yaml`, shortened; the full table, with cold-started CHTN and the baselines, is "
        "`benchmarks/results/chtn.md`). "
        f"CHTN's MAP@all over {10 * test_per_class} test pairs:", "", table, "",
        "One index holds the test photos and their captions (`semspace index build ... --domain photo` and "
        "`--domain text`); text queries searching the photos (`semspace search --index chtn/index --text "
        f"\"{CHTN_QUERIES[0]}\" --domain photo`):", "", "![CHTN text to image](chtn/chtn_text_to_image.png)", "",
    ])  # fmt: skip
    return SectionResult(tables, md)
