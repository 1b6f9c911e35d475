"""Index at scale: faiss factories on 10^4, 10^5 and 10^6 vectors of 512-d; what ``--factory auto`` picks (issue 19).

Data: seeded clusters, 2,000 unit centres plus gaussian noise of norm ~0.7 with a decaying spectrum (scale
i^-0.5 on dimension i, then a fixed random rotation: about 28 effective dimensions, like image embeddings),
L2-normalised; generated in chunks of 10,000 rows, each a pure function of (seed, chunk), so the 10^4 gallery is
the first rows of the 10^6 one and no step holds more than the index itself needs. Queries: 1,000 held-out points
of the same distribution. Ground truth: chunked brute force in numpy over the regenerated chunks.

Per size and factory (``Flat``, ``IVF<nlist>,Flat``, ``,SQ8``, ``,SQ4``, ``,PQ64x4fs``, the same with ``,RFlat``
re-ranking, ``HNSW32``; nlist from ``index.factory_choice.ivf_lists``), each built in a fresh subprocess (this
file, ``--child``): build seconds (train + add, not the data generation; the IVF builds of a size share the coarse
quantizer the first one trained and add its k-means seconds), peak RSS of the build (``ru_maxrss``), index bytes
(the written file), queries/s at batch 1 and 64 (k=10; batch 64 also in CPU time, which the load of a shared
machine does not inflate) and recall@10 against exact search, at the smallest nprobe / efSearch / (nprobe,
k_factor) reaching recall@10 0.95 (the sweep, two settings past it, is in the JSON). Graph builds (faiss HNSW32,
hnswlib M=32) use efConstruction 40 and are skipped at a size where their time, predicted from the previous size,
exceeds 480 s. Beside them: numpy brute force, hnswlib, and our ``EmbeddingIndex`` (SQLite store + FaissIndex) on
the same factories at ``--our-sizes``, timed in turns with the raw faiss index in one process. faiss runs with
``omp_set_num_threads(2)``. The Markdown ends with what ``choose_factory`` picks and the issue's targets.

Run: `semspace bench index_scale` or `python benchmarks/index_scale.py [--quick] [--out DIR] [--sizes 1e4,1e5,1e6]
[--our-sizes 1e4,1e5] [--only REGEX] [--merge]`; `--merge` replaces those rows of the JSON already in --out (a size
measured again), `--rerender` rewrites the Markdown from the JSON (after the chooser's constants change).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

SEED, DIM, K, THREADS = 0, 512, 10, 2
CENTRES, SIGMA, ALPHA, CHUNK = 2000, 0.7, 0.5, 10_000
SIZES, OUR_SIZES = (10_000, 100_000, 1_000_000), (10_000, 100_000)
QUICK_SIZES, QUICK_OUR_SIZES = (1_000, 10_000), (10_000,)
TARGET_RECALL, TARGET_QPS, TARGET_RSS_GB, TARGET_OURS = 0.95, 500.0, 3.0, 0.9
EF_CONSTRUCTION, HNSW_M = 40, 32  # bounded graph builds: faiss's default efConstruction
GRAPH_LIMIT_S = 480.0  # a graph build predicted (n log n from the previous size) to take longer is skipped
CHILD_TIMEOUT_S = 1200
PAST_TARGET = 2  # sweep settings measured beyond the first reaching the target (the price of a margin)
B1_QUERIES, B1_SECONDS = {False: 200, True: 50}, 10.0  # batch-1 timing: at most this many queries (full, quick) or s
VERSUS_ROUNDS = {False: 3, True: 2}  # ours vs raw faiss: turns in one process, best of each (full, quick)
QUICK = False  # set in a child from its job
NPROBES = [{"nprobe": p} for p in (1, 2, 4, 8, 16, 32, 64, 128, 256)]
EFS = [{"efSearch": e} for e in (16, 32, 64, 128, 256, 512)]
REFINES = [
    {"nprobe": p, "k_factor": f} for p, f in ((8, 8), (16, 8), (16, 16), (32, 16), (32, 32), (64, 32), (128, 32))
]
COLUMNS = ["n", "engine", "factory", "setting", "train_vectors", "build_s", "peak_rss_gb", "index_mb", "qps_b1",
           "qps_b64", "qps_b64_cpu", "recall@10", "note"]  # fmt: skip


# ---- data: a pure function of (seed, stream, chunk) ------------------------------------------------------------
@functools.cache
def _space() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng([SEED, 0])
    centres = rng.standard_normal((CENTRES, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)  # (C, D)
    rotation = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0].astype(np.float32)  # (D, D) orthogonal
    scale = np.arange(1, DIM + 1, dtype=np.float64) ** -ALPHA
    return centres, rotation, (SIGMA * scale / np.linalg.norm(scale)).astype(np.float32)  # scale: (D,)


def _points(stream: int, chunk: int, rows: int) -> np.ndarray:
    centres, rotation, scale = _space()
    rng = np.random.default_rng([SEED, stream, chunk])
    x = centres[rng.integers(0, CENTRES, rows)]  # (rows, D)
    x += (rng.standard_normal((rows, DIM), dtype=np.float32) * scale) @ rotation
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def chunks(n: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(first id, rows (c, D))`` of the first ``n`` gallery points, ``CHUNK`` rows at a time."""
    for c in range(math.ceil(n / CHUNK)):
        yield c * CHUNK, _points(1, c, CHUNK)[: n - c * CHUNK]


