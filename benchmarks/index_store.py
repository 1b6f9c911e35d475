"""The index store at 10^5 and 10^6 items: what one item costs on disk and in memory, and what a small change costs.

``EmbeddingIndex`` keeps, per generation, the faiss file and an SQLite store of the items with every embedding once
per content (float32 blobs, ``index.store``); a writer changes a staging copy of the store and renames it into the
next generation (``index.store_files``); readers map the faiss file and read the store in place. This benchmark
measures that design at the sizes of issue 19, each step in a fresh process (its own peak RSS):

* ``build``: ``create`` + ``add`` of N 512-d vectors in blocks of 16,384 (items with a domain, a content hash and a
  uri) + ``save``; at 10^6 what ``--factory auto`` picks there, ``IVF4096,Flat`` (2 KiB a vector), trained on the
  first block, which is 131,072 vectors for IVF factories (32 a list). Its lists live on disk (``index.ivf_ondisk``):
  the writer holds at most one shard of them (256 MB) and merges the shards into ``index.ivfdata`` at ``save``
  (a ``Flat`` index still holds 2 KiB per vector in memory while it is written: the ``Flat`` row at 10^5);
* ``open + 100 searches``: a reader (``EmbeddingIndex.open`` and ``search`` of one query at a time, k=10);
* ``add 1,000 + save``: a writer's small change to a big index (the staging copy of the store is the cost).

Run: `semspace bench index_store` or `python benchmarks/index_store.py [--quick]` (10^4 and 10^5).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

D, BLOCK, TRAIN_BLOCK, SEED = 512, 16384, 131072, 0


def _vectors(start: int, n: int) -> np.ndarray:
    """Rows ``start .. start+n`` of a seeded stream of clustered vectors (256 centres + noise): ``(n, D)``."""
    centres = np.random.default_rng(SEED).standard_normal((256, D)).astype(np.float32)
    rng = np.random.default_rng([SEED, start])
    return centres[rng.integers(0, 256, n)] + 0.5 * rng.standard_normal((n, D)).astype(np.float32)


def _items(start: int, n: int) -> list[dict[str, object]]:
    return [{"domain": "photo", "content_hash": f"{i:064x}", "uri": f"/gallery/{i:09d}.png"}
            for i in range(start, start + n)]  # fmt: skip


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _AnonPeak:
    """The peak of the process's anonymous resident memory (``RssAnon``: heap and arrays, not the pages of mapped
    files, which the kernel writes back and drops under pressure), sampled every 20 ms in a thread."""

    def __init__(self) -> None:
        import threading

        self.peak_kb, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    def sample(self) -> None:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.sample()
        return self.peak_kb / 1024


def child(step: str, root: Path, n: int, factory: str) -> dict[str, object]:
    from semspace.data.domains import DomainSpec, InputKind
    from semspace.index import EmbeddingIndex, ModelInfo

    anon = _AnonPeak()
    t0 = time.perf_counter()
    if step == "build":
        info = ModelInfo(checkpoint="bench", checkpoint_sha256="0" * 64, task="bench", embed_dim=D)
        spec = DomainSpec(name="photo", kind=InputKind.FEATURES, embed_dim=D, feature_dim=D)
        root.mkdir(parents=True)
        index = EmbeddingIndex.create(root, model_info=info, factory=factory, dim=D, save=False, domains=[spec])
        first = TRAIN_BLOCK if factory.startswith("IVF") else BLOCK
        for start in [0, *range(first, n, BLOCK)]:
            m = min(first if start == 0 else BLOCK, n - start)
            index.add(_vectors(start, m), _items(start, m))
        index.save()
    elif step == "search":
        index = EmbeddingIndex.open(root)
        q = _vectors(10**9, 100)
        for row in q:
            index.search(row[None], k=10)
    else:  # a small change
        index = EmbeddingIndex.open(root)
        index.add(_vectors(n, 1000), _items(n, 1000))
        index.save()
    seconds = time.perf_counter() - t0
    gen = root / index.generation
    faiss_bytes = sum(p.stat().st_size for p in gen.iterdir() if p.suffix in (".faiss", ".ivfdata"))
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(_peak_mb()), "peak_anon_mb": round(anon.stop()),
            "items": len(index), "items_sqlite_mb": round((gen / "items.sqlite").stat().st_size / 2**20, 1),
            "faiss_mb": round(faiss_bytes / 2**20, 1)}  # fmt: skip


def _run(step: str, root: Path, n: int, factory: str) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", step, str(root), str(n), factory]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False) -> Path:
    """Runs every size in its own processes and writes ``index_store.json`` / ``.md`` into ``out_dir``."""
    from semspace.eval.report import markdown_table, write_benchmark

    sizes = [(10**4, "Flat"), (10**5, "IVF256,SQ8")] if quick else [(10**5, "Flat"), (10**6, "IVF4096,Flat")]
    t_all = time.perf_counter()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, factory in sizes:
            root = Path(tmp) / f"idx_{n}_{factory.replace(',', '_')}"
            for step, what in (("build", f"build {n:,}"), ("search", "open + 100 searches"),
                               ("change", "add 1,000 + save")):  # fmt: skip
                r = _run(step, root, n, factory)
                per_item = 1024 * (float(r["items_sqlite_mb"]) + float(r["faiss_mb"])) / int(r["items"])  # KiB
                rows.append({"items": f"{n:,}", "factory": factory, "step": what, **r,
                             "disk_kib_per_item": round(per_item, 2)})  # fmt: skip
                print(rows[-1], flush=True)
    cols = ["items", "factory", "step", "seconds", "peak_rss_mb", "peak_anon_mb", "items_sqlite_mb", "faiss_mb",
            "disk_kib_per_item"]  # fmt: skip
    _, md = write_benchmark(
        "index_store", rows=rows, columns=cols, seed=SEED, config={"dim": D, "block": BLOCK, "quick": quick},
        seconds=time.perf_counter() - t_all,
        title="Index store at scale: 512-d items through EmbeddingIndex, each step in a fresh process",
        notes=(
            "Stored embeddings are kept at every size, float32, once per (domain, content hash), in the generation's "
            "items.sqlite on disk (2 KiB per 512-d item plus ~0.2 KiB of metadata and SQLite indexes); nothing holds "
            "them in memory: readers query the file in place, a writer copies it into a staging file when it first "
            "changes it (the `add 1,000 + save` rows: that copy is most of the time). faiss's own memory is the index "
            "itself: 2 KiB per vector for Flat while it is written (readers map it); an IVF index's lists are on "
            "disk (index.ivfdata, merged from 256 MB shards at save), so its writer holds one shard. "
            "peak_rss_mb is the process's maximum resident set (ru_maxrss), including Python, numpy and faiss, and "
            "the pages of mapped files it touched (a reader's searched lists, the writer's merge output: page cache, "
            "written back and dropped under pressure); peak_anon_mb is the peak of its anonymous memory (RssAnon, "
            "sampled every 20 ms), what the process itself holds."
        ),
        out_dir=out_dir,
    )  # fmt: skip
    print(markdown_table(rows, cols))
    return md


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5])))
    else:
        main(sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else "benchmarks/results",
             quick="--quick" in sys.argv)  # fmt: skip
