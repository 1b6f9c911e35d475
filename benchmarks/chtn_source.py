"""What source CHTN needs to beat semantic matching on the world (issue 23, item 4).

CHTN (Huang, Peng, Yuan, IJCAI 2017) transfers a labelled single-modal source to a few image-text pairs through
the image pathway both share (MMD at fc6/fc7, Sec. 3.1) and, in our warm-started variant, through the source
classifier's layers copied into the target image branch (``tasks.chtn.warm_start_init``). This benchmark varies the
two properties of the source that decide whether that pays, on the world table's target and inputs
(``configs/chtn/world.yaml``: 8 biased photo-caption pairs per class of 10 look-alike classes, 50 test pairs per
class, frozen ImageNet EfficientNet-Lite0 features at 128 px, the bag of words of the captions):

* **how much** labelled data: ``SIZES`` source photos in all (0: no source, the no-transfer ablation);
* **how close to the target's classes**: 10 source classes, of which 10 (``same``: the target's own classes, shot
  in the source's catalogue style with random settings, without captions), 5 (``half``: one of each look-alike
  couple, ``TARGET_CLASSES[:5]`` = apple, car, chair, cup, house, plus 5 others) or 0 (``disjoint``) are target
  classes; the others are ``OTHER_CLASSES``, every sixth of the world's 58 non-target classes (not picked by hand).

Each cell's source is the first ``size / 10`` photos of each of its classes from two feature pools computed once
(``xmodal_source`` through ``frozen_features``, ``POOL_PER_CLASS`` photos of each target class and of each other
class, cached in ``runs/cache/frozen_features``), so a smaller source is a subset of a larger one and the ``half``
source shares its photos with ``same`` and ``disjoint`` (``MixedSource``). Rows of every cell: CHTN and CHTN
warm-started on the source (a source-only run of the same task, then CHTN from it), both with the world config's
solver and its fixed 500 steps (the paper's; no early stopping, to keep the grid in budget: the world table's
selection kept 500 steps for every CHTN variant with a source). Against them, on the same target pairs, inputs and
test pairs: semantic matching and CCA, each with its setting chosen on the validation split of the world table
(``benchmarks/chtn.py``'s ``shallow_baselines``; they do not read the source, so they are computed once).
Protocol: CHTN's MAP@all, image->text, text->image and their mean (``eval.protocols.cross_modal_map``).

Run: ``semspace bench chtn_source`` (``--quick``: a smoke run on tiny sizes; ``--seeds N``: training seeds
0..N-1, means and standard deviations, a claim "met" only beyond two standard errors, ``eval.seeds``). Finished
cells are kept in ``runs/chtn_source/<digest>/seed<s>/<cell>/result.json``, so a killed run resumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from semspace.config import load_run_cfg, to_dict
from semspace.data import create_dataset
from semspace.engine.run import build_evaluator, build_task_and_datasets
from semspace.eval.report import write_benchmark
from semspace.eval.seeds import aggregate_rows, claim
from semspace.types import INDEX, LABEL
from semspace.utils.io import atomic_write_text
from semspace.utils.seed import seed_everything
from semspace.world.objects.xmodal import SOURCE_CLASSES, TARGET_CLASSES


def _chtn_benchmark() -> Any:
    """``benchmarks/chtn.py`` (its config, quick overrides, validation split, shallow baselines and ``_fit``), loaded
    under the name ``semspace bench`` gives it, once per process."""
    name = "semspace_bench_chtn"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("chtn.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


CHTN = _chtn_benchmark()
ROOT = Path(__file__).resolve().parents[1]  # the project root (the config path is relative to it)
SIZES = (0, 250, 1000, 4000)  # source photos in all (0: no source)
N_CLASSES = 10  # classes of every source
OVERLAPS = {"same": 10, "half": 5, "disjoint": 0}  # target classes among the source's N_CLASSES
OVERLAP_TEXT = {"same": "the 10 target classes", "half": "5 target + 5 other classes", "disjoint": "10 other classes"}
OTHER_CLASSES = SOURCE_CLASSES[::6][:N_CLASSES]  # airplane, bird, cactus, fish, helicopter, lamp, pine_tree, ...
POOL_PER_CLASS = max(SIZES) // N_CLASSES  # photos of each class computed once (the largest source's share)
QUICK_SIZES = (0, 20, 40)
QUICK_STEPS = 30
SOURCE_BATCH = 40  # source photos a step (the world config's; at most the whole source)
WARM = "CHTN warm-started"
NONE = "none (target pairs only)"  # the source column of the rows that read no source
COLUMNS = ["source", "source items", "method", "image->text MAP", "text->image MAP", "mean MAP", "vs semantic matching",
           "train seconds"]  # fmt: skip
SEED_COLUMNS = ["source", "source items", "method", "image->text MAP", "text->image MAP", "mean MAP", "mean MAP sd",
                "vs semantic matching", "train seconds", "seeds"]  # fmt: skip


class MixedSource(Dataset):
    """One cell's labelled source: the first ``per_class`` items of each class of ``classes``, read from the first
    pool that holds the class (``frozen_features`` of ``xmodal_source``), labels renumbered 0..C-1 in the order of
    ``classes``. Items are the pool's (``FEATURES``, ``KEY``, ...) with ``LABEL`` and ``INDEX`` set here."""

    def __init__(self, pools: Sequence[Any], classes: Sequence[str], per_class: int) -> None:
        self.classes = tuple(classes)
        self._rows: list[tuple[Any, int]] = []
        labels: list[int] = []
        for c, name in enumerate(self.classes):
            pool = next((p for p in pools if name in tuple(p.classes)), None)
            if pool is None:
                raise ValueError(f"chtn_source: no feature pool holds class {name!r}")
            idx = np.flatnonzero(np.asarray(pool.labels) == tuple(pool.classes).index(name))[:per_class]
            if len(idx) < per_class:
                raise ValueError(f"chtn_source: the pool holds {len(idx)} items of {name!r}, {per_class} asked")
            self._rows += [(pool, int(i)) for i in idx]
            labels += [c] * len(idx)
        self.labels = np.asarray(labels, dtype=np.int64)  # (N,)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        pool, j = self._rows[i]
        item = dict(pool[j])
        item[LABEL] = torch.tensor(int(self.labels[i]), dtype=torch.int64)
        item[INDEX] = torch.tensor(i, dtype=torch.int64)
        return item


