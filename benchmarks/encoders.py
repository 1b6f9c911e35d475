"""Encoder throughput: items/s, achieved GFLOP/s and the fraction of the machine's matmul rate of every model
preset on this machine (CPU unless a GPU is lent), for the inference path the index build and the service use.

Images are random tensors at the preset's preprocessing size (EfficientNet-Lite0 also at 64 px); texts are
world scene descriptions. Inference mode, batch 64 (16 for EfficientNet at 224 px, which is faster per item
on CPU), best of 5 timed passes after a warm-up. Image encoders run twice: contiguous (NCHW) and channels_last
(the weights and the input in NHWC: ``torch.channels_last``), timed in turn within each pass, to decide whether
the embedding loop should use it (issue 20 item 4).

FLOPs per item are counted once per encoder by ``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add of
the convolutions and matmuls; elementwise work is not counted), so GFLOP/s = FLOPs per item x items/s / 1e9. The
machine's matmul rate is measured in the same run, on the same threads: float32 ``(N, N) @ (N, N)``, N = 1024, for
``MATMUL_SECONDS``; ``of_matmul`` is an encoder's GFLOP/s over it. The load average at the start and the end is
recorded (the cores may be shared). Run: `semspace bench encoders` (under `nice -n 5` on a shared machine).
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from semspace.eval.report import markdown_table, write_benchmark
from semspace.models import create_model, list_models
from semspace.world.scenes.dataset import SceneTripletDataset

SEED = 0
MATMUL_N = 1024
MATMUL_SECONDS = 3.0
REPEATS = 5  # timed passes per variant (best of)
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


def _throughput(variants: list[tuple[Any, Any]], batch: int, repeats: int, device: torch.device) -> list[float]:
    """Items/s of each ``(encoder, input)``: best of ``repeats`` passes after a warm-up, the variants timed in turn
    within each repeat (so that a change in the machine's load reaches them alike)."""
    best = [float("inf")] * len(variants)
    with torch.inference_mode():
        for encoder, x in variants:
            encoder.encode(x)  # warm-up
        for _ in range(repeats):
            for i, (encoder, x) in enumerate(variants):
                _sync(device)
                t0 = time.perf_counter()
                encoder.encode(x)
                _sync(device)
                best[i] = min(best[i], time.perf_counter() - t0)
    return [batch / b for b in best]


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


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False, device: str = "cpu") -> Path:
    """Runs every preset on ``device`` (``cpu``; ``cuda`` from ``scripts/gpu_check.py``) and writes the table."""
    dev = torch.device(device)
    torch.manual_seed(SEED)
    load_start = os.getloadavg()
    scenes = SceneTripletDataset(seed=SEED, split="test", n=64, view="text")
    texts = [scenes[i]["text"] for i in range(len(scenes))]
    vocab = scenes.vocabulary()
    cases: list[tuple[str, int | None, int]] = []
    for name in list_models():
        if name == "efficientnet_lite0":
            cases += [(name, 64, 64), (name, 224, 16)]
        else:
            cases.append((name, None, 64))
    rows = []
    t_all = time.perf_counter()
    rate = matmul_gflops(seconds=1.0 if quick else MATMUL_SECONDS, device=dev)
    print(f"float32 matmul {MATMUL_N}: {rate:.1f} GFLOP/s")  # noqa: T201
    for name, size, batch in cases:
        kwargs: dict[str, Any] = {"vocab": vocab} if "lstm" in name else {}
        if size is not None:
            kwargs["preprocess"] = {"size": size}
        encoder = create_model(name, **kwargs).eval().to(dev)
        x = _inputs(encoder, batch, texts, size)
        x = x.to(dev) if isinstance(x, torch.Tensor) else x
        flops = flops_per_item(encoder, x, batch)
        variants = {"-": (encoder, x)}
        if encoder.input_kind == "image":
            nhwc = copy.deepcopy(encoder).to(memory_format=torch.channels_last)
            variants = {"contiguous": (encoder, x), "channels_last": (nhwc, x.contiguous(memory_format=CL))}
        rates = _throughput(list(variants.values()), batch, repeats=1 if quick else REPEATS, device=dev)
        for layout, ips in zip(variants, rates, strict=True):
            gflops = flops * ips / 1e9
            rows.append(
                {
                    "method": name + (f" @{size}px" if size else ""),
                    "layout": layout,
                    "input": encoder.input_kind,
                    "params": encoder.num_params(),
                    "dim": encoder.output_dim,
                    "batch": batch,
                    "items_per_s": round(ips, 1),
                    "mflop_per_item": round(flops / 1e6, 2),
                    "gflops": round(gflops, 2),
                    "of_matmul": round(gflops / rate, 3),
                }
            )
            print(f"{rows[-1]['method']} {layout}: {ips:.0f} items/s, {gflops:.1f} GFLOP/s")  # noqa: T201
    cols = ["method", "layout", "input", "params", "dim", "batch", "items_per_s", "mflop_per_item", "gflops",
            "of_matmul"]  # fmt: skip
    load_end = os.getloadavg()
    _, md = write_benchmark(
        "encoders",
        rows=rows,
        columns=cols,
        seed=SEED,
        config={
            "threads": torch.get_num_threads(),
            "quick": quick,
            "device": str(dev),
            "matmul_n": MATMUL_N,
            "matmul_gflops": round(rate, 2),
            "load_average_start": load_start,
            "load_average_end": load_end,
        },  # fmt: skip
        seconds=time.perf_counter() - t_all,
        title="Encoder throughput (inference: items per second, GFLOP/s, fraction of the matmul rate)",
        notes=f"float32 matmul ({MATMUL_N} x {MATMUL_N}) on the same {torch.get_num_threads()} threads in the same "
        f"run: {rate:.1f} GFLOP/s; of_matmul = gflops / that. FLOPs count convolutions and matmuls only "
        "(FlopCounterMode, 2 per multiply-add); text encoders' tokenisation and MiniLM's frozen tower (outside the "
        "module) are not counted, so their GFLOP/s understate the work. layout channels_last: the weights and the "
        f"input in NHWC. Load average (1, 5, 15 min) {_load(load_start)} at the start, {_load(load_end)} at the "
        "end. params counts the module's own parameters; MiniLM's frozen 22.7M-parameter tower is shared per "
        "process outside the module (only its projection is in the state dict) and is not counted.",
        out_dir=out_dir,
    )
    print(markdown_table(rows, cols))  # noqa: T201
    return md


def _load(avg: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.1f}" for v in avg)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="encoder throughput (benchmarks/encoders.py)")
    parser.add_argument("--out", default="benchmarks/results", help="results folder")
    parser.add_argument("--quick", action="store_true", help="one timed pass, 1 s of matmul")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    cli = parser.parse_args()
    main(out_dir=cli.out, quick=cli.quick, device=cli.device)