def prefix(n: int) -> np.ndarray:
    """The first ``n`` gallery points ``(n, D)`` (the training sample: the gallery's rows are i.i.d.)."""
    return np.concatenate([x for _, x in chunks(n)])


def queries(nq: int) -> np.ndarray:
    return _points(2, 0, nq)  # (Q, D), held out: another stream of the same distribution


def ground_truth(n: int, q: np.ndarray) -> np.ndarray:
    """The exact ``K`` nearest gallery ids of each query ``(Q, K)``, by chunked brute force."""
    best_s = np.full((len(q), K), -np.inf, np.float32)  # (Q, K)
    best_i = np.full((len(q), K), -1, np.int64)  # (Q, K)
    for start, x in chunks(n):
        s = q @ x.T  # (Q, c)
        kk = min(K, s.shape[1])
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]  # (Q, kk)
        cand_s = np.concatenate([best_s, np.take_along_axis(s, part, 1)], 1)  # (Q, K + kk)
        cand_i = np.concatenate([best_i, part + start], 1)
        order = np.argsort(-cand_s, axis=1, kind="stable")[:, :K]  # (Q, K)
        best_s, best_i = np.take_along_axis(cand_s, order, 1), np.take_along_axis(cand_i, order, 1)
    return best_i


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """recall@K: the share of the true ``K`` nearest found among the ``K`` returned."""
    return float((found[:, :K, None] == truth[:, None, :]).any(2).sum() / truth.size)


# ---- measurements, run in a fresh child process ----------------------------------------------------------------
def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # ru_maxrss: KiB on Linux


def _search_all(search: Callable[[np.ndarray], np.ndarray], q: np.ndarray,
                batch: int) -> tuple[np.ndarray, float, float]:  # fmt: skip
    """Every query in batches: ``(found (Q, K), q/s on the wall clock, q/s on THREADS cores of CPU time)``; the
    second is what the search does on idle cores kept busy, the first what it did on this (shared) machine."""
    t0, c0, out = time.perf_counter(), time.process_time(), []
    for s in range(0, len(q), batch):
        out.append(search(q[s : s + batch]))  # (b, K)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return np.concatenate(out), len(q) / wall, len(q) * THREADS / max(cpu, 1e-9)


def _batch1_qps(search: Callable[[np.ndarray], np.ndarray], q: np.ndarray) -> float:
    t0, done = time.perf_counter(), 0
    while done < min(len(q), B1_QUERIES[QUICK]) and (done == 0 or time.perf_counter() - t0 < B1_SECONDS):
        search(q[done : done + 1])
        done += 1
    return done / (time.perf_counter() - t0)


