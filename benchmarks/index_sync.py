"""Index sync: what a re-build of an unchanged or slightly changed folder costs next to the first build (issue 8).

On a folder of N world images (default 5,000 3D renders at 64x64, PNG; --quick: 400) and the demo's model
architecture (the 2D->3D transfer run: small CNNs, 512-d; a few training steps, since only the timing matters):

* ``first build``: `semspace index build` into a new index (every file read, hashed, decoded, embedded);
* ``no-change rebuild``: the same command again (target: under 5 % of the first, nothing embedded);
* ``1 % changed``: N/100 files overwritten with other renders, then the same command (target: under 10 %);
* ``removal``: `semspace index remove --id` of N/100 items, for the Flat, IVF and HNSW factories: Flat and IVF
  remove in place (faiss ``remove_ids``), HNSW cannot and is rebuilt from the stored embeddings; the rebuild of
  each factory is timed too, which is the measurement behind that choice.

Run: `semspace bench index_sync` or `python benchmarks/index_sync.py [--quick]`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.eval.report import markdown_table, write_benchmark
from semspace.index import EmbeddingIndex
from semspace.retrieval import build_index
from semspace.world import create_world

ROOT = Path(__file__).resolve().parents[1]
SEED, SIZE = 0, 64
TRAIN = ["train.max_steps=2", "train.batch_size=8", "train.num_workers=0", "train.eval_every=0", "eval={}",
         "data.train.args.n=16", "data.train.cache=false", "train.log_every=1"]  # fmt: skip


def _write_folder(folder: Path, n: int, offset: int = 0) -> list[Path]:
    world = create_world("scenes", seed=SEED, size=SIZE)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = world.render_item(i + offset, "test", views=("render3d",))["render3d"]
        path = folder / f"scene_{i:05d}.png"
        Image.fromarray(np.asarray(img, dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False) -> Path:
    n = 400 if quick else 5000
    t_all = time.perf_counter()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        run = tmp / "run"
        train(load_run_cfg(ROOT / "configs" / "transfer" / "world_2d_to_3d.yaml", TRAIN), run)
        photos, _ = _timed(_write_folder, tmp / "photos", n)
        spec, index = f"folder:{tmp / 'photos'}", tmp / "index"

        first, t_first = _timed(build_index, run, spec, index)
        rows.append(_row("first build", t_first, t_first, first, "-"))
        same, t_same = _timed(build_index, run, spec, index)
        rows.append(_row("no-change rebuild", t_same, t_first, same, "< 5 %"))
        changed = max(1, n // 100)
        new = _write_folder(tmp / "new", changed, offset=10 * n)
        for src, dst in zip(new, photos[::100][:changed], strict=True):
            dst.write_bytes(src.read_bytes())
        upd, t_upd = _timed(build_index, run, spec, index)
        rows.append(_row("1 % changed", t_upd, t_first, upd, "< 10 %"))
        assert upd["updated"] == changed and upd["embedded"] == changed, upd

        for factory in ("Flat", "IVF64,Flat", "HNSW32"):
            idx = EmbeddingIndex.open(index)
            if factory != "Flat":
                idx.set_factory(factory)
                idx.save()
                idx = EmbeddingIndex.open(index)
            ids = [int(it["id"]) for it in idx.iter_items()][:changed]
            t0 = time.perf_counter()
            removed = idx.remove(ids)
            in_place = not idx._rebuild
            idx.save()
            t_remove = time.perf_counter() - t0
            rows.append({"operation": f"remove {removed} ({factory}, {'in place' if in_place else 'rebuilt'})",
                         "seconds": round(t_remove, 3), "of_first_build": f"{100 * t_remove / t_first:.1f} %",
                         "embedded": 0, "target": "-", "meets_target": "-"})  # fmt: skip
            idx = EmbeddingIndex.open(index)
            t0 = time.perf_counter()
            idx._rebuild_vectors()
            t_rebuild = time.perf_counter() - t0
            rows.append({"operation": f"rebuild {len(idx)} vectors ({factory}) from the stored embeddings",
                         "seconds": round(t_rebuild, 3), "of_first_build": f"{100 * t_rebuild / t_first:.1f} %",
                         "embedded": 0, "target": "-", "meets_target": "-"})  # fmt: skip
            idx.close()  # let go of its generation, so the next save may delete it
            # put the removed items back for the next factory
            build_index(run, spec, index)
        idx = EmbeddingIndex.open(index)
        size = idx.info()["bytes_on_disk"]
    cols = ["operation", "seconds", "of_first_build", "embedded", "target", "meets_target"]
    _, md = write_benchmark(
        "index_sync",
        rows=rows,
        columns=cols,
        seed=SEED,
        config={"n_files": n, "size": SIZE, "model": "transfer world_2d_to_3d (small_cnn, 512-d)", "quick": quick},
        seconds=time.perf_counter() - t_all,
        title=f"Index sync: `semspace index build` on a folder of {n} world images ({SIZE}x{SIZE} PNG), Flat",
        notes=(
            "A rebuild reads no file whose size and modification time are unchanged, and writes nothing when nothing "
            "changed; a changed file is hashed, decoded and embedded again in place. Removal: Flat and IVF remove "
            "in place (faiss `remove_ids`), HNSW cannot and is rebuilt from the embeddings the index stores; the "
            "`rebuild` rows are that cost for each factory. "
            f"Index size on disk at the end: {size / 2**20:.1f} MiB (vectors twice: faiss and the stored embeddings)."
        ),
        out_dir=out_dir,
    )
    print(markdown_table(rows, cols))
    return md


def _row(op: str, secs: float, first: float, stats: dict[str, object], target: str) -> dict[str, object]:
    share = secs / first
    limit = {"< 5 %": 0.05, "< 10 %": 0.10}.get(target)
    return {"operation": op, "seconds": round(secs, 3), "of_first_build": f"{100 * share:.1f} %",
            "embedded": stats["embedded"], "target": target,
            "meets_target": "-" if limit is None else bool(share < limit)}  # fmt: skip


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
