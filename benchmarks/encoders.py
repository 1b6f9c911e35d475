"""Encoder throughput: items/s, achieved GFLOP/s and the fraction of the machine's matmul rate of every model
preset on this machine (CPU unless a GPU is lent), for the path the index build and the service use (issue 20
item 4).

Images are random tensors at the preset's preprocessing size (EfficientNet-Lite0 also at 64 px); texts are
world scene descriptions. Inference mode, batch 64 (16 for EfficientNet at 224 px). Image encoders run as:

* ``contiguous``: the eager module on NCHW batches (the path before issue 20; ``SEMSPACE_FAST_INFERENCE=off``);
* ``channels_last``: the eager module with its weights and the input in NHWC (``torch.channels_last``);
* ``fast (index)``: the path of the index build, ``models.inference_fast`` on a loaded run's encoder: channels_last,
  micro-batches (``micro_batch``) and ``torch.compile`` with inductor's freezing (mode ``compile``; ``auto``
  compiles after ``COMPILE_AFTER_SECONDS`` of eager embedding, so a large build runs like this); ``compile_s`` is its
  first call on those threads (the compile; the second thread count's is a recompile that reuses inductor's kernels);
* ``contiguous, query`` / ``fast (query)``: one image at a time (``semspace search``, the service): the eager module
  on NCHW against the fast path of mode ``auto``, which never compiles for single queries (channels_last eagerly).

Every variant of an encoder is timed in turns within one process, on 1 and on 2 threads in turn (a change in the
machine's load reaches them alike; torch's 2-thread parallel regions suffer most from another process's load), each
turn (at least ``TURN_S``, calls repeated) beside 0.3 s of the float32 matmul rate on the same threads;
``items_per_s`` is the best of ``REPEATS`` turns (``median_items_per_s`` the median) and ``of_matmul`` is its
GFLOP/s over the best matmul turn of those threads.
FLOPs per item are counted once per encoder by ``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add of the
convolutions and matmuls; elementwise work is not counted), so GFLOP/s = FLOPs per item x items/s / 1e9. The load
average at the start and the end is recorded (the cores may be shared). For EfficientNet-Lite0 at 224 px the share of
the convolutions' time by kind (depthwise, pointwise 1x1, the full stem conv) is measured with forward hooks on its
eager channels_last path (``conv_shares``). Run: `semspace bench encoders`.
"""

from __future__ import annotations

import copy
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from semspace.eval.report import markdown_table, write_benchmark
from semspace.models import create_model, list_models
from semspace.models.inference_fast import micro_batch, prepare_for_inference
from semspace.world.scenes.dataset import SceneTripletDataset

SEED = 0
MATMUL_N = 1024
MATMUL_SECONDS = 3.0  # the device benchmark's one matmul figure (gpu_check)
MATMUL_TURN_S = 0.3  # matmul beside each turn of the encoders
REPEATS = 5  # timed turns per variant (best of; the median also reported)
THREADS = (1, 2)
QUERY_CALLS = 16  # single-image calls per timed query turn (at least)
TURN_S = 0.25  # a timed turn of a variant lasts at least this long (calls repeated)
TARGETS = {"efficientnet_lite0 @224px": 0.4, "small_cnn": 0.9}  # of_matmul of the path the index uses (issue 20)
CL = torch.channels_last