def _measure(search: Callable[[np.ndarray], np.ndarray], setter: Callable[[dict[str, int]], None],
             settings: list[dict[str, int]], q: np.ndarray, truth: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """Batch-64 recall and q/s along ``settings`` until recall@10 has reached the target ``PAST_TARGET`` settings
    ago (or, along one parameter, stops rising below it), then batch-1 q/s at the first setting that reached it
    (else the best one)."""
    sweep: list[dict[str, Any]] = []
    for setting in settings:
        setter(setting)
        found, qps, qps_cpu = _search_all(search, q, 64)
        sweep.append({**setting, "recall": round(recall(found, truth), 4), "qps64": round(qps),
                      "qps64_cpu": round(qps_cpu)})  # fmt: skip
        hit = [p for p in sweep if p["recall"] >= TARGET_RECALL]
        flat = len(setting) == 1 and len(sweep) > 1 and sweep[-1]["recall"] - sweep[-2]["recall"] < 0.002
        if (hit and sweep.index(hit[0]) + PAST_TARGET < len(sweep)) or (not hit and flat):
            break
    hit = [p for p in sweep if p["recall"] >= TARGET_RECALL]
    best = hit[0] if hit else max(sweep, key=lambda p: p["recall"])
    chosen = {k: v for k, v in best.items() if k not in ("recall", "qps64", "qps64_cpu")}
    setter(chosen)
    return {"setting": " ".join(f"{k}={v}" for k, v in chosen.items()) or "-", "params": chosen,
            "recall@10": best["recall"], "qps_b64": best["qps64"], "qps_b64_cpu": best["qps64_cpu"],
            "qps_b1": round(_batch1_qps(search, q)), "sweep": sweep}  # fmt: skip


def _file_mb(write: Callable[[str], None], path: Path, keep: bool = False) -> float:
    write(str(path))
    size = path.stat().st_size / 1e6
    if not keep:
        path.unlink()
    return round(size, 1)


def _faiss_job(job: dict[str, Any], q: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    import faiss

    index = faiss.index_factory(DIM, job["factory"], faiss.METRIC_INNER_PRODUCT)
    if "HNSW" in job["factory"]:
        index.hnsw.efConstruction = EF_CONSTRUCTION  # index_factory returns the concrete class
    secs, out = 0.0, {}
    if not index.is_trained:
        sample = prefix(job["train"])  # (T, D)
        shared = Path(job["work"]) / f"quantizer-{job['n']}.npy"  # the coarse centroids of this size's first IVF
        ivf = faiss.extract_index_ivf(index)
        if shared.exists():  # IVF's train skips the k-means of a full quantizer and trains only its codes
            ivf.quantizer.add(np.load(shared))  # (nlist, D)
            secs += job["kmeans_s"]
        t0 = time.perf_counter()
        index.train(sample)
        secs += time.perf_counter() - t0
        if not shared.exists():
            np.save(shared, ivf.quantizer.reconstruct_n(0, ivf.nlist))
            out["kmeans_s"] = round(time.perf_counter() - t0, 1)  # IVF-Flat: its training is the k-means
        del sample
    for _, x in chunks(job["n"]):
        t0 = time.perf_counter()
        index.add(x)
        secs += time.perf_counter() - t0
    out |= {"build_s": round(secs, 1), "peak_rss_gb": round(_peak_rss_gb(), 2)}
    path = Path(job.get("keep") or Path(job["work"]) / "index.faiss")  # keep: for the `ours` job beside it
    out["index_mb"] = _file_mb(lambda p: faiss.write_index(index, p), path, keep="keep" in job)
    settings = (REFINES if "RFlat" in job["factory"] else NPROBES if "IVF" in job["factory"]
                else EFS if "HNSW" in job["factory"] else [{}])  # fmt: skip
    return out | _measure(lambda b: index.search(b, K)[1], lambda s: _set(index, s), settings, q, truth)


def _set(index: Any, setting: dict[str, int]) -> None:
    import faiss

    for name, value in setting.items():
        if name == "nprobe":
            faiss.extract_index_ivf(index).nprobe = value
        elif name == "k_factor":
            index.k_factor = value  # IndexRefineFlat: re-ranks k_factor * k candidates
        else:
            index.hnsw.efSearch = value


def _numpy_job(job: dict[str, Any], q: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    x = np.empty((job["n"], DIM), np.float32)  # (n, D)
    for start, c in chunks(job["n"]):
        x[start : start + len(c)] = c

    def search(b: np.ndarray) -> np.ndarray:
        s = b @ x.T  # (b, n)
        part = np.argpartition(-s, K - 1, axis=1)[:, :K]  # (b, K)
        return np.take_along_axis(part, np.argsort(-np.take_along_axis(s, part, 1), axis=1), 1)

    return {"build_s": None, "peak_rss_gb": round(_peak_rss_gb(), 2), "index_mb": round(x.nbytes / 1e6, 1)} | _measure(
        search, lambda s: None, [{}], q, truth
    )


def _hnswlib_job(job: dict[str, Any], q: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    import hnswlib

    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=job["n"], M=HNSW_M, ef_construction=EF_CONSTRUCTION, random_seed=SEED)
    index.set_num_threads(THREADS)
    secs = 0.0
    for start, x in chunks(job["n"]):
        t0 = time.perf_counter()
        index.add_items(x, np.arange(start, start + len(x)))
        secs += time.perf_counter() - t0
    out = {"build_s": round(secs, 1), "peak_rss_gb": round(_peak_rss_gb(), 2)}
    out["index_mb"] = _file_mb(index.save_index, Path(job["work"]) / "index.hnsw")
    settings = [{"ef": s["efSearch"]} for s in EFS]
    return out | _measure(lambda b: index.knn_query(b, k=K)[0], lambda s: index.set_ef(s["ef"]), settings, q, truth)


def _ours_job(job: dict[str, Any], q: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    from semspace.data.domains import DomainSpec
    from semspace.index import EmbeddingIndex, ModelInfo
    from semspace.index.faiss_index import HNSW_EF_SEARCH

    root = Path(job["work"]) / f"ours-{job['n']}-{job['factory']}"
    info = ModelInfo(checkpoint="bench", checkpoint_sha256="0" * 64, task="bench", embed_dim=DIM)
    spec = DomainSpec(name="vec", kind="features", embed_dim=DIM, feature_dim=DIM)
    index = EmbeddingIndex.create(root, model_info=info, factory=job["factory"], dim=DIM,
                                  nprobe=job.get("nprobe", 16), domains=[spec])  # fmt: skip
    secs, first, pending = 0.0, max(job["train"], 1), []  # the first add trains: it holds the training sample

    def add(x: np.ndarray, start: int) -> float:
        items = [{"domain": "vec", "content_hash": f"h{i}", "uri": f"v/{i}"} for i in range(start, start + len(x))]
        t0 = time.perf_counter()
        index.add(x, items)
        return time.perf_counter() - t0

    for start, x in chunks(job["n"]):
        if first and start + len(x) < first:
            pending.append(x)
            continue
        if first:
            x, start, first, pending = np.concatenate([*pending, x]), 0, 0, []
        secs += add(x, start)
    t0 = time.perf_counter()
    index.save()
    secs += time.perf_counter() - t0
    index.close()
    out = {"build_s": round(secs, 1), "peak_rss_gb": round(_peak_rss_gb(), 2)}
    opened = EmbeddingIndex.open(root)
    out["index_mb"] = round(opened.info()["bytes_on_disk"] / 1e6, 1)

    def search(b: np.ndarray) -> np.ndarray:
        return np.array([[int(h.uri[2:]) for h in hits] + [-1] * (K - len(hits)) for hits in opened.search(b, K)])

    hnsw = {"efSearch": HNSW_EF_SEARCH} if "HNSW" in job["factory"] else {}  # what FaissIndex searches with
    setting = {"nprobe": job["nprobe"]} if "nprobe" in job else hnsw
    out |= _measure(search, lambda s: None, [setting], q, truth)
    out["versus"] = _versus_raw(search, Path(job["raw"]), setting, q)
    opened.close()
    shutil.rmtree(root)
    return out


def _versus_raw(ours: Callable[[np.ndarray], np.ndarray], path: Path, setting: dict[str, int],
                q: np.ndarray) -> dict[str, float]:  # fmt: skip
    """Raw faiss (the same factory's index file, the same setting) and ours timed in turns in this one process,
    ``VERSUS_ROUNDS`` rounds, best of each: the machine's load changes between processes, not within a turn."""
    import faiss

    raw = faiss.read_index(str(path))
    path.unlink()
    _set(raw, setting)
    best = dict.fromkeys(["raw_qps_b64", "ours_qps_b64", "raw_qps_b64_cpu", "ours_qps_b64_cpu", "raw_qps_b1",
                          "ours_qps_b1"], 0.0)  # fmt: skip
    for _ in range(VERSUS_ROUNDS[QUICK]):
        for name, search in (("raw", lambda b: raw.search(b, K)[1]), ("ours", ours)):
            _, qps, qps_cpu = _search_all(search, q, 64)
            best[f"{name}_qps_b64"] = max(best[f"{name}_qps_b64"], qps)
            best[f"{name}_qps_b64_cpu"] = max(best[f"{name}_qps_b64_cpu"], qps_cpu)
            best[f"{name}_qps_b1"] = max(best[f"{name}_qps_b1"], _batch1_qps(search, q))
    return {k: round(v) for k, v in best.items()}


JOBS = {"faiss": _faiss_job, "numpy": _numpy_job, "hnswlib": _hnswlib_job, "ours": _ours_job}


def child(job: dict[str, Any]) -> dict[str, Any]:
    """One measurement in this (fresh) process: the job's index built, written, searched."""
    import faiss

    global QUICK
    QUICK = bool(job.get("quick"))
    faiss.omp_set_num_threads(THREADS)
    work = Path(job["work"])
    q, truth = np.load(work / "queries.npy"), np.load(work / f"truth_{job['n']}.npy")
    return JOBS[job["engine"]](job, q, truth)


def _run_child(job: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "OPENBLAS_NUM_THREADS": str(THREADS)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {"note": f"timed out after {CHILD_TIMEOUT_S} s"}
    if done.returncode != 0:
        return {
            "note": f"failed: {done.stderr.strip().splitlines()[-1][:160] if done.stderr.strip() else done.returncode}"
        }
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out | {"wall_s": round(time.perf_counter() - t0, 1)}


# ---- the run and its report ------------------------------------------------------------------------------------
def _plan(n: int) -> list[tuple[str, str, int]]:
    """``(engine, factory, training vectors)`` measured at size ``n`` (the IVF lists follow ``ivf_lists``)."""
    from semspace.index.factory_choice import ivf_factory, ivf_lists, training_vectors

    nlist = ivf_lists(n)
    train = training_vectors(n, nlist)
    flat, sq8, sq4, pq = (ivf_factory(f, nlist, DIM) for f in ("IVF,Flat", "IVF,SQ8", "IVF,SQ4", "IVF,PQ"))
    return [("numpy", "brute force", 0), ("faiss", "Flat", 0), ("faiss", flat, train), ("faiss", sq8, train),
            ("faiss", sq4, train), ("faiss", pq, train), ("faiss", f"{pq},RFlat", train), ("faiss", f"HNSW{HNSW_M}", 0),
            ("hnswlib", f"HNSW M={HNSW_M}", 0)]  # fmt: skip


def _graph_skip(done: dict[str, tuple[int, float]], key: str, n: int) -> str:
    """Why a graph build is skipped at ``n`` (its build time predicted from the previous size), or ``""``."""
    if key not in done:
        return ""
    n0, secs = done[key]
    predicted = secs * n / n0 * math.log(n) / math.log(n0)
    if predicted <= GRAPH_LIMIT_S:
        return ""
    return (f"skipped: built in {secs:.0f} s at {n0:,}, so ~{predicted:.0f} s predicted here (n log n), over the "
            f"{GRAPH_LIMIT_S:.0f} s limit of a graph build in this run")  # fmt: skip


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False, sizes: tuple[int, ...] | None = None,
         our_sizes: tuple[int, ...] | None = None, merge: bool = False, only: str = "") -> Path:  # fmt: skip
    """Measures every size and writes ``index_scale.json/.md``; ``merge``: these rows replace the same (size, engine,
    factory) rows of the JSON already in ``out_dir`` (measured again after the code under test changed); ``only``:
    a regular expression the factories measured must match (``IVF\\d+,Flat``)."""
    sizes = tuple(sizes or (QUICK_SIZES if quick else SIZES))
    ours = tuple(our_sizes if our_sizes is not None else (QUICK_OUR_SIZES if quick else OUR_SIZES))
    nq = 200 if quick else 1000
    t_all, load, run = time.perf_counter(), [round(os.getloadavg()[0], 1)], time.strftime("%Y-%m-%d %H:%M")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="index_scale_") as tmp:
        work = Path(tmp)
        q = queries(nq)
        np.save(work / "queries.npy", q)
        graphs: dict[str, tuple[int, float]] = {}
        for n in sizes:
            t0 = time.perf_counter()
            np.save(work / f"truth_{n}.npy", ground_truth(n, q))
            print(f"{n:,}: ground truth in {time.perf_counter() - t0:.1f} s", flush=True)
            for engine, factory, train in (p for p in _plan(n) if re.fullmatch(only or ".*", p[1])):
                row: dict[str, Any] = {"n": n, "engine": engine, "factory": factory, "train_vectors": train, "run": run}
                job = {"engine": engine, "factory": factory, "n": n, "train": train, "work": tmp, "quick": quick}
                if engine == "faiss" and n in ours and "RFlat" not in factory:
                    job["keep"] = str(work / f"raw-{n}-{factory}.faiss")  # read again by the `ours` job
                job["kmeans_s"] = next((r["kmeans_s"] for r in rows if r["n"] == n and "kmeans_s" in r), 0.0)
                skip = _graph_skip(graphs, f"{engine} {factory}", n) if "HNSW" in factory else ""
                rows.append(row | ({"note": skip} if skip else _run_child(job)))
                print(f"{n:,} {engine} {factory}: {json.dumps(_brief(rows[-1]))}", flush=True)
                if "HNSW" in factory and "build_s" in rows[-1]:
                    graphs[f"{engine} {factory}"] = (n, rows[-1]["build_s"])
                if "keep" in job and "build_s" in rows[-1]:
                    nprobe = rows[-1]["params"].get("nprobe")
                    ours_job = job | {"engine": "ours", "raw": job.pop("keep")} | ({"nprobe": nprobe} if nprobe else {})
                    rows.append(row | {"engine": "ours"} | _run_child(ours_job))
                    print(f"{n:,} ours {factory}: {json.dumps(_brief(rows[-1]))}", flush=True)
            load.append(round(os.getloadavg()[0], 1))
    this = {"date": run, "sizes": list(sizes), "our_sizes": list(ours), "only": only,
            "load_average_1min_per_size": load, "seconds": round(time.perf_counter() - t_all)}  # fmt: skip
    config = {"sizes": list(sizes), "our_sizes": list(ours), "queries": nq, "dim": DIM, "k": K, "threads": THREADS,
              "centres": CENTRES, "sigma": SIGMA, "alpha": ALPHA, "chunk": CHUNK, "ef_construction": EF_CONSTRUCTION,
              "hnsw_m": HNSW_M, "target_recall": TARGET_RECALL, "quick": quick, "runs": [this]}  # fmt: skip
    if merge:
        old = json.loads((Path(out_dir) / "index_scale.json").read_text())
        keys = {(r["n"], r["engine"], r["factory"]) for r in rows}
        rows = [r for r in old["rows"] if (r["n"], r["engine"], r["factory"]) not in keys] + rows
        config = old["config"] | {"runs": [*old["config"]["runs"], this]}
        config["sizes"] = sorted(set(config["sizes"]) | set(sizes))
        config["our_sizes"] = sorted(set(config["our_sizes"]) | set(ours))
    config["runs"] = [r for r in config["runs"] if any(row["run"] == r["date"] for row in rows)]  # that own rows
    return _write(sorted(rows, key=_order), config, sum(r["seconds"] for r in config["runs"]), out_dir)


def _order(row: dict[str, Any]) -> tuple[int, int, int]:
    factories = [f for _, f, _ in _plan(row["n"])]
    place = factories.index(row["factory"]) if row["factory"] in factories else len(factories)
    return row["n"], place, row["engine"] == "ours"


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in COLUMNS[3:] if k in row}


def rerender(out_dir: str | Path = "benchmarks/results") -> Path:
    """Rewrites ``index_scale.md`` (and the JSON) from the measured JSON, e.g. after ``choose_factory`` changed."""
    doc = json.loads((Path(out_dir) / "index_scale.json").read_text())
    return _write(doc["rows"], doc["config"], sum(r["seconds"] for r in doc["config"]["runs"]), out_dir)


def _write(rows: list[dict[str, Any]], config: dict[str, Any], seconds: float, out_dir: str | Path) -> Path:
    from semspace.eval.report import markdown_table, write_benchmark  # (imports torch: the parent only)

    sizes, ours = config["sizes"], [n for n in config["our_sizes"] if n in config["sizes"]]
    notes = [
        f"Data: {CENTRES:,} seeded unit centres + gaussian noise of norm ~{SIGMA} (scale i^-{ALPHA} on dimension i, "
        f"then a random rotation), L2-normalised, generated in chunks of {CHUNK:,}; {config['queries']:,} held-out "
        "queries; recall@10 = the share of the exact 10 nearest (chunked numpy brute force) among the 10 returned. "
        f"faiss with `omp_set_num_threads({THREADS})`, numpy/OpenBLAS with {THREADS} threads; each build in a fresh "
        "process: build_s = train + add (not the data generation; the IVF builds of a size share the coarse "
        "quantizer the first one trained, as faiss's own benchmarks do, and add its k-means seconds), "
        "peak_rss_gb = that process's `ru_maxrss` after the "
        "build (Python, faiss, one data chunk and the training sample included; GB = 1e9 bytes), index_mb = the "
        f"written file; qps_b64 is on the wall clock, qps_b64_cpu = queries x {THREADS} / the process's CPU seconds "
        f"(what {THREADS} idle cores kept busy would do; OpenMP spinning counts, so it is no overestimate). "
        "setting = the smallest nprobe / efSearch / (nprobe, k_factor) reaching recall@10 "
        f"{TARGET_RECALL} at batch 64 (else the best swept; the sweep, {PAST_TARGET} settings past it, is in the "
        "JSON); graph builds use "
        f"efConstruction {EF_CONSTRUCTION}, M {HNSW_M}. The machine is shared, so q/s and build seconds are "
        "pessimistic where its load was high (qps_b64_cpu much less so). The rows (`run` in the JSON) come from "
        + "; ".join(
            f"{r['date']}: sizes {r['sizes']}{' (' + r['only'] + ')' if r.get('only') else ''}, "
            f"{r['seconds']:,} s, 1-min load average before each size and at the end "
            f"{r['load_average_1min_per_size']} on {THREADS} cores"
            for r in config["runs"]
        )
        + " (`--merge`: a later run's rows replace an earlier one's).",  # fmt: skip
        f"`ours` = `semspace.index.EmbeddingIndex` (SQLite store + FaissIndex; IVF lists on disk, mapped, "
        f"`index/ivf_ondisk.py`, since 2026-12-06 04:19) at `--our-sizes` {ours} only (10^6 through EmbeddingIndex: "
        "`benchmarks/results/index_store.md`). Its first `add` holds the training sample (FaissIndex trains on its "
        "first add), then chunks of 10,000; its "
        "index_mb is the whole folder (SQLite holds the vectors again); HNSW through it searches with FaissIndex's "
        "efSearch (`HNSW_EF_SEARCH`; a factory string cannot set it). `,RFlat` has no `ours` row: IndexRefine does not "
        "implement add_with_ids, so FaissIndex cannot hold it.",
        "## Our index vs raw faiss (same factory and setting, timed in turns in one process, best of "
        f"{VERSUS_ROUNDS[config['quick']]})\n\n"
        + markdown_table(
            _versus(rows),
            [
                "n",
                "factory",
                "setting",
                "raw_qps_b64",
                "ours_qps_b64",
                "ratio_b64",
                "ratio_b64_cpu",
                "raw_qps_b1",
                "ours_qps_b1",
                "ratio_b1",
                "raw_recall",
                "ours_recall",
            ],
        ),  # fmt: skip
        "## What `choose_factory` picks (`default` budget: a quarter of this machine's memory)\n\n" + _picks(),
        "## Targets\n\n" + "\n".join(f"- {t}" for t in _targets(rows, sizes, ours)),
    ]
    _, md = write_benchmark(
        "index_scale",
        rows=rows,
        columns=COLUMNS,
        seed=SEED,
        config=config,
        seconds=seconds,
        title=f"Index at scale: faiss factories on {', '.join(f'{n:,}' for n in sizes)} clustered {DIM}-d unit vectors",
        notes="\n\n".join(notes),
        out_dir=out_dir,
    )
    print(md.read_text())
    return md


def _find(rows: list[dict[str, Any]], n: int, engine: str, factory: str) -> dict[str, Any] | None:
    return next((r for r in rows if (r["n"], r["engine"], r["factory"]) == (n, engine, factory)), None)


def _at(row: dict[str, Any] | None, params: dict[str, int]) -> dict[str, Any] | None:
    """The sweep point of ``row`` at ``params`` (None: not measured there)."""
    sweep = (row or {}).get("sweep", [])
    return next((p for p in sweep if all(p.get(k) == v for k, v in params.items())), None)


def _versus(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in (r for r in rows if r["engine"] == "ours" and "versus" in r):
        v, point = r["versus"], _at(_find(rows, r["n"], "faiss", r["factory"]), r["params"])
        out.append({"n": r["n"], "factory": r["factory"], "setting": r["setting"], **v,
                    "ratio_b64": round(v["ours_qps_b64"] / v["raw_qps_b64"], 2),
                    "ratio_b64_cpu": round(v["ours_qps_b64_cpu"] / v["raw_qps_b64_cpu"], 2),
                    "ratio_b1": round(v["ours_qps_b1"] / v["raw_qps_b1"], 2),
                    "raw_recall": point["recall"] if point else "-", "ours_recall": r["recall@10"]})  # fmt: skip
    return out


def _picks() -> str:
    from semspace.errors import ConfigError
    from semspace.eval.report import markdown_table
    from semspace.index import choose_factory

    out = []
    for n, budget in [(n, None) for n in (10_000, 100_000, 1_000_000, 10_000_000, 100_000_000)] + [(10**6, 25e8)]:
        row: dict[str, Any] = {"n": n, "budget": "default" if budget is None else f"{budget / 1e9:.1f} GB"}
        try:
            c = choose_factory(n, DIM, None if budget is None else int(budget))
            out.append(row | {"factory": c.factory, "nprobe": c.nprobe, "train_vectors": c.train_vectors,
                              "bytes_per_vector": c.bytes_per_vector, "reason": c.reason})  # fmt: skip
        except ConfigError as exc:
            out.append(row | {"factory": "-", "reason": str(exc)})
    columns = ["n", "budget", "factory", "nprobe", "train_vectors", "bytes_per_vector", "reason"]
    return markdown_table(out, columns, digits=0)


def _targets(rows: list[dict[str, Any]], sizes: list[int], ours: list[int]) -> list[str]:
    from semspace.index import choose_factory

    n = max(sizes)
    where = f"at {n:,}" + ("" if n == 1_000_000 else " (the largest size of this run, not 10^6)")
    pick = choose_factory(n, DIM)
    raw = _find(rows, n, "faiss", pick.factory)
    point = _at(raw, {} if pick.factory == "Flat" else {"nprobe": pick.nprobe})
    out = []
    if raw is None or point is None:
        out.append(f"{where}: `choose_factory` picks {pick.factory} nprobe {pick.nprobe}, not measured: **unknown**")
    else:
        good = point["recall"] >= TARGET_RECALL
        verdict = _verdict(good and point["qps64"] >= TARGET_QPS, good and point["qps64_cpu"] >= TARGET_QPS)
        out.append(f"{where}, `choose_factory` picks `{pick.factory}` (nprobe {pick.nprobe}): recall@10 "
                   f"{point['recall']:.3f} (target >= {TARGET_RECALL}) at {point['qps64']:,.0f} q/s at batch 64 on "
                   f"the wall clock, {point['qps64_cpu']:,.0f} on {THREADS} cores of CPU time (target >= "
                   f"{TARGET_QPS:.0f}): **{verdict}**")  # fmt: skip
        rss = raw.get("peak_rss_gb", float("nan"))
        out.append(f"{where}, build peak RSS of `{pick.factory}`: {rss:.2f} GB (target <= {TARGET_RSS_GB:.0f} GB): "
                   f"**{'met' if rss <= TARGET_RSS_GB else 'missed'}**{_smaller(rows, n, pick.nprobe)}")  # fmt: skip
    if not ours:
        return [*out, "our index vs raw faiss: not measured (no --our-sizes): **unknown**"]
    n_our = max(ours)
    pick_our = choose_factory(n_our, DIM).factory
    vs = next((v for v in _versus(rows) if (v["n"], v["factory"]) == (n_our, pick_our)), None)
    if vs is None:
        return [*out, f"our index vs raw faiss at {n_our:,} ({pick_our}): not measured: **unknown**"]
    verdict = _verdict(vs["ratio_b64"] >= TARGET_OURS, vs["ratio_b64_cpu"] >= TARGET_OURS)
    out.append(f"our index vs raw faiss, `{pick_our}` at {n_our:,} (the largest `--our-sizes`; 10^6 is not run "
               f"through EmbeddingIndex): {vs['ours_qps_b64']:,.0f} vs {vs['raw_qps_b64']:,.0f} q/s at batch 64 = "
               f"{vs['ratio_b64']:.2f}x on the wall clock, {vs['ratio_b64_cpu']:.2f}x in CPU time (target >= "
               f"{TARGET_OURS}x): **{verdict}** (batch 1: {vs['ratio_b1']}x)")  # fmt: skip
    return out


def _verdict(on_wall: bool, on_cpu: bool) -> str:
    if on_wall:
        return "met"
    return "met in CPU time, missed on the wall clock of this shared machine" if on_cpu else "missed"


def _smaller(rows: list[dict[str, Any]], n: int, nprobe: int) -> str:
    """The IVF code at ``n`` that stays under the RSS target and reaches the recall one at ``nprobe``, as a clause."""
    from semspace.index.factory_choice import bytes_per_vector

    for r in (r for r in rows if (r["n"], r["engine"]) == (n, "faiss") and r["factory"].startswith("IVF")):
        point = _at(r, {"nprobe": nprobe})
        if r.get("peak_rss_gb", 99.0) <= TARGET_RSS_GB and point and point["recall"] >= TARGET_RECALL:
            below = n * bytes_per_vector("IVF,Flat", DIM) / 1e9
            return (f"; `{r['factory']}` builds in {r['peak_rss_gb']:.2f} GB and reaches recall@10 "
                    f"{point['recall']:.3f} at nprobe {nprobe} ({point['qps64_cpu']:,} q/s): `choose_factory` picks it "
                    f"under a memory budget below {below:.2f} GB")  # fmt: skip
    return ""


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(float(t)) for t in text.split(",") if t.strip())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, 200 queries (under 2 minutes)")
    parser.add_argument("--out", default="benchmarks/results", help="results folder")
    parser.add_argument("--sizes", type=_ints, default=None, help="gallery sizes, e.g. 1e4,1e5,1e6")
    parser.add_argument("--our-sizes", type=_ints, default=None, help="sizes also built through EmbeddingIndex")
    parser.add_argument("--rerender", action="store_true", help="rewrite the Markdown from the JSON in --out")
    parser.add_argument("--merge", action="store_true", help="replace these sizes' rows in the JSON in --out")
    parser.add_argument("--only", default="", help="measure only the factories this regular expression matches")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # one measurement, JSON in and out
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
    elif args.rerender:
        rerender(args.out)
    else:
        main(args.out, args.quick, args.sizes, args.our_sizes, merge=args.merge, only=args.only)
