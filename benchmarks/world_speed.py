"""World speed: views per second per domain at 64x64 on this machine's cores (DESIGN §3 target:
10,000 views of any domain in under 2 minutes on 2 cores).

Each domain renders N views (default 10,000; --quick: 400) in 2 processes, as `semspace world generate`
does, in memory (no PNG encoding). Run: `semspace bench world_speed` or `python benchmarks/world_speed.py`.
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from functools import partial
from pathlib import Path

from semspace.eval.report import markdown_table, write_benchmark
from semspace.world import create_world
from semspace.world.export import export_world

DOMAINS = [
    ("scenes", "blobs2d"),
    ("scenes", "render3d"),
    ("objects", "photo"),
    ("objects", "sketch"),
    ("pairs", "source"),
    ("pairs", "exemplar"),
    ("pairs", "target"),
]
SEED, SIZE, WORKERS, TARGET_S = 0, 64, 2, 120.0


def _render(chunk: list[int], kind: str, view: str) -> int:
    world = create_world(kind, seed=SEED, size=SIZE)
    for idx in chunk:
        world.render_item(idx, "train", views=(view,))
    return len(chunk)


def measure(kind: str, view: str, n: int, workers: int = WORKERS) -> float:
    """Seconds to render ``n`` views of ``kind/view`` with ``workers`` processes."""
    chunks = [list(range(s, min(n, s + 50))) for s in range(0, n, 50)]
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(workers) as pool:
        done = sum(pool.imap_unordered(partial(_render, kind=kind, view=view), chunks))
    assert done == n
    return time.perf_counter() - t0


def measure_export(kind: str, n_views: int, workers: int = WORKERS) -> tuple[int, float]:
    """(views written, seconds) for `world generate` of enough items to write ``n_views`` PNGs."""
    per_item = len(create_world(kind, seed=SEED, size=SIZE).image_views)
    n_items = -(-n_views // per_item)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        export_world(kind, tmp, n=n_items, seed=SEED, size=SIZE, workers=workers)
        return n_items * per_item, time.perf_counter() - t0


def _row(method: str, views: int, secs: float) -> dict[str, object]:
    per_10k = 10_000 * secs / views
    return {
        "method": method,
        "views": views,
        "seconds": round(secs, 2),
        "views_per_s": round(views / secs, 1),
        "s_per_10k": round(per_10k, 1),
        "meets_target": per_10k < TARGET_S,
    }


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False) -> Path:
    n = 400 if quick else 10_000
    rows = []
    t_all = time.perf_counter()
    for kind, view in DOMAINS:
        secs = measure(kind, view, n)
        rows.append(_row(f"{kind}/{view}", n, secs))
        print(f"{kind}/{view}: {n / secs:.0f} views/s")  # noqa: T201
    for kind in ("scenes", "objects", "pairs"):
        views, secs = measure_export(kind, n)
        rows.append(_row(f"{kind} export (all views, PNG + JSONL)", views, secs))
        print(f"{kind} export: {views / secs:.0f} views/s")  # noqa: T201
    cols = ["method", "views", "seconds", "views_per_s", "s_per_10k", "meets_target"]
    _, md = write_benchmark(
        "world_speed",
        rows=rows,
        columns=cols,
        seed=SEED,
        config={"size": SIZE, "workers": WORKERS, "n": n, "quick": quick},
        seconds=time.perf_counter() - t_all,
        title=f"World speed: {SIZE}x{SIZE} views, {WORKERS} processes (target: 10,000 views < {TARGET_S:.0f} s)",
        notes="Rows `kind/view`: in-memory rendering of one view, as the datasets use it on the fly. "
        "Rows `export`: `semspace world generate` writing every image view of each item as PNG plus the JSONL."
        + (" Quick run: s_per_10k is extrapolated from 400 views." if quick else ""),
        out_dir=out_dir,
    )
    print(markdown_table(rows, cols))  # noqa: T201
    return md


if __name__ == "__main__":
    main()
