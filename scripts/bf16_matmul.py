"""bf16 against fp32 matmul on this CPU, once: ``python scripts/bf16_matmul.py [--seconds S] [--size N]``.

Prints one JSON document: the CPU's bf16 flags (``utils.device.cpu_native_bf16``), torch's CPU capability, and the
GFLOP/s of an N x N matmul in float32 and bfloat16 (each timed for S seconds after a warm-up, on torch's threads).
Run it again under ``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN then uses neither AMX nor AVX512-BF16) to see what a CPU
without native bf16 gets. The figures quoted in docs/engine.md ("Devices and precision") come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from semspace.utils.device import cpu_native_bf16


def gflops(dtype: torch.dtype, n: int, seconds: float) -> float:
    """GFLOP/s of ``(n, n) @ (n, n)`` in ``dtype`` (2 n^3 flops each), the mean over ``seconds``."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b  # warm-up
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        done += 1
    return 2 * n**3 * done / (time.perf_counter() - t0) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    fp32 = gflops(torch.float32, args.size, args.seconds)
    bf16 = gflops(torch.bfloat16, args.size, args.seconds)
    print(json.dumps({
        "native_bf16": cpu_native_bf16(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA"), "threads": torch.get_num_threads(),
        "size": args.size, "fp32_gflops": round(fp32, 2), "bf16_gflops": round(bf16, 2),
        "bf16_over_fp32": round(bf16 / fp32, 3), "load_average": os.getloadavg(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
