"""Embedding at scale: 100,000 images indexed from scratch, one process vs Ray workers, memory measured (issue 19).

A folder of world ``objects`` photos (64x64 PNG, written once into ``benchmarks/.cache/photos_64/`` by 2 processes and
kept across runs; ``n10000/`` and ``n100000/`` are hard links to the first N of them) is indexed by the demo's model
architecture (the 2D->3D transfer run: small CNNs, 512-d; a few training steps, since only the timing matters). Each
build is a separate ``python -m semspace index build --json`` process; a sampler thread here polls, every 0.2 s, the
RSS of that process and of every descendant (Ray's gcs_server, raylet and workers included) and keeps the peak of
each process and of their sum. Rows:

* 10k and 100k, one process (``retrieval.sync``: listed, compared and embedded 16,384 items at a time);
* the no-change rebuild of 100k (target: under 5 % of the first build);
* 10k and 100k with ``--workers 2`` (``retrieval.ray_embedding``: a local Ray of 2 CPUs; target: >= 1.6x one process
  where the encoder is the bottleneck);
* a 100k build SIGKILLed when about half of the items are in its journal (``building.sqlite``), then the same
  command again: it resumes (the ``resumed`` count) and ends with 100,000 items.

Targets: the driver's peak RSS flat in the gallery size (100k within 1.2x of 10k). "Where the time goes" times one
process's stages on a sample of the files in this process: read + decode + preprocess, collate, content hash,
thumbnail, and the encoder (``eval.embedding.embed_batch``) on the preloaded inputs with 2 threads (one process) and
1 thread (what a Ray actor gets here).

Run: `semspace bench embed_scale` or `python benchmarks/embed_scale.py [--quick]` (--quick: 2,000 and 4,000 images).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import torch
from PIL import Image

from semspace.config import load_run_cfg
from semspace.data import create_dataset
from semspace.data.collate import collate_dicts
from semspace.data.transforms import attach_transform
from semspace.engine.run import train
from semspace.eval.embedding import batch_inputs, embed_batch
from semspace.eval.report import markdown_table, write_benchmark
from semspace.index.journal import JOURNAL_NAME
from semspace.retrieval.inputs import content_hashes, item_record
from semspace.retrieval.runs import load_run
from semspace.world import create_world

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache" / "photos_64"
SEED, SIZE, SPLIT, BATCH = 0, 64, "test", 128
TRAIN = ["train.max_steps=2", "train.batch_size=8", "train.num_workers=0", "train.eval_every=0", "eval={}",
         "data.train.args.n=16", "data.train.cache=false", "train.log_every=1"]  # fmt: skip
MIB = 2**20
# the peak RSS growth of semspace's Flat vector index while N 512-d vectors are added 2,048 at a time (a fresh
# process: the kernel's high-water mark, VmHWM, reset to the current RSS before the index is made)
FAISS_PEAK = """
import sys
from pathlib import Path
import numpy as np
from semspace.index.faiss_index import FaissIndex

def status(key):
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(key + ":"))
    return int(line.split()[1]) * 1024

n, dim = int(sys.argv[1]), 512
x = np.random.default_rng(0).random((2048, dim), dtype=np.float32)
Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS")
index = FaissIndex(dim, "Flat")
for s in range(0, n, 2048):
    index.add(x[: min(2048, n - s)], np.arange(s, min(n, s + 2048)))
