"""Encoder throughput: items/s and parameters of every model preset on this machine (CPU unless a GPU is lent).

Images are random tensors at the preset's preprocessing size (EfficientNet-Lite0 also at 64 px); texts are
world scene descriptions. Inference mode, batch 64 (16 for EfficientNet at 224 px, which is faster per item
on CPU), best of 3 timed passes after a warm-up. Run: `semspace bench encoders`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from semspace.eval.report import markdown_table, write_benchmark
from semspace.models import create_model, list_models
from semspace.world.scenes.dataset import SceneTripletDataset

SEED = 0


def _inputs(encoder: Any, batch: int, texts: list[str], size: int | None) -> Any:
    if encoder.input_kind == "text":
        return (texts * (batch // len(texts) + 1))[:batch]
    if encoder.input_kind == "features":
        return torch.randn(batch, encoder.cfg.in_dim)
    side = size or encoder.preprocess_cfg.size
    return torch.rand(batch, encoder.preprocess_cfg.channels, side, side)


def _throughput(encoder: Any, x: Any, batch: int, repeats: int) -> float:
    with torch.inference_mode():
        encoder.encode(x)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            encoder.encode(x)
            best = min(best, time.perf_counter() - t0)
    return batch / best


def main(out_dir: str | Path = "benchmarks/results", quick: bool = False) -> Path:
    torch.manual_seed(SEED)
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
    for name, size, batch in cases:
        kwargs: dict[str, Any] = {"vocab": vocab} if "lstm" in name else {}
        if size is not None:
            kwargs["preprocess"] = {"size": size}
        encoder = create_model(name, **kwargs).eval()
        x = _inputs(encoder, batch, texts, size)
        ips = _throughput(encoder, x, batch, repeats=1 if quick else 3)
        rows.append(
            {
                "method": name + (f" @{size}px" if size else ""),
                "input": encoder.input_kind,
                "params": encoder.num_params(),
                "trainable": encoder.num_params(trainable=True),
                "dim": encoder.output_dim,
                "batch": batch,
                "items_per_s": round(ips, 1),
            }
        )
        print(f"{rows[-1]['method']}: {ips:.0f} items/s")  # noqa: T201
    cols = ["method", "input", "params", "trainable", "dim", "batch", "items_per_s"]
    _, md = write_benchmark(
        "encoders",
        rows=rows,
        columns=cols,
        seed=SEED,
        config={"threads": torch.get_num_threads(), "quick": quick},
        seconds=time.perf_counter() - t_all,
        title="Encoder throughput (inference, items per second)",
        notes="params counts the module's own parameters; MiniLM's frozen 22.7M-parameter tower is shared per process "
        "outside the module (only its projection is in the state dict) and is not counted.",
        out_dir=out_dir,
    )
    print(markdown_table(rows, cols))  # noqa: T201
    return md


if __name__ == "__main__":
    main()
