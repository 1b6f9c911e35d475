"""The demo's SSGN section: zero-shot sketch-based image retrieval (Wang et al. 2019) on the world's objects, the
unseen classes' table, an index of their photos and a grid of sketch queries."""

from __future__ import annotations

import torch

from semspace.config import DataSpec, to_dict
from semspace.demo.common import shipped_run_cfg, stack
from semspace.demo.sections import SectionResult, SectionRun, demo_section
from semspace.engine.run import build_evaluator, build_task_and_data
from semspace.engine.trainer import Trainer
from semspace.eval.figures import save_figure
from semspace.eval.report import markdown_table
from semspace.retrieval import Searcher, build_index
from semspace.utils.seed import seed_everything

SSGN_CONFIG = "configs/ssgn/world.yaml"


@demo_section("ssgn", order=30, blurb="SSGN (sketches of unseen classes -> photos)", configs=(SSGN_CONFIG,))
def ssgn_section(run: SectionRun) -> SectionResult:
    """The SSGN part of the demo: a shortened ``configs/ssgn/world.yaml`` run (64 px, a few sketches per seen class),
    the zero-shot table on the 17 unseen classes, an index of their photos and a grid of sketch queries with their top
    photos (``semspace search --index ssgn/index --sketch ...``). Returns its metrics and Markdown."""
    from PIL import Image

    from semspace.data import create_dataset

    out, quick, progress = run.out, run.quick, run.progress
    # at most 90 s on 2 cores: the frozen EfficientNet-Lite0 sees every image once at 64 px, the steps are small MLPs
    per_seen, per_query, per_photo, steps = (3, 4, 8, 100) if quick else (6, 6, 12, 200)
    over = [f"train.max_steps={steps}", "train.log_every=100", "train.ckpt_every=100000",
            "task_args.backbone_args.preprocess.size=64", "eval.generalized_photos=null",
            f"data.train.args.sketches.args.n={51 * per_seen}", f"data.train.args.photos.args.n={51 * per_seen}",
            f"eval.sketches.args.n={17 * per_query}", f"eval.photos.args.n={17 * per_photo}"]  # fmt: skip
    over += [f"{k}.args.size=64" for k in ("data.train.args.sketches", "data.train.args.photos", "eval.sketches",
                                            "eval.photos")]  # fmt: skip
    cfg = shipped_run_cfg(SSGN_CONFIG, over)
    seed_everything(cfg.train.seed)
    task, train_set = build_task_and_data(cfg, progress=progress)
    run_dir = out / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small MLP steps: one thread is as fast, and not slowed by a busy CPU
    try:
        run_cfg = to_dict(cfg) | {"task_args": task.export_cfg()}
        Trainer(task, cfg.train, run_dir, dataset=train_set, run_cfg=run_cfg, progress=progress).fit(resume=False)
        m = build_evaluator(cfg)(task)
    finally:
        torch.set_num_threads(threads)
    p = "sketch_to_photo_"
    row = {"method": f"SSGN ({steps} steps)", **{k: m[p + k] for k in ("mAP@all", "P@100", "mAP@200", "P@200")}}
    table = markdown_table([row], ["method", "mAP@all", "P@100", "mAP@200", "P@200"])
    photos = cfg.eval["photos"]
    build_index(run_dir, DataSpec(photos["name"], dict(photos["args"])), out / "index", domain="photo",
                progress=progress)  # fmt: skip
    searcher = Searcher(out / "index")
    sketches = create_dataset(cfg.eval["sketches"]["name"], **cfg.eval["sketches"]["args"])
    grids = []
    for i in range(4):  # one sketch of each of the first four unseen classes (items cycle through the classes)
        arr = sketches.world.render_item(i, sketches.split, ("sketch",))["sketch"]
        path = out / "queries" / f"sketch_{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(path)
        name = sketches.world.category(i, sketches.split)
        result = searcher.search_sketch(path, k=6)
        relevant: list[bool | None] = [h.label == name for h in result.hits]
        grids.append(searcher.result_grid(result, Image.open(path), caption=f"sketch of a {name}", relevant=relevant))
    save_figure(stack(grids), out / "ssgn_sketch_to_photo.png")
    md = "\n".join([
        "## Zero-shot sketch-based image retrieval (SSGN): sketches of classes never seen in training", "",
        f"Trained on {per_seen} sketches of each of the 51 seen classes (each paired with a photo of its class) over "
        f"frozen ImageNet EfficientNet-Lite0 taps at 64 px, {steps} steps (`configs/ssgn/world.yaml`, shortened; the "
        "full table with the baselines and ablations is `benchmarks/results/ssgn.md`). Zero-shot metrics on the 17 "
        f"unseen classes ({17 * per_query} sketch queries, {17 * per_photo} gallery photos, cosine on unit vectors):",
        "", table, "",
        "An index of the unseen classes' photos answers sketch queries (`semspace search --index ssgn/index --sketch "
        "ssgn/queries/sketch_0.png -k 6`):", "", "![SSGN sketch to photo](ssgn/ssgn_sketch_to_photo.png)", "",
    ])  # fmt: skip
    return SectionResult(m, md)