def source_classes(overlap: str) -> tuple[str, ...]:
    """The ``N_CLASSES`` classes of a source with ``OVERLAPS[overlap]`` target classes."""
    k = OVERLAPS[overlap]
    return TARGET_CLASSES[:k] + OTHER_CLASSES[: N_CLASSES - k]


def feature_pools(cfg: Any, per_class: int) -> list[Any]:
    """The two feature pools (target classes, other classes) in the source's style, through the config's frozen
    encoder and cache (``data.extra.source`` of ``configs/chtn/world.yaml``)."""
    spec = cfg.data.extra["source"].args  # frozen_features of xmodal_source
    pools = []
    for classes in (list(TARGET_CLASSES), list(OTHER_CLASSES)):
        inner = {"name": spec["data"]["name"], "args": {**spec["data"]["args"], "n_per_class": per_class,
                                                       "classes": classes}}  # fmt: skip
        pools.append(create_dataset("frozen_features", **{**spec, "data": inner}))
    return pools


def _metrics_row(source: str, n: int, method: str, m: dict[str, float], seconds: float) -> dict[str, Any]:
    return {"source": source, "source items": n, "method": method, "image->text MAP": m["image_to_text_mAP@all"],
            "text->image MAP": m["text_to_image_mAP@all"], "mean MAP": m["mean_mAP@all"],
            "train seconds": round(seconds, 1)}  # fmt: skip


def cells(sizes: Sequence[int]) -> list[tuple[str, int]]:
    """The grid: (overlap, size) for every size > 0 and overlap, after the one no-source cell ("none", 0)."""
    return [("none", 0)] + [(o, n) for o in OVERLAPS for n in sizes if n > 0]


