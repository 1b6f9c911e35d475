"""Write a world to disk: one PNG per image view and one JSONL line per item (DESIGN §3).

Layout of ``OUT`` (documented in the README)::

    OUT/manifest.json            {"kind", "seed", "size", "split", "n", "views", "image_views", "semspace_version"}
    OUT/annotations.jsonl        one line per item: {"index", "split", "images": {view: "view/000123.png"},
                                 "texts": {view: str}, "annotation": {...ground truth...}}
    OUT/<view>/<index:06d>.png   every image view of every item

Rendering runs in ``workers`` processes. Every PNG is written to a temporary name and renamed, and items
whose PNGs already exist are not re-rendered, so a killed ``semspace world generate`` simply resumes
(the content is a pure function of (seed, split, index)). ``annotations.jsonl`` and the manifest are
written last, atomically.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from semspace.utils.io import atomic_write, atomic_write_text
from semspace.version import __version__
from semspace.world import create_world


def _item_files(kind_views: tuple[str, ...], idx: int) -> dict[str, str]:
    return {v: f"{v}/{idx:06d}.png" for v in kind_views}


def _render_chunk(
    indices: list[int], *, kind: str, seed: int, size: int, split: str, out: str, kwargs: dict[str, Any]
) -> list[dict[str, Any]]:
    """Renders and saves a chunk of items in a worker process; returns their JSONL records."""
    world = create_world(kind, seed=seed, size=size, **kwargs)
    records = []
    for idx in indices:
        files = _item_files(world.image_views, idx)
        have_all = all((Path(out) / f).exists() for f in files.values())
        text_views = tuple(v for v in world.views if v not in world.image_views)
        views = world.render_item(idx, split, views=text_views if have_all else None)
        texts = {}
        for view, value in views.items():
            if isinstance(value, np.ndarray):
                with atomic_write(Path(out) / files[view]) as tmp:
                    Image.fromarray(value).save(tmp, format="PNG")
            else:
                texts[view] = value
        records.append(
            {"index": idx, "split": split, "images": files, "texts": texts, "annotation": world.annotation(idx, split)}
        )
    return records


def _chunks(n: int, size: int) -> Iterator[list[int]]:
    for start in range(0, n, size):
        yield list(range(start, min(n, start + size)))


def export_world(
    kind: str,
    out: str | Path,
    *,
    n: int,
    seed: int = 0,
    size: int = 64,
    split: str = "train",
    workers: int | None = None,
    progress: bool = False,
    **kwargs: Any,
) -> Path:
    """Renders ``n`` items of world ``kind`` into ``out`` (see module docstring); returns the JSONL path.

    Example:
        >>> export_world("scenes", "data/scenes", n=1000, seed=0)
    """
    out = Path(out)
    world = create_world(kind, seed=seed, size=size, **kwargs)
    for view in world.image_views:
        (out / view).mkdir(parents=True, exist_ok=True)
    workers = workers or min(2, os.cpu_count() or 1)
    job = partial(_render_chunk, kind=kind, seed=seed, size=size, split=split, out=str(out), kwargs=kwargs)
    chunks = list(_chunks(n, max(1, min(64, n // (workers * 4) or 1))))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=f"world {kind}", unit="item", dynamic_ncols=True)
    records: list[dict[str, Any]] = []
    if workers > 1:
        with mp.get_context("spawn" if os.name == "nt" else "fork").Pool(workers) as pool:
            for recs in pool.imap(job, chunks):
                records.extend(recs)
                if bar is not None:
                    bar.update(len(recs))
    else:
        for chunk in chunks:
            records.extend(job(chunk))
            if bar is not None:
                bar.update(len(chunk))
    if bar is not None:
        bar.close()
    jsonl = out / "annotations.jsonl"
    atomic_write_text(jsonl, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    manifest = {
        "kind": kind,
        "seed": seed,
        "size": size,
        "split": split,
        "n": n,
        "views": list(world.views),
        "image_views": list(world.image_views),
        "options": kwargs,
        "semspace_version": __version__,
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return jsonl
