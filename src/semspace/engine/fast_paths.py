"""The training loop's speed options (issue 20 item 3): channels_last, fused optimizers, ``torch.compile`` and the
step's wait on data. docs/engine.md "Speed" has the measurements behind every ``auto``.

* ``train.channels_last: auto | true | false``: the task's modules (4-D weights) and every 4-D floating tensor of a
  batch (nested dicts too) in ``torch.channels_last`` (NHWC), so that oneDNN's (CPU) and cuDNN's (CUDA) convolutions
  skip their layout conversions. ``auto`` picks it where it measured faster: the task trains ``Conv2d`` layers of
  at least ``CHANNELS_LAST_MIN_WIDTH`` output channels on average (``channels_last_pays``), on CPU or CUDA.
* ``train.fused_optimizer: auto | true | false``: ``torch.optim.AdamW / Adam / SGD(..., fused=True)``, one kernel
  per parameter group step instead of a Python loop over the parameters (same update, same numbers to float32
  rounding); ``auto`` uses it where torch has the fused kernel for the device and the optimizer (on CPU the step
  alone measured 2-3.3x faster than torch's per-parameter loop for every world config).
* ``train.compile``: ``torch.compile`` of the task (CPU: inductor writes C++, so it needs a C compiler).
* ``StepTimer``: the seconds a step waits in ``next()`` of the data streams; the trainer logs their share of the
  logging window's wall time as ``data_wait`` in ``metrics.jsonl``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from semspace.errors import ConfigError

__all__ = [
    "CHANNELS_LAST_MIN_WIDTH",
    "FUSED_OPTIMIZERS",
    "StepTimer",
    "channels_last_batch",
    "channels_last_pays",
    "check_speed_cfg",
    "fused_supported",
    "is_tristate",
    "resolve_channels_last",
    "resolve_fused",
    "tristate",
]

# auto channels_last: the mean output width of the task's trainable Conv2d layers from which NHWC measured faster on
# CPU (docs/engine.md "Speed": TIRG's small_cnn, 32-256 channels at 64 px: faster; EGSC-IT's 16-channel nets: not)
CHANNELS_LAST_MIN_WIDTH = 32
FUSED_OPTIMIZERS = ("adamw", "adam", "sgd")  # torch has fused kernels for these (CPU and CUDA)
_WORDS = {"auto": None, "true": True, "on": True, "yes": True, "false": False, "off": False, "no": False}


def tristate(value: Any, key: str) -> bool | None:
    """``True`` / ``False`` / ``None`` (auto) from a config value: a bool or ``auto|true|false`` (``on|off``).

    Raises:
        ConfigError: any other value; the message names ``key``.
    """
    if not is_tristate(value):
        raise ConfigError(f"{key}: got {value!r}; expected auto, true or false")
    return value if isinstance(value, bool) else _WORDS[value.strip().lower()]


def is_tristate(value: Any) -> bool:
    """Whether ``value`` is a bool or one of ``auto|true|false`` (``on|off``, ``yes|no``), any case."""
    return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in _WORDS)


def check_speed_cfg(cfg: Any) -> None:
    """Raises a ``ConfigError`` naming the key when ``train.channels_last`` or ``train.fused_optimizer`` is not
    ``auto|true|false``, or ``train.compile`` is not a bool."""
    tristate(cfg.channels_last, "train.channels_last")
    tristate(cfg.fused_optimizer, "train.fused_optimizer")
    if not isinstance(cfg.compile, bool):
        raise ConfigError(f"train.compile: got {cfg.compile!r}; expected true or false")


def channels_last_pays(module: nn.Module) -> bool:
    """Whether NHWC pays for ``module`` on CPU: it trains ``Conv2d`` layers (``requires_grad`` weights) whose mean
    output width is at least ``CHANNELS_LAST_MIN_WIDTH``. Frozen convolutions (a memoised backbone) do not count."""
    widths = [
        m.out_channels for m in module.modules() if isinstance(m, nn.Conv2d) and m.weight.requires_grad
    ]  # one entry per trainable Conv2d
    return bool(widths) and sum(widths) / len(widths) >= CHANNELS_LAST_MIN_WIDTH


def resolve_channels_last(setting: Any, module: nn.Module, device: torch.device) -> bool:
    """``train.channels_last`` for ``module`` on ``device``: ``true``/``false`` as given; ``auto``: on CPU or CUDA
    when ``channels_last_pays(module)``."""
    chosen = tristate(setting, "train.channels_last")
    if chosen is not None:
        return chosen
    return device.type in ("cpu", "cuda") and channels_last_pays(module)


def channels_last_batch(batch: Any) -> Any:
    """``batch`` with every 4-D floating tensor in ``torch.channels_last`` (NCHW shape, NHWC memory), recursing into
    dicts, lists and tuples; other values (labels, token ids, strings, 3-D or 5-D tensors) are returned as they
    are. The shapes do not change: ``(B, C, H, W)`` stays ``(B, C, H, W)``."""
    if torch.is_tensor(batch):
        if batch.dim() == 4 and batch.is_floating_point():
            return batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, dict):
        return {k: channels_last_batch(v) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(channels_last_batch(v) for v in batch)
    return batch


def fused_supported(optimizer: str, device: torch.device) -> bool:
    """Whether torch has a fused ``optimizer`` (``adamw``, ``adam``, ``sgd``) step for ``device``'s type."""
    if optimizer.lower() not in FUSED_OPTIMIZERS:
        return False
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices
    except ImportError:  # an older torch: CUDA only
        return device.type == "cuda"
    return device.type in _get_fused_kernels_supported_devices()


def resolve_fused(setting: Any, optimizer: str, device: torch.device) -> bool:
    """``train.fused_optimizer`` for ``optimizer`` on ``device``: ``auto`` where ``fused_supported``; ``true``
    where it is not supported raises a ``ConfigError``."""
    chosen = tristate(setting, "train.fused_optimizer")
    supported = fused_supported(optimizer, device)
    if chosen and not supported:
        raise ConfigError(
            f"train.fused_optimizer=true: torch {torch.__version__} has no fused {optimizer!r} step on "
            f"{device.type}; use auto or false (fused: {', '.join(FUSED_OPTIMIZERS)})"
        )
    return supported if chosen is None else chosen


class StepTimer:
    """Wraps an iterator of step batches and adds the seconds spent in its ``next()`` to ``waited``.

    The trainer reads ``waited`` at each log and resets it: ``data_wait`` = waited / the window's wall time.
    """

    def __init__(self, batches: Iterator[Any]) -> None:
        self.batches = batches
        self.waited = 0.0  # seconds spent in next() since the last reset

    def __iter__(self) -> StepTimer:
        return self

    def __next__(self) -> Any:
        t0 = time.perf_counter()
        try:
            return next(self.batches)
        finally:
            self.waited += time.perf_counter() - t0

    def take(self) -> float:
        """The seconds waited since the last call; resets the count."""
        waited, self.waited = self.waited, 0.0
        return waited
