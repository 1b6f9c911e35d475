"""Device resolution: ``"auto"`` means CUDA when ``torch.cuda.is_available()``, else CPU. Nothing hard-codes
``.cuda()``: the CLI's ``--device`` (``knobs.parse_device`` checks its spelling without torch) and a run's
``train.device`` come here.

``cpu_native_bf16`` says whether this CPU computes bfloat16 natively (``precision: bf16`` warns where it does not:
``bf16_warning``). On Linux it reads the flags of ``/proc/cpuinfo``: x86 ``avx512_bf16`` or ``amx_bf16``, ARM
``bf16`` (its ``Features`` line); elsewhere it cannot tell (None) and nothing is said.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from semspace.knobs import DEVICE_CHOICES, parse_device

CPUINFO = Path("/proc/cpuinfo")
ISA_ENV = "ONEDNN_MAX_CPU_ISA"  # oneDNN's cap on the instructions it uses; these caps leave out bf16 arithmetic
ISA_WITHOUT_BF16 = frozenset({"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"})
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 AVX-512 BF16 / AMX-BF16, ARMv8.6 BF16
# scripts/bf16_matmul.py, 1024 x 1024 on 2 Xeon cores (docs/engine.md "Devices and precision"): oneDNN held to AVX2,
# i.e. without native bf16, against the same cores with AMX
MEASURED_BF16 = (
    "1024x1024 matmul on 2 Xeon cores measured 0.43 GFLOP/s in bf16 against 45 in fp32 without native bf16, "
    "508 against 52 with AMX"
)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turns ``"auto"`` / ``"cpu"`` / ``"cuda"`` / ``"cuda:N"`` into a ``torch.device``.

    Raises:
        RuntimeError: CUDA was asked for and ``torch.cuda.is_available()`` is False, or ``cuda:N`` names a device
            beyond the visible ones (``retrieval.runs.query_device`` turns it into a ``ConfigError`` line).
        ValueError: ``device`` is not one of auto, cpu, cuda, cuda:N.
    """
    if isinstance(device, torch.device):
        return device
    text = parse_device(str(device))
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(text)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"{text} requested but torch.cuda.is_available() is False (CUDA is not available to this "
                "process); use --device cpu, or auto (CUDA when there is one, else the CPU)"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise RuntimeError(
                f"{text} requested but only {count} CUDA device(s) are visible (cuda:0..cuda:{count - 1}); "
                f"expected {DEVICE_CHOICES}"
            )
    return dev


def cpu_native_bf16(cpuinfo: str | None = None, isa_cap: str | None = None) -> bool | None:
    """Whether the CPU has native bfloat16 arithmetic: True/False from the flags of ``/proc/cpuinfo`` (or the
    given text), None where there is no such file (not Linux) or it names no flags. False also where
    ``ONEDNN_MAX_CPU_ISA`` (or ``isa_cap``) holds oneDNN below AVX512_CORE_BF16 (``ISA_WITHOUT_BF16``)."""
    cap = (isa_cap if isa_cap is not None else os.environ.get(ISA_ENV, "")).strip().upper()
    if cap in ISA_WITHOUT_BF16:
        return False
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(errors="replace")
        except OSError:
            return None
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    if not flags:
        return None
    return bool(flags & BF16_FLAGS)


def bf16_warning(device: torch.device, cpuinfo: str | None = None, isa_cap: str | None = None) -> str | None:
    """The warning for ``precision: bf16`` on ``device``: a line when it is a CPU without native bf16 (autocast
    then emulates bf16, slower than fp32), None otherwise (CUDA, native bf16, or a CPU that cannot be told)."""
    if device.type != "cpu" or cpu_native_bf16(cpuinfo, isa_cap) is not False:
        return None
    return (
        "train.precision bf16 on a CPU without native bf16 (no avx512_bf16, amx_bf16 or bf16 flag in "
        f"{CPUINFO}, or {ISA_ENV} below AVX512_CORE_BF16): autocast emulates it, far slower than fp32 "
        f"({MEASURED_BF16}); use precision fp32 on this machine, bf16 on a GPU or a CPU with AMX or AVX512-BF16"
    )
