"""Service load test (issue 12): 8 concurrent clients x 500 mixed requests against `semspace serve` on loopback.

A tiny text -> 3D transfer run (``configs/transfer/world_text_to_3d.yaml`` with small encoders, 64-d; a few training
steps, since only the timing matters) and an index of 500 world test scenes as 3D renders and as descriptions. The
server is `semspace serve` in its own process on 127.0.0.1 and a free port; 8 client threads (one httpx client
each) send 500 requests each, a fixed mix: an uploaded picture (PNG) with or without a modification, an item id
with a modification, a text query, a thumbnail, and /api/info. The run stops by itself (a fixed count, 30 s timeout
per request). Reported: requests per second, p50 / p99 latency per endpoint, errors (target: none), the server's
peak resident memory (VmHWM); and the same requests made in-process through ``Searcher`` (one thread), so the
HTTP overhead is a ratio of medians.

Run: `semspace bench service` or `python benchmarks/service.py [--quick]` (--quick: 2 clients x 50).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.eval.report import markdown_table, write_benchmark
from semspace.retrieval import Searcher, build_index

ROOT = Path(__file__).resolve().parents[1]
SEED = 0
N_SCENES = 500
MIX = ["upload", "upload_modify", "item_modify", "text", "thumbnail", "upload", "item_modify", "text", "thumbnail",
       "info"]  # fmt: skip
MODS = ["make the red cube blue", "add a small green sphere at the top left", "make the large yellow cylinder small"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(base: Path) -> tuple[Path, Path]:
    enc = ["task_args.source_encoder=tiny_lstm_text", "task_args.target_encoder=tiny_cnn",
           "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=64", "data.train.args.n=64",
           "data.train.args.size=64", "data.train.cache=false", "train.max_steps=5", "train.batch_size=16",
           "train.num_workers=0", "train.eval_every=0", "eval={}", f"train.seed={SEED}"]  # fmt: skip
    run = base / "run"
    train(load_run_cfg(ROOT / "configs" / "transfer" / "world_text_to_3d.yaml", enc), run, evaluate=False)
    index = base / "index"
    gallery = f"world_scenes:split=test,n={N_SCENES},size=64,view=render3d,targets=false"
    build_index(run, gallery, index)
    build_index(run, gallery, index, domain="text")
    return run, index


def _requests(searcher: Searcher, n: int, seed: int) -> list[tuple[str, Any]]:
    """A fixed list of (endpoint, argument) for one client."""
    rng = np.random.default_rng(seed)
    images = searcher.index.ids_in_domains(["render3d"])
    captions = [str(it["caption"]) for it in searcher.index.iter_items("text")]
    pngs = {}
    out: list[tuple[str, Any]] = []
    for i in range(n):
        kind = MIX[i % len(MIX)]
        item = int(rng.choice(images))
        if kind.startswith("upload"):
            if item not in pngs:
                pngs[item] = searcher.index.thumbnail_path(item).read_bytes()  # type: ignore[union-attr]
            out.append((kind, (pngs[item], MODS[i % len(MODS)] if kind == "upload_modify" else None)))
        elif kind == "item_modify":
            out.append((kind, (item, MODS[i % len(MODS)])))
        elif kind == "text":
            out.append((kind, captions[int(rng.integers(len(captions)))]))
        elif kind == "thumbnail":
            out.append((kind, item))
        else:
            out.append((kind, None))
    return out


def _http(client: Any, kind: str, arg: Any) -> int:
    if kind.startswith("upload"):
        data = {"k": "20", **({"modify": arg[1]} if arg[1] else {})}
        r = client.post("/api/search", files={"image": ("q.png", arg[0], "image/png")}, data=data)
    elif kind == "item_modify":
        r = client.post("/api/search", data={"item_id": str(arg[0]), "modify": arg[1], "k": "20"})
    elif kind == "text":
        r = client.post("/api/search/text", json={"text": arg, "k": 20})
    elif kind == "thumbnail":
        r = client.get(f"/api/items/{arg}/thumbnail")
    else:
        r = client.get("/api/info")
    return int(r.status_code)


def _in_process(searcher: Searcher, kind: str, arg: Any) -> None:
    if kind.startswith("upload"):
        searcher.search_image(io.BytesIO(arg[0]), modify=arg[1], k=20)
    elif kind == "item_modify":
        searcher.search_item(arg[0], modify=arg[1], k=20)
    elif kind == "text":
        searcher.search_text(arg, k=20)
    elif kind == "thumbnail":
        searcher.index.thumbnail_path(arg).read_bytes()  # type: ignore[union-attr]
    else:
        searcher.index.domain_counts()


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False) -> Path:
    import httpx

    clients, per_client = (2, 50) if quick else (8, 500)
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_service_") as tmp:
        run, index = _setup(Path(tmp))
        searcher = Searcher(index)
        plans = [_requests(searcher, per_client, SEED + c) for c in range(clients)]
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "semspace", "serve", "--index", str(index), "--port",
                                   str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        try:
            assert server.stdout is not None
            line = server.stdout.readline()  # "semspace: serving ... at http://localhost:PORT/"
            if "serving" not in line:
                raise RuntimeError(f"semspace serve did not start: {line}{server.stdout.read()}")
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=30) as warm:
                for kind, arg in plans[0][: len(MIX)]:
                    _http(warm, kind, arg)
            latencies: dict[str, list[float]] = defaultdict(list)
            errors: dict[str, int] = defaultdict(int)
            lock = threading.Lock()

            def client(plan: list[tuple[str, Any]]) -> None:
                with httpx.Client(base_url=base, timeout=30) as c:
                    for kind, arg in plan:
                        t = time.perf_counter()
                        try:
                            status = _http(c, kind, arg)
                        except httpx.HTTPError:
                            status = 0
                        dt = time.perf_counter() - t
                        with lock:
                            latencies[kind].append(dt)
                            if status >= 400 or status == 0:
                                errors[kind] += 1

            threads = [threading.Thread(target=client, args=(p,)) for p in plans]
            t0 = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t0
            peak = _peak_kib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        local: dict[str, list[float]] = defaultdict(list)
        t0 = time.perf_counter()
        for plan in plans:
            for kind, arg in plan:
                t = time.perf_counter()
                _in_process(searcher, kind, arg)
                local[kind].append(time.perf_counter() - t)
        local_wall = time.perf_counter() - t0
    rows = []
    total = sum(len(v) for v in latencies.values())
    for kind in [*dict.fromkeys(MIX), "all"]:
        if kind == "all":
            ms = np.concatenate([np.asarray(v) for v in latencies.values()]) * 1000
            lms = np.concatenate([np.asarray(v) for v in local.values()]) * 1000
            n_err = sum(errors.values())
        else:
            ms, lms, n_err = np.asarray(latencies[kind]) * 1000, np.asarray(local[kind]) * 1000, errors[kind]
        p50, p99, lp50 = (float(np.percentile(a, q)) for a, q in ((ms, 50), (ms, 99), (lms, 50)))
        rows.append({"endpoint": kind, "requests": len(ms), "errors": n_err, "p50_ms": round(p50, 2),
                     "p99_ms": round(p99, 2), "in_process_p50_ms": round(lp50, 3),
                     "http_over_in_process_p50": round(p50 / max(lp50, 1e-6), 1)})  # fmt: skip
    rps, local_rps = total / wall, total / local_wall
    cols = ["endpoint", "requests", "errors", "p50_ms", "p99_ms", "in_process_p50_ms", "http_over_in_process_p50"]
    _, md = write_benchmark(
        "service",
        rows=rows,
        columns=cols,
        seed=SEED,
        config={
            "clients": clients,
            "requests_per_client": per_client,
            "mix": MIX,
            "index_items": 2 * N_SCENES,
            "model": "transfer world_text_to_3d (tiny_cnn + tiny_lstm_text, 64-d)",
            "k": 20,
            "requests_per_second": round(rps, 1),
            "in_process_requests_per_second": round(local_rps, 1),
            "server_peak_rss_mib": round(peak / 1024, 1),
            "quick": quick,
        },  # fmt: skip
        seconds=time.perf_counter() - t_all,
        title=f"Service: {clients} concurrent clients x {per_client} mixed requests, `semspace serve` on loopback",
        notes=(
            f"Throughput **{rps:.0f} requests/s** over HTTP ({clients} clients at once, {wall:.1f} s) against "
            f"{local_rps:.0f} requests/s for the same requests in-process through `Searcher` (one thread, no HTTP); "
            f"server peak memory (VmHWM) **{peak / 1024:.0f} MiB**; errors: {sum(errors.values())} of {total}. "
            "Latencies are per request as a client sees them, queueing included: the service runs every query in a "
            "bounded pool under one lock, so 8 clients queue behind each other and the p99 grows with the "
            "concurrency. The ratio compares medians: HTTP (multipart parsing, the upload's temporary file, JSON, "
            "the queue) over the bare `Searcher` call. The index has 500 scenes as 64x64 renders and as descriptions."
        ),
        out_dir=out_dir,
    )
    print(markdown_table(rows, cols))
    print(f"{rps:.1f} req/s over HTTP, {local_rps:.1f} in-process; server peak {peak / 1024:.1f} MiB")
    return md


if __name__ == "__main__":
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    main(quick="--quick" in sys.argv)