print(status("VmHWM") - before)
"""

_WORLD: list[Any] = []  # the objects world, once per writing process


# ---- the photos ---------------------------------------------------------------------------------------------------
def _write_chunk(positions: list[int]) -> int:
    """Writes the photos at ``positions`` (world objects, test split) that are not on disk yet; a file appears whole
    (written under a hidden name, then renamed), so a killed run leaves nothing half written."""
    if not _WORLD:
        _WORLD.append(create_world("objects", seed=SEED, size=SIZE))
    written = 0
    for i in positions:
        path = CACHE / "objects" / f"photo_{i:06d}.png"
        if path.exists():
            continue
        part = path.with_name(f".{path.name}.part")
        img = _WORLD[0].render_item(i, SPLIT, views=("photo",))["photo"]  # (64, 64, 3) uint8
        Image.fromarray(np.asarray(img, dtype=np.uint8)).save(part, format="PNG")
        os.replace(part, path)
        written += 1
    return written


def _photos(n: int) -> tuple[Path, int]:
    """The folder ``CACHE/n{n}`` of the first ``n`` photos (hard links into ``CACHE/objects``) and how many photos
    were written now (2 processes; none on a rerun)."""
    (CACHE / "objects").mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(n) if not (CACHE / "objects" / f"photo_{i:06d}.png").exists()]
    written = 0
    if missing:
        chunks = [missing[s : s + 500] for s in range(0, len(missing), 500)]
        with multiprocessing.get_context("fork").Pool(2) as pool:
            written = sum(pool.imap_unordered(_write_chunk, chunks))
    folder = CACHE / f"n{n}"
    folder.mkdir(exist_ok=True)
    for i in range(n):
        link = folder / f"photo_{i:06d}.png"
        if not link.exists():
            os.link(CACHE / "objects" / link.name, link)
    return folder, written


# ---- one build, its processes' memory -------------------------------------------------------------------------------
class RssSampler(threading.Thread):
    """Polls the RSS of process ``pid`` and of all its descendants every ``every`` seconds; keeps each one's peak
    (by pid, with a label from its command line: the kernel's high-water mark, VmHWM, so no peak between two polls
    is missed) and the peak of their sum (sampled)."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.done = pid, every, threading.Event()
        self.peaks: dict[int, int] = {}
        self.labels: dict[int, str] = {}
        self.peak_total, self.most_processes = 0, 0

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                    peak = max(rss, _high_water(p.pid))
                    if peak > self.peaks.get(p.pid, 0):  # its label too: a Ray worker retitles itself after start
                        self.peaks[p.pid], self.labels[p.pid] = peak, _label(p)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                total += rss
            self.peak_total = max(self.peak_total, total)
            self.most_processes = max(self.most_processes, len(procs))
            self.done.wait(self.every)

    def summary(self) -> dict[str, Any]:
        """Peaks in MiB: the driver, the largest other process (and what it is), the sum; processes seen."""
        others = {pid: rss for pid, rss in self.peaks.items() if pid != self.pid}
        biggest = max(others, key=lambda pid: others[pid]) if others else None
        return {
            "driver_rss_mib": round(self.peaks.get(self.pid, 0) / MIB, 1),
            "largest_other_rss_mib": round(others[biggest] / MIB, 1) if biggest is not None else 0.0,
            "largest_other": self.labels.get(biggest, "-") if biggest is not None else "-",
            "total_rss_mib": round(self.peak_total / MIB, 1),
            "processes": len(self.peaks),
            "peaks_by_process": {f"{self.labels[pid]} ({pid})": round(rss / MIB, 1) for pid, rss in self.peaks.items()},
        }


