"""Device resolution: ``"auto"`` means CUDA when present, else CPU. Nothing hard-codes ``.cuda()``."""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turns ``"auto"``/``"cpu"``/``"cuda:0"`` into a ``torch.device``; asking for absent CUDA raises."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available; use --device cpu")
    return dev