def seed_rows(cfg: Any, shallow: list[dict[str, Any]], pools: list[Any], train_set: Any, protocol: Any,
              sizes: Sequence[int], run_root: Path) -> list[dict[str, Any]]:  # fmt: skip
    """Every row of one training seed: the shallow baselines, then CHTN (and warm-started CHTN) in every cell."""
    rows = [dict(r) for r in shallow]
    for overlap, n in cells(sizes):
        cell = run_root / f"{overlap}_{n}"
        done = cell / "result.json"
        if done.is_file():
            got = json.loads(done.read_text())
            print(f"{overlap} {n}: kept from {done}", flush=True)
        else:
            args = dict(cfg.task_args)
            streams: dict[str, Any] = {}
            if n == 0:
                args["use_source"] = False
            else:
                streams["source"] = MixedSource(pools, source_classes(overlap), n // N_CLASSES)
                args["num_source_classes"] = N_CLASSES
                cfg.data.extra["source"].batch_size = min(SOURCE_BATCH, len(streams["source"]))
            got = {}
            for method, warm in (("CHTN", False), (WARM, True)) if n else (("CHTN", False),):
                t0 = time.time()
                task, _ = CHTN._fit(cfg, "chtn", args, train_set, streams, cell / method.split()[-1].lower(),
                                    cfg.train.max_steps, warm=warm)  # fmt: skip
                got[method] = {"metrics": protocol(task), "seconds": time.time() - t0}
            atomic_write_text(done, json.dumps(got, indent=2) + "\n")
        label = NONE if n == 0 else OVERLAP_TEXT[overlap]
        for method, res in got.items():
            rows.append(_metrics_row(label, n, method, res["metrics"], res["seconds"]))
            print(f"{label}, {n} items, {method}: mean MAP {rows[-1]['mean MAP']:.3f}", flush=True)
    sm = next(r["mean MAP"] for r in rows if r["method"] == "semantic matching")
    for r in rows:
        r["vs semantic matching"] = round(r["mean MAP"] - sm, 4)
    return rows


def pivot(tables: list[list[dict[str, Any]]], sizes: Sequence[int]) -> str:
    """A Markdown table of mean MAP, overlaps down, sizes across; each cell "CHTN / warm-started" (means over the
    seeds); the first column, 0 items, is CHTN without a source in every line."""
    per = _per_seed(tables)
    mean = {k: float(np.mean(v)) for k, v in per.items()}
    head = "| source classes | " + " | ".join(f"{n} items" for n in sizes) + " |"
    lines = [head, "|" + "---|" * (len(sizes) + 1)]
    none = f"{mean[(NONE, 0, 'CHTN')]:.3f}"
    for overlap in OVERLAPS:
        text = OVERLAP_TEXT[overlap]
        cells_ = [none if n == 0 else f"{mean[(text, n, 'CHTN')]:.3f} / {mean[(text, n, WARM)]:.3f}" for n in sizes]
        lines.append(f"| {text} | " + " | ".join(cells_) + " |")
    return "\n".join(lines)


def _per_seed(tables: list[list[dict[str, Any]]]) -> dict[tuple[Any, ...], list[float]]:
    """(source, source items, method) -> the mean MAP of every seed."""
    return {(r["source"], r["source items"], r["method"]): [t[i]["mean MAP"] for t in tables]
            for i, r in enumerate(tables[0])}  # fmt: skip


def answer(tables: list[list[dict[str, Any]]], sizes: Sequence[int]) -> list[str]:
    """Per overlap and method: the smallest source that beats semantic matching beyond the seeds' noise
    (``eval.seeds.claim``), and every cell's verdict."""
    per = _per_seed(tables)
    sm = per[(NONE, 0, "semantic matching")]
    alone = claim(per[(NONE, 0, "CHTN")], sm)[1]
    lines = [f"- no source (CHTN = its no-transfer ablation) > semantic matching: {alone}"]
    for overlap in OVERLAPS:
        text = OVERLAP_TEXT[overlap]
        for method in ("CHTN", WARM):
            verdicts = [(n, claim(per[(text, n, method)], sm)) for n in sizes if n > 0]
            first = next((n for n, (ok, _) in verdicts if ok), None)
            said = "; ".join(f"{n}: {v}" for n, (_, v) in verdicts)
            lines.append(f"- {method}, source of {text}: " + (f"beats semantic matching from {first} items"
                         if first is not None else "never beats semantic matching") + f" ({said})")  # fmt: skip
    return lines


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False, seeds: int = 1) -> Path:
    """The grid (module docstring) over ``seeds`` training seeds; writes ``chtn_source{_quick}.{json,md}``."""
    t_all = time.time()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    sizes = QUICK_SIZES if quick else SIZES
    overrides = ["train.log_every=100", f"train.ckpt_every={10**6}"]
    overrides += [f"train.max_steps={QUICK_STEPS}", *CHTN.QUICK] if quick else []
    config = ROOT / CHTN.CONFIG
    tables: list[list[dict[str, Any]]] = []
    shallow: list[dict[str, Any]] = []
    for s in range(seeds):
        cfg = load_run_cfg(config, [*overrides, f"train.seed={s}"])
        source_spec = cfg.data.extra["source"]
        pools = feature_pools(cfg, max(sizes) // N_CLASSES)
        cfg.data.extra = {}  # the target only: the sources are the grid's (MixedSource)
        seed_everything(s)
        _, train_set, _ = build_task_and_datasets(cfg)
        protocol = build_evaluator(cfg)
        if not shallow:  # they do not read the source nor a seed: once
            test_set = create_dataset(cfg.eval["data"]["name"], **cfg.eval["data"]["args"])
            shallow = [{"source": NONE, "source items": 0, "method": r["method"],
                        "image->text MAP": r["image->text MAP"], "text->image MAP": r["text->image MAP"],
                        "mean MAP": r["mean MAP"], "train seconds": r["train seconds"],
                        "selected on validation": r["selected on validation"]}
                       for r in CHTN.shallow_baselines(train_set, test_set)]  # fmt: skip
        cfg.data.extra = {"source": dataclasses.replace(source_spec, args={"grid": "chtn_source.MixedSource"})}
        digest = hashlib.sha256(json.dumps(to_dict(cfg), sort_keys=True, default=str).encode()).hexdigest()[:10]
        run_root = Path("runs/chtn_source") / f"{'quick_' if quick else ''}{digest}" / f"seed{s}"
        tables.append(seed_rows(cfg, shallow, pools, train_set, protocol, sizes, run_root))
    seconds = time.time() - t_all
    rows, columns = (tables[0], COLUMNS) if seeds == 1 else (aggregate_rows(tables), SEED_COLUMNS)
    shown = {r["method"]: r["mean MAP"] for r in rows if r["source"] == NONE}
    notes = "\n".join([
        "Mean MAP by source (cells: CHTN / CHTN warm-started; the first column is CHTN without a source); "
        f"semantic matching {shown['semantic matching']:.3f}, CCA {shown['CCA']:.3f} on the same target pairs:",
        "", pivot(tables, sizes), "",
        f"Target: the world table's ({CHTN.CONFIG}: 8 biased pairs per class of 10 look-alike classes, 50 test pairs "
        "per class; frozen EfficientNet-Lite0 features, bag of words). Source: catalogue-style labelled photos of "
        f"10 classes, the first size / 10 of each; other classes: {', '.join(OTHER_CLASSES)}. CHTN rows: the world "
        f"config's solver, {cfg.train.max_steps} steps, no early stopping; the shallow rows' settings chosen on the "
        "world table's validation split. 'vs semantic matching': mean MAP minus semantic matching's.",
        "", f"Claims (over {seeds} seed(s); 'met' only beyond two standard errors):", *answer(tables, sizes),
        f"- wall time {seconds / 60:.1f} min",
    ])  # fmt: skip
    _, md = write_benchmark(
        "chtn_source" + ("_quick" if quick else ""), rows=rows, columns=columns, seed=0, seconds=seconds,
        config={"config": CHTN.CONFIG, "overrides": overrides, "sizes": list(sizes), "overlaps": OVERLAPS,
                "other_classes": list(OTHER_CLASSES), "seeds": seeds, "steps": cfg.train.max_steps},
        title="What source CHTN needs to beat semantic matching on the world (MAP@all, 500 + 500 test queries)",
        notes=notes, out_dir=out_dir,
    )  # fmt: skip
    return md


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv).read_text())