def _high_water(pid: int) -> int:
    """The process's peak RSS so far (``VmHWM``), 0 when it cannot be read."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(x.split()[1]) * 1024 for x in lines if x.startswith("VmHWM:")), 0)


def _faiss_peak(n: int) -> float:
    """MiB: the peak RSS growth of the Flat vector index of ``n`` 512-d vectors (``FAISS_PEAK``), the part of a
    build's memory that grows with the gallery by design (``retrieval.sync``'s docstring)."""
    out = subprocess.run([sys.executable, "-c", FAISS_PEAK, str(n)], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout  # fmt: skip
    return round(int(out.strip().splitlines()[-1]) / MIB, 1)


def _label(p: psutil.Process) -> str:
    cmd = p.cmdline()
    head = cmd[0].split()[0] if cmd and cmd[0] else p.name()  # Ray workers set their title: "ray::_EmbedActor"
    return Path(head).name[:64] if head.startswith("/") else head[:64]


def _build(run: Path, folder: Path, index: Path, workers: int | None, log: Path,
           kill_at: int | None = None) -> tuple[dict[str, Any], float, dict[str, Any]]:  # fmt: skip
    """``semspace index build --json`` as a subprocess, sampled; returns its stats, its wall time and the memory
    peaks. ``kill_at``: SIGKILL it once its journal holds that many embeddings (the stats are then ``killed`` and
    ``journal_rows``, the journal's count after the kill)."""
    cmd = [sys.executable, "-m", "semspace", "index", "build", "--run-dir", str(run), "--data", f"folder:{folder}",
           "--out", str(index), "--json"] + ([] if workers is None else ["--workers", str(workers)])  # fmt: skip
    t0 = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
        sampler = RssSampler(proc.pid)
        sampler.start()
        if kill_at is not None:
            while proc.poll() is None and _journal_rows(index) < kill_at:
                time.sleep(1.0)  # each look holds a read lock on the journal for a moment
            proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        seconds = time.perf_counter() - t0
        sampler.done.set()
        sampler.join()
    if kill_at is not None:
        rows = _journal_rows(index)
        return {"killed": proc.returncode == -signal.SIGKILL, "journal_rows": rows, "embedded": rows}, seconds, \
            sampler.summary()  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {log.read_text()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), seconds, sampler.summary()


def _journal_rows(index: Path) -> int:
    """Embeddings in the index's build journal (0 while it does not exist or is busy)."""
    path = index / JOURNAL_NAME
    if not path.is_file():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM done").fetchone()[0])
    except sqlite3.Error:
        return 0


# ---- where the time goes ---------------------------------------------------------------------------------------------
def _stages(run: Path, folder: Path, domain: str, n: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Seconds per 1,000 images of each stage of a one-process build, on the first ``n`` files, in this process; and
    the sums: ``loading`` (every stage a Ray loading task runs), ``encoder_2`` / ``encoder_1`` (2 / 1 threads)."""
    task, _ = load_run(run)
    task.eval()
    target = task.domain(domain)
    source = attach_transform(create_dataset("folder", root=str(folder)), target.preprocess)
    n = min(n, len(source))
    t = time.perf_counter()
    items = [source[i] for i in range(n)]
    load = time.perf_counter() - t
    t = time.perf_counter()
    batches = [collate_dicts(items[s : s + BATCH]) for s in range(0, n, BATCH)]
    collate = time.perf_counter() - t
    key, _ = batch_inputs(batches[0], target, "folder")
    t = time.perf_counter()
    hashes = [list(content_hashes(b, key, target)) for b in batches]
    hashing = time.perf_counter() - t
    t = time.perf_counter()
    for b, hs in zip(batches, hashes, strict=True):
        for i, h in enumerate(hs):
            item_record(b, i, key, h, target, "")
    record = time.perf_counter() - t
    before, embed = torch.get_num_threads(), {2: float("inf"), 1: float("inf")}
    embed_batch(task, batches[0], target, device=torch.device("cpu"), key=key)  # warm-up
    for _ in range(3):  # alternating, the best of 3: the shared cores make single timings noisy
        for threads in embed:
            torch.set_num_threads(threads)
            t = time.perf_counter()
            for b in batches:
                embed_batch(task, b, target, device=torch.device("cpu"), key=key)
            embed[threads] = min(embed[threads], time.perf_counter() - t)
    torch.set_num_threads(before)
    per_k = 1000 / n
    rows = [("read + decode + preprocess (PIL, transform)", load), ("collate", collate),
            ("content hash (sha256 of the file)", hashing), ("record + thumbnail PNG", record),
            ("encoder, 2 threads (one process)", embed[2]), ("encoder, 1 thread (a Ray actor)", embed[1])]  # fmt: skip
    loading = load + collate + hashing + record
    table = [{"stage": name, "s_per_1000": round(secs * per_k, 3),
              "share_of_one_process": f"{100 * secs / (loading + embed[2]):.0f} %" if "1 thread" not in name else "-"}
             for name, secs in rows]  # fmt: skip
    return table, {"loading": loading * per_k, "encoder_2": embed[2] * per_k, "encoder_1": embed[1] * per_k}


def _startup() -> float:
    """Seconds of ``python -m semspace index build --help`` (imports and start-up, the fixed cost of every row)."""
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "semspace", "index", "build", "--help"], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        best = min(best, time.perf_counter() - t)
    return best


# ---- the benchmark ---------------------------------------------------------------------------------------------------
def main(out_dir: str | Path = "benchmarks/results", quick: bool = False) -> Path:
    small, large = (2000, 4000) if quick else (10_000, 100_000)
    load_start = os.getloadavg()
    t_all = time.perf_counter()
    t = time.perf_counter()
    folders = {n: _photos(n) for n in (small, large)}
    t_photos, written = time.perf_counter() - t, folders[large][1] + folders[small][1]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        run = tmp / "run"
        train(load_run_cfg(ROOT / "configs" / "transfer" / "world_2d_to_3d.yaml", TRAIN), run)

        def build(name: str, n: int, workers: int | None, index: Path, **kw: Any) -> dict[str, Any]:
            stats, secs, mem = _build(run, folders[n][0], index, workers, tmp / f"{name}.log", **kw)
            row = {"build": name, "images": n, "workers": workers or 1, "seconds": round(secs, 1),
                   "images_per_s": round(n / secs, 1), "embedded": stats.get("embedded", "-"),
                   "resumed": stats.get("resumed", "-"), "total": stats.get("total", "-"), **mem}  # fmt: skip
            rows.append(row)
            print(f"{name}: {row}", flush=True)
            return {**stats, **row}

        b_small = build(f"{small} one process", small, None, tmp / "small")
        b_large = build(f"{large} one process", large, None, tmp / "large")
        b_same = build(f"{large} no-change rebuild", large, None, tmp / "large")
        assert b_same["embedded"] == 0 and not b_same["saved"], b_same
        domain = str(b_large["domain"])
        _rm(tmp / "small", tmp / "large")
        r_small = build(f"{small} --workers 2", small, 2, tmp / "small_ray")
        r_large = build(f"{large} --workers 2", large, 2, tmp / "large_ray")
        _rm(tmp / "small_ray", tmp / "large_ray")
        killed = build(f"{large} killed at ~50 %", large, None, tmp / "killed", kill_at=large // 2)
        resumed = build(f"{large} resumed", large, None, tmp / "killed")
        assert killed["killed"] and resumed["total"] == large, (killed, resumed)
        for b in (b_small, b_large, r_small, r_large, resumed):
            assert b["total"] == b["images"] and not b["unreadable"], b
        stages, sums = _stages(run, folders[small][0], domain, 1024 if quick else 4096)
        startup = _startup()
        faiss_peak = {n: _faiss_peak(n) for n in (small, large)}
    load_end = os.getloadavg()
    targets = _targets(b_small, b_large, b_same, r_small, r_large, killed, resumed, large, faiss_peak)
    cols = ["build", "images", "workers", "seconds", "images_per_s", "embedded", "resumed", "total",
            "driver_rss_mib", "largest_other_rss_mib", "largest_other", "total_rss_mib", "processes"]  # fmt: skip
    _, md = write_benchmark(
        "embed_scale",
        rows=rows,
        columns=cols,
        seed=SEED,
        config={
            "images": [small, large],
            "photos": f"world objects, {SPLIT} split, {SIZE}x{SIZE} PNG",
            "photos_written_now": written,
            "photos_seconds": round(t_photos, 1),
            "batch_size": BATCH,
            "model": "transfer world_2d_to_3d (small_cnn, 512-d)",
            "domain": domain,
            "quick": quick,
            "load_start": [round(x, 2) for x in load_start],
            "load_end": [round(x, 2) for x in load_end],
            "killed_journal_rows": killed["journal_rows"],
            "stages": stages,
            "targets": targets,
            "startup_seconds": round(startup, 2),
            "faiss_flat_peak_mib": faiss_peak,
        },  # fmt: skip
        seconds=time.perf_counter() - t_all,
        title=f"Embedding at scale: `semspace index build` of {small:,} and {large:,} world photos "
        f"({SIZE}x{SIZE} PNG), one process vs `--workers 2` (issue 19)",
        notes=_notes(targets, stages, domain, load_start, load_end, killed, written, t_photos)
        + "\n\n"
        + _bottleneck(sums, (b_small, b_large), (r_small, r_large), startup),
        out_dir=out_dir,
    )
    print(markdown_table(rows, cols))
    return md


def _rm(*folders: Path) -> None:
    for f in folders:
        shutil.rmtree(f, ignore_errors=True)


def _targets(b_small: dict[str, Any], b_large: dict[str, Any], b_same: dict[str, Any], r_small: dict[str, Any],
             r_large: dict[str, Any], killed: dict[str, Any], resumed: dict[str, Any], large: int,
             faiss_peak: dict[int, float]) -> list[dict[str, Any]]:  # fmt: skip
    flat = b_large["driver_rss_mib"] / b_small["driver_rss_mib"]
    small = b_small["images"]
    rest = (b_large["driver_rss_mib"] - faiss_peak[large]) / (b_small["driver_rss_mib"] - faiss_peak[small])
    flat_ray = r_large["total_rss_mib"] / r_small["total_rss_mib"]
    share = b_same["seconds"] / b_large["seconds"]
    speedup = r_large["images_per_s"] / b_large["images_per_s"]
    return [
        {"target": "peak RSS flat: driver, one process, large / small <= 1.2", "measured": f"{flat:.2f}x",
         "met": flat <= 1.2},
        {"target": "the same without the Flat vector index's own peak (faiss, by design in memory)",
         "measured": f"{rest:.2f}x (faiss {faiss_peak[small]:.0f} / {faiss_peak[large]:.0f} MiB)", "met": rest <= 1.2},
        {"target": "peak RSS flat: all processes, --workers 2, large / small <= 1.2", "measured": f"{flat_ray:.2f}x",
         "met": flat_ray <= 1.2},
        {"target": "no-change rebuild < 5 % of the first build", "measured": f"{100 * share:.1f} %",
         "met": share < 0.05},
        {"target": "--workers 2 >= 1.6x one process (large)", "measured": f"{speedup:.2f}x", "met": speedup >= 1.6},
        {"target": "a killed build resumes and ends with every item",
         "measured": f"{killed['journal_rows']} in the journal at the kill, {resumed['resumed']} resumed, "
                     f"{resumed['embedded']} embedded, {resumed['total']} items",
         "met": resumed["total"] == large and resumed["resumed"] >= killed["journal_rows"] > 0},
    ]  # fmt: skip


def _notes(targets: list[dict[str, Any]], stages: list[dict[str, Any]], domain: str, load_start: tuple[float, ...],
           load_end: tuple[float, ...], killed: dict[str, Any], written: int, t_photos: float) -> str:  # fmt: skip
    return "\n\n".join([
        "## Targets",
        markdown_table(targets, ["target", "measured", "met"]),
        "## Where the time goes (one process's stages, on a sample, in the benchmark's process)",
        markdown_table(stages, ["stage", "s_per_1000", "share_of_one_process"]),
        f"Each row is one `python -m semspace index build --json` process into a new index (the no-change rebuild "
        f"and the resumed build: the same index again), embedding domain `{domain}`, batch {BATCH}. Memory: the "
        "build process and every descendant (Ray's gcs_server, raylet, workers) polled every 0.2 s; `driver` is the "
        "build process's peak RSS (the kernel's VmHWM), `largest_other` the biggest peak of the others, "
        "`total_rss_mib` the peak of the sum of their RSS (sampled; shared pages, Ray's object store and the "
        "libraries, are counted once per process that maps them). What grows with the gallery by design is the Flat "
        "vector index (faiss holds the 512-d float32 vectors, 2 KiB each, in memory, and its storage is reallocated "
        "as it grows, so the old and the new copy are briefly both there): its own peak, measured alone in a fresh "
        "process, is subtracted in the second target. "
        f"The killed build was SIGKILLed when its journal held about half of the items ({killed['journal_rows']} "
        "rows after the kill); `resumed` is the next build's count of embeddings taken from it. Photos: "
        f"{written} written by this run in {t_photos:.0f} s (2 processes), the rest from the cache. The 2 cores "
        f"are shared with other engineers' jobs: load average {_load(load_start)} at the start, "
        f"{_load(load_end)} at the end, so the times are noisy.",
    ])  # fmt: skip


def _bottleneck(sums: dict[str, float], ones: tuple[dict[str, Any], dict[str, Any]],
                rays: tuple[dict[str, Any], dict[str, Any]], startup: float) -> str:  # fmt: skip
    """Whether the encoder is the bottleneck, and what bounds ``--workers 2`` on this machine (from the stages); the
    steady rates leave out the fixed costs (start-up, Ray's processes): the extra images over the extra seconds
    between the two sizes."""
    loading, enc2, enc1 = sums["loading"], sums["encoder_2"], sums["encoder_1"]
    one, ray = ones[1], rays[1]
    steady = [(b["images"] - a["images"]) / max(1e-9, b["seconds"] - a["seconds"]) for a, b in (ones, rays)]
    fixed = [b["seconds"] - b["images"] / rate for b, rate in zip((one, ray), steady, strict=True)]
    share = enc2 / (loading + enc2)
    measured = 1000 * one["seconds"] / one["images"]  # s per 1,000 images of the large one-process build
    bound = (1000 / loading) / (one["images"] / one["seconds"])  # the loading CPU alone, over one process's rate
    verdict = "is" if share >= 0.5 else "is not"
    return (
        f"**Where the time goes.** Per 1,000 images, the per-item work that runs in one Python thread (read, decode, "
        f"preprocess, collate, hash, thumbnail) took {loading:.2f} s and the encoder {enc2:.2f} s with 2 threads "
        f"({enc1:.2f} s with 1): the encoder is {100 * share:.0f} % of one process's stage time, so it {verdict} the "
        f"bottleneck here. The one-process build of {one['images']:,} took {measured:.2f} s per 1,000 (the rest: "
        f"listing, journal commits, index adds, saving the generation, and {startup:.1f} s of process start-up). "
        "With `--workers 2`, a local Ray of 2 CPUs gives the two actors (1 torch thread each) 1 CPU together and the "
        f"loading tasks the other, so the loading stage alone bounds it at about {1000 / loading:.0f} images/s, "
        f"{bound:.2f}x the one-process rate, before Ray's start-up, its 15-odd processes and the blocks moved "
        f"through its object store on the same 2 cores; measured: {ray['images_per_s'] / one['images_per_s']:.2f}x. "
        f"Steady rates (the extra images over the extra seconds from {ones[0]['images']:,} to {one['images']:,}): "
        f"{steady[0]:.0f} images/s in one process, {steady[1]:.0f} with `--workers 2` ({steady[1] / steady[0]:.2f}x); "
        f"fixed costs {fixed[0]:.0f} s and {fixed[1]:.0f} s."
    )


def _load(avg: tuple[float, ...]) -> str:
    return " / ".join(f"{x:.2f}" for x in avg)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