def _inputs(encoder: Any, batch: int, texts: list[str], size: int | None) -> Any:
    if encoder.input_kind == "text":
        return (texts * (batch // len(texts) + 1))[:batch]
    if encoder.input_kind == "features":
        return torch.randn(batch, encoder.cfg.in_dim)
    side = size or encoder.preprocess_cfg.size
    return torch.rand(batch, encoder.preprocess_cfg.channels, side, side)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(encoder: Any, x: Any, calls: int, device: torch.device) -> float:
    """Seconds per item of ``calls`` calls of ``encoder.encode(x)``."""
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(calls):
        encoder.encode(x)
    _sync(device)
    return (time.perf_counter() - t0) / (calls * len(x))


def flops_per_item(encoder: Any, x: Any, batch: int) -> float:
    """FLOPs of one item through ``encoder.encode`` (``FlopCounterMode``: convolutions and matmuls, 2 per MAC)."""
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        encoder.encode(x)
    return counter.get_total_flops() / batch


def matmul_gflops(n: int = MATMUL_N, seconds: float = MATMUL_SECONDS, device: str | torch.device = "cpu") -> float:
    """This machine's float32 matmul rate, GFLOP/s, on torch's threads or the GPU (the reference of ``of_matmul``)."""
    dev = torch.device(device)
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    a @ b  # warm-up
    _sync(dev)
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        done += 1
        if done % 16 == 0:
            _sync(dev)
    _sync(dev)
    return 2 * n**3 * done / (time.perf_counter() - t0) / 1e9


def conv_shares(encoder: nn.Module, x: torch.Tensor, repeats: int = 3) -> dict[str, dict[str, float]]:
    """Per kind of convolution (``depthwise``: groups = in channels; ``pointwise``: 1x1; ``full``: the rest) its
    share of the convolutions' wall time and of their FLOPs, and its GFLOP/s, on ``encoder``'s eager path (forward
    hooks around every ``nn.Conv2d``; a conv module's own padding is inside its time). Best of ``repeats`` passes."""
    times: dict[str, float] = {}
    flops: dict[str, float] = {}
    start: dict[int, float] = {}

    def kind(m: nn.Conv2d) -> str:
        if m.groups > 1 and m.groups == m.in_channels:
            return "depthwise"
        return "pointwise" if tuple(m.kernel_size) == (1, 1) else "full"

    def pre(m: nn.Module, _: Any) -> None:
        start[id(m)] = time.perf_counter()

    def post(m: nn.Module, _: Any, out: torch.Tensor) -> None:
        assert isinstance(m, nn.Conv2d)
        k = kind(m)
        times[k] = times.get(k, 0.0) + time.perf_counter() - start[id(m)]
        kh, kw = m.kernel_size
        flops[k] = flops.get(k, 0.0) + 2.0 * out.numel() * (m.in_channels // m.groups) * kh * kw

    convs = [m for m in encoder.modules() if isinstance(m, nn.Conv2d)]
    handles = [h for m in convs for h in (m.register_forward_pre_hook(pre), m.register_forward_hook(post))]
    best: dict[str, float] = {}
    try:
        with torch.inference_mode():
            encoder.encode(x)  # type: ignore[operator]  # warm-up
            for _ in range(repeats):
                times.clear()
                flops.clear()
                t0 = time.perf_counter()
                encoder.encode(x)  # type: ignore[operator]
                total = time.perf_counter() - t0
                if not best or total < best["total"]:
                    best = {"total": total, **{f"t_{k}": v for k, v in times.items()}}
                    best.update({f"f_{k}": v for k, v in flops.items()})
    finally:
        for h in handles:
            h.remove()
    conv_t = sum(v for k, v in best.items() if k.startswith("t_"))
    conv_f = sum(v for k, v in best.items() if k.startswith("f_"))
    out = {}
    for k in ("depthwise", "pointwise", "full"):
        t, f = best.get(f"t_{k}", 0.0), best.get(f"f_{k}", 0.0)
        out[k] = {"time_share": round(t / conv_t, 3), "flop_share": round(f / conv_f, 3),
                  "gflops": round(f / t / 1e9, 2) if t else 0.0}  # fmt: skip
    out["all_convs"] = {"time_share_of_forward": round(conv_t / best["total"], 3), "flop_share": 1.0,
                        "gflops": round(conv_f / conv_t / 1e9, 2)}  # fmt: skip
    return out


def _variants(encoder: Any, x: Any, device: torch.device) -> list[tuple[str, Any, Any, int]]:
    """``(layout, encoder, input, calls per turn)`` of every path timed for ``encoder``."""
    if encoder.input_kind != "image":
        return [("-", encoder, x, 1)]
    nhwc = copy.deepcopy(encoder).to(memory_format=CL)
    out = [("contiguous", encoder, x, 1), ("channels_last", nhwc, x.contiguous(memory_format=CL), 1)]
    if device.type != "cpu":  # the fast path is the CPU's (models.inference_fast)
        return out
    index, query = copy.deepcopy(encoder), copy.deepcopy(encoder)
    prepare_for_inference(index, "compile")  # what a large index build runs (auto compiles after a few batches)
    prepare_for_inference(query, "auto")  # single queries: never compiled
    one = x[:1].clone()
    return [*out, ("fast (index)", index, x, 1), ("contiguous, query", encoder, one, QUERY_CALLS),
            ("fast (query)", query, one, QUERY_CALLS)]  # fmt: skip


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False, device: str = "cpu") -> Path:
    """Runs every preset on ``device`` (``cpu``; ``cuda`` from ``scripts/gpu_check.py``) and writes the table."""
    dev = torch.device(device)
    torch.manual_seed(SEED)
    load_start = os.getloadavg()
    threads0 = torch.get_num_threads()
    threads = THREADS if dev.type == "cpu" else (threads0,)
    repeats = 1 if quick else REPEATS
    scenes = SceneTripletDataset(seed=SEED, split="test", n=64, view="text")
    texts = [scenes[i]["text"] for i in range(len(scenes))]
    vocab = scenes.vocabulary()
    cases: list[tuple[str, int | None, int]] = []
    for name in list_models():
        if name == "efficientnet_lite0":
            cases += [(name, 64, 64), (name, 224, 16)]
        else:
            cases.append((name, None, 64))
    t_all = time.perf_counter()
    matmul: dict[int, list[float]] = {t: [] for t in threads}
    measured: list[dict[str, Any]] = []
    shares: dict[str, Any] = {}
    for name, size, batch in cases:
        kwargs: dict[str, Any] = {"vocab": vocab} if "lstm" in name else {}
        if size is not None:
            kwargs["preprocess"] = {"size": size}
        encoder = create_model(name, **kwargs).eval().to(dev)
        x = _inputs(encoder, batch, texts, size)
        x = x.to(dev) if isinstance(x, torch.Tensor) else x
        flops = flops_per_item(encoder, x, batch)
        variants = _variants(encoder, x, dev)
        compile_s: dict[tuple[int, str], float] = {}
        for t in threads:  # warm-up on each thread count: the index path compiles (dynamo guards the thread count)
            torch.set_num_threads(t)
            with torch.inference_mode():
                for layout, enc, xin, _ in variants:
                    t0 = time.perf_counter()
                    enc.encode(xin)
                    compile_s[(t, layout)] = time.perf_counter() - t0
        with torch.inference_mode():  # calls per turn: a turn lasts at least TURN_S (short calls time noisily)
            variants = [(lay, enc, xin, max(calls, math.ceil(TURN_S / (_time(enc, xin, 1, dev) * len(xin)))))
                        for lay, enc, xin, calls in variants]  # fmt: skip
        per: dict[tuple[int, str], list[float]] = {(t, v[0]): [] for t in threads for v in variants}
        for _ in range(repeats):
            for t in threads:
                torch.set_num_threads(t)
                matmul[t].append(matmul_gflops(seconds=MATMUL_TURN_S, device=dev))
                with torch.inference_mode():
                    for layout, enc, xin, calls in variants:
                        per[(t, layout)].append(_time(enc, xin, calls, dev))
        torch.set_num_threads(threads0)
        if name == "efficientnet_lite0" and size == 224 and dev.type == "cpu":
            torch.set_num_threads(1)
            nhwc = variants[1][1]
            shares = conv_shares(nhwc, x[: micro_batch(224, 224)].contiguous(memory_format=CL), repeats)
            torch.set_num_threads(threads0)
        for (t, layout), secs in per.items():
            calls = QUERY_CALLS if "query" in layout else 1
            measured.append({
                "method": name + (f" @{size}px" if size else ""), "layout": layout, "threads": t,
                "input": encoder.input_kind, "params": encoder.num_params(), "dim": encoder.output_dim,
                "batch": 1 if calls > 1 else batch, "best_s": min(secs), "median_s": statistics.median(secs),
                "flops": flops, "compile_s": round(compile_s[(t, layout)], 1) if layout == "fast (index)" else None,
            })  # fmt: skip
        print(f"{name} {size or ''}: done")  # noqa: T201
    rates = {t: max(v) for t, v in matmul.items()}
    rows = []
    for m in measured:
        ips, gflops = 1.0 / m["best_s"], m["flops"] / m["best_s"] / 1e9
        rows.append({
            "method": m["method"], "layout": m["layout"], "threads": m["threads"], "input": m["input"],
            "params": m["params"], "dim": m["dim"], "batch": m["batch"], "items_per_s": round(ips, 1),
            "median_items_per_s": round(1.0 / m["median_s"], 1), "mflop_per_item": round(m["flops"] / 1e6, 2),
            "gflops": round(gflops, 2), "of_matmul": round(gflops / rates[m["threads"]], 3),
            "compile_s": m["compile_s"],
        })  # fmt: skip
    verdicts = _verdicts(rows)
    cols = ["method", "layout", "threads", "batch", "items_per_s", "median_items_per_s", "mflop_per_item", "gflops",
            "of_matmul", "compile_s"]  # fmt: skip
    load_end = os.getloadavg()
    rate_text = ", ".join(f"{rates[t]:.1f} GFLOP/s on {t} thread{'s' if t > 1 else ''}" for t in threads)
    _, md = write_benchmark(
        "encoders",
        rows=rows,
        columns=cols,
        seed=SEED,
        config={
            "threads": list(threads),
            "quick": quick,
            "device": str(dev),
            "matmul_n": MATMUL_N,
            "matmul_gflops": {str(t): round(r, 2) for t, r in rates.items()},
            "matmul_gflops_median": {str(t): round(statistics.median(v), 2) for t, v in matmul.items()},
            "repeats": repeats,
            "query_calls": QUERY_CALLS,
            "targets": TARGETS,
            "verdicts": verdicts,
            "efficientnet_224_conv_shares": shares,
            "load_average_start": load_start,
            "load_average_end": load_end,
        },  # fmt: skip
        seconds=time.perf_counter() - t_all,
        title="Encoder throughput (inference: items per second, GFLOP/s, fraction of the matmul rate)",
        notes=_notes(rate_text, verdicts, shares, load_start, load_end),
        out_dir=out_dir,
    )
    print(markdown_table(rows, cols))  # noqa: T201
    return md


def _verdicts(rows: list[dict[str, Any]]) -> dict[str, str]:
    """``"method, N threads" -> "met 0.52 >= 0.4"`` for the targets' index-path rows."""
    out = {}
    for r in rows:
        target = TARGETS.get(r["method"])
        if target is not None and r["layout"] == "fast (index)":
            met = "met" if r["of_matmul"] >= target else "missed"
            sign = ">=" if met == "met" else "<"
            out[f"{r['method']}, {r['threads']} thread(s)"] = f"{met}: {r['of_matmul']:.3f} {sign} {target}"
    return out


def _notes(rate_text: str, verdicts: dict[str, str], shares: dict[str, Any], start: Any, end: Any) -> str:
    targets = "; ".join(f"{k} {v}" for k, v in verdicts.items()) or "(no CPU fast path on this device)"
    conv = ""
    if shares:
        dw, pw = shares["depthwise"], shares["pointwise"]
        conv = (
            f" EfficientNet-Lite0 @224px, eager channels_last, 1 thread, micro-batch 4, forward hooks: the depthwise "
            f"convolutions take {dw['time_share']:.0%} of the convolutions' time for {dw['flop_share']:.0%} of their "
            f"FLOPs ({dw['gflops']:.1f} GFLOP/s), the pointwise (1x1) ones {pw['time_share']:.0%} for "
            f"{pw['flop_share']:.0%} ({pw['gflops']:.1f} GFLOP/s); the convolutions are "
            f"{shares['all_convs']['time_share_of_forward']:.0%} of the forward pass."
        )
    return (
        f"float32 matmul ({MATMUL_N} x {MATMUL_N}), best 0.3 s turn beside the encoders' turns: {rate_text}; "
        "of_matmul = gflops / that rate on the same threads. items_per_s: best of the turns (median beside it). "
        "FLOPs count convolutions and matmuls only (FlopCounterMode, 2 per multiply-add); text encoders' tokenisation "
        "and MiniLM's frozen tower (outside the module) are not counted, so their GFLOP/s understate the work. "
        "layout channels_last: the weights and the input in NHWC; fast (index): the index build's path "
        "(models.inference_fast: channels_last, micro-batches, torch.compile with freezing; compile_s its first call "
        "on those threads, the compile: once per process, input shape and thread count); query rows: one image per "
        "call, fast (query) being the Searcher's and the service's path (never compiled). Targets for the index "
        f"path (issue 20): {targets}.{conv} "
        f"Load average (1, 5, 15 min) {_load(start)} at the start, {_load(end)} at the end."
    )


def _load(avg: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.1f}" for v in avg)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="encoder throughput (benchmarks/encoders.py)")
    parser.add_argument("--out", default="benchmarks/results", help="results folder")
    parser.add_argument("--quick", action="store_true", help="one timed turn per variant")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    cli = parser.parse_args()
    main(out_dir=cli.out, quick=cli.quick, device=cli.device)
