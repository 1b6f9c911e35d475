"""The inference fast path of image encoders (issue 20 item 4): channels_last inputs, micro-batches and, for a
model loaded only to embed, ``torch.compile`` with inductor's freezing.

Why (``benchmarks/results/encoders.md``, the rows ``fast``, measured in one process in turns on 2 CPU cores):
oneDNN's convolutions run faster on NHWC (``torch.channels_last``) inputs than on NCHW; EfficientNet-Lite0 at 224 px
runs faster per item in batches of 4-8 than of 16 or more (its expanded depthwise stages' maps of 16 images do not
stay in the core's cache); and ``torch.compile`` with inductor's ``freezing`` (set by ``torch._inductor.config.patch``
around the call that compiles: ``options=`` does not reach it) folds each batch-norm into its convolution, fuses the
activations and pre-packs the weights for oneDNN, which no eager module does. The compiled graph
holds the weights as constants, so it is only for a model that does not change any more.

Modes, the environment knob ``SEMSPACE_FAST_INFERENCE`` (``fast_mode()``):

* ``auto`` (default): the embedding loop and the Searcher give image batches on the CPU in channels_last
  (``image_batch``); a task loaded only for inference (``prepare_for_inference``, called by
  ``retrieval.runs.load_run``: the index build, the Searcher and the service, Ray actors) also puts each image
  encoder's weights in channels_last at its first CPU batch, runs it in micro-batches of ``micro_batch(h, w)``
  items, and compiles it once it has spent ``COMPILE_AFTER_SECONDS`` embedding eagerly in batches of at least
  ``MIN_COMPILE_BATCH`` items, about what a compile costs (15-70 s on 2 cores, once per process, input shape and
  thread count; a later process reuses inductor's kernels from its on-disk cache and compiles faster). That is the
  ski-rental rule: whatever the encoder and the gallery, auto never spends more than about twice the best choice's
  time, so a large index build of EfficientNet-Lite0 at 224 px compiles after some 2,000 items (3.3x eager, below)
  while a small CNN at 64 px, 1.0-1.1x compiled, compiles only past some 100,000 items; single queries, the demo's
  galleries and the tests' never compile.
* ``compile``: as ``auto``, but an inference-only encoder compiles at its first batch.
* ``channels_last``: channels_last and micro-batches, never compiled.
* ``off``: the plain eager path (NCHW, whole batches), as before issue 20.

Safety: the compiled embed is used only in ``torch.inference_mode``, with the encoder in eval mode, on CPU float
inputs of the shape and dtype it was compiled for, and only while every parameter and buffer of the encoder is the
tensor it was compiled with (same storage, same version counter): a ``load_state_dict``, an optimizer step or a
``.to(device)`` drops it and the encoder runs eagerly until it earns a new compile. A compile that fails (e.g. no C++
compiler) logs one warning and leaves the encoder on the eager channels_last path. The compiled and micro-batched
embeddings equal the eager ones within float32 rounding (``tests/models/test_inference_fast.py``: max abs difference
<= 1e-4 on unit-norm embeddings).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch._inductor import config as inductor_config

from semspace.errors import ConfigError

logger = logging.getLogger(__name__)

FAST_INFERENCE_ENV = "SEMSPACE_FAST_INFERENCE"
MODES = ("auto", "compile", "channels_last", "off")
COMPILE_AFTER_SECONDS = 60.0  # auto: eager embedding time (batches >= MIN_COMPILE_BATCH) before a compile
MIN_COMPILE_BATCH = 8  # auto: smaller batches (single queries) never count towards a compile
MICRO_BATCH_PIXELS = 2**18  # input pixels per call: 4 images at 224 px, 64 at 64 px (measured best, module doc)
_clock = time.perf_counter  # the eager time auto counts (a test's fake clock replaces it)
_ATTR = "_fast_embed"  # where prepare_for_inference puts an encoder's FastEmbed (BaseEncoder.encode looks there)


def fast_mode(value: str | None = None) -> str:
    """The fast-path mode: ``value``, else ``$SEMSPACE_FAST_INFERENCE``, else ``auto``.

    Raises:
        ConfigError: not one of ``MODES`` (names the variable and the choices).
    """
    raw = os.environ.get(FAST_INFERENCE_ENV, "auto") if value is None else value
    text = raw.strip().lower() or "auto"
    if text not in MODES:
        raise ConfigError(f"{FAST_INFERENCE_ENV}={raw!r}: expected one of {', '.join(MODES)}")
    return text


def _is_cpu_images(x: Any) -> bool:
    return isinstance(x, torch.Tensor) and x.ndim == 4 and x.is_floating_point() and x.device.type == "cpu"


def image_batch(x: Any, mode: str | None = None) -> Any:
    """``x`` in channels_last when it is a CPU float image batch ``(B, C, H, W)`` and the mode is not ``off``
    (the same values, NHWC strides); anything else (texts, features, CUDA tensors) as it is."""
    if _is_cpu_images(x) and fast_mode(mode) != "off":
        return x.contiguous(memory_format=torch.channels_last)
    return x


def micro_batch(h: int, w: int) -> int:
    """Items per call for ``h x w`` inputs: the largest power of two with at most ``MICRO_BATCH_PIXELS`` pixels
    (224 px: 4; 64 px: 64), at least 1."""
    n = max(1, MICRO_BATCH_PIXELS // max(1, h * w))
    return 1 << (n.bit_length() - 1)


def prepare_for_inference(module: nn.Module, mode: str | None = None) -> list[str]:
    """Marks ``module``'s image encoders as inference-only: each gets a ``FastEmbed`` that ``BaseEncoder.encode``
    uses (channels_last, micro-batches, the compile of the mode). Call it only on a model that will not train any
    more (a loaded run); the weights themselves are not changed. Returns the prepared encoders' module names
    (none with mode ``off``)."""
    chosen = fast_mode(mode)
    if chosen == "off":
        return []
    names = []
    for name, sub in module.named_modules():
        if getattr(sub, "input_kind", None) == "image" and callable(getattr(sub, "embed", None)):
            setattr(sub, _ATTR, FastEmbed(sub, chosen))
            names.append(name)
    return names


def fast_embed_of(encoder: nn.Module) -> FastEmbed | None:
    """The encoder's ``FastEmbed`` (``prepare_for_inference``), or None."""
    fast = encoder.__dict__.get(_ATTR)
    return fast if isinstance(fast, FastEmbed) else None


def _snapshot(encoder: nn.Module) -> tuple[tuple[int, int], ...]:
    """(storage address, version counter) of every parameter and buffer: any change to the weights changes it."""
    return tuple((t.data_ptr(), t._version) for t in itertools.chain(encoder.parameters(), encoder.buffers()))


class FastEmbed:
    """``encoder.embed`` on the fast path of ``mode`` (module docstring); ``compiles`` counts its compiles.

    Args:
        encoder: an image encoder (``embed((B, C, H, W)) -> (B, D)``, batch items independent in eval mode).
        mode: ``auto``, ``compile`` or ``channels_last``.
    """

    def __init__(self, encoder: nn.Module, mode: str) -> None:
        self.encoder, self.mode = encoder, mode
        self.eager_seconds = 0.0  # time spent embedding eagerly in batches >= MIN_COMPILE_BATCH (auto)
        self.compiles = 0
        self.failed = False
        self.weights_nhwc = False  # the encoder's 4-d weights were put in channels_last (at its first CPU batch)
        self._compiled: Callable[[torch.Tensor], torch.Tensor] | None = None
        self._key: tuple[Any, ...] = ()  # (shape, dtype, snapshot) the compiled graph was made for
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        """A copy (deepcopy, pickle) starts uncompiled, on the copied encoder."""
        return (FastEmbed, (self.encoder, self.mode))

    def __call__(self, x: Any) -> torch.Tensor:
        enc: Any = self.encoder
        if not _is_cpu_images(x):
            return enc.embed(x)
        x = x.contiguous(memory_format=torch.channels_last)  # (B, C, H, W), NHWC strides
        m = micro_batch(int(x.shape[2]), int(x.shape[3]))
        if enc.training or not torch.is_inference_mode_enabled():
            return enc.embed(x)
        if not self.weights_nhwc:  # once, on the CPU: oneDNN then need not reorder NCHW weights at every call
            with torch.inference_mode(False):  # plain tensors, as the weights were
                enc.to(memory_format=torch.channels_last)
            self.weights_nhwc = True
        ready = self._ready(x, m)
        if ready is None:
            t0 = _clock()
            out = torch.cat([enc.embed(part) for part in x.split(m)]) if x.shape[0] > m else enc.embed(x)
            if self.mode == "auto" and x.shape[0] >= MIN_COMPILE_BATCH:
                self.eager_seconds += _clock() - t0
            return out
        fn, m = ready
        outs = []
        with inductor_config.patch(freezing=True):  # a recompile (dynamo guards torch's thread count) freezes too
            for part in x.split(m):  # (<= m, C, H, W) each
                n = int(part.shape[0])
                if n < m:  # the compiled graph's shape: zero rows pad it, their outputs are dropped
                    pad = part.new_zeros((m - n, *part.shape[1:])).contiguous(memory_format=torch.channels_last)
                    part = torch.cat([part, pad]).contiguous(memory_format=torch.channels_last)
                outs.append(fn(part)[:n])  # (n, D)
        return torch.cat(outs)  # (B, D)

    def _ready(self, x: torch.Tensor, m: int) -> tuple[Callable[[torch.Tensor], torch.Tensor], int] | None:
        """``(compiled embed, its micro-batch)`` for inputs like ``x``, compiled now when the mode says so (for
        micro-batches of ``m`` items, or of the next power of two above a smaller batch); None: eager."""
        if self.mode == "channels_last" or self.failed:
            return None
        if self._compiled is not None:
            shape, dtype, snap = self._key
            if (shape[1:], dtype, snap) == (tuple(x.shape[1:]), x.dtype, _snapshot(self.encoder)):
                return self._compiled, int(shape[0])
            if snap != _snapshot(self.encoder):  # the weights changed: the frozen graph is stale
                logger.info("%s: weights changed since the compile; eager until it earns a new one", self._name())
                self._compiled, self.eager_seconds = None, 0.0
            return None  # another input shape or dtype: eager, the compiled graph is kept
        if self.mode == "auto" and self.eager_seconds < COMPILE_AFTER_SECONDS:
            return None
        if not self._lock.acquire(blocking=False):
            return None  # another thread is compiling: eager meanwhile
        m = min(m, 1 << (int(x.shape[0]) - 1).bit_length())  # a batch of 5 compiles for 8
        try:
            fn = self._compile(x, (m, *x.shape[1:]))
            return None if fn is None else (fn, m)
        finally:
            self._lock.release()

    def _compile(self, x: torch.Tensor, shape: tuple[int, ...]) -> Callable[[torch.Tensor], torch.Tensor] | None:
        t0 = time.perf_counter()
        logger.info("%s: compiling for inference (torch.compile, freezing; micro-batch %d)", self._name(), shape[0])
        try:
            enc: Any = self.encoder
            fn = torch.compile(enc.embed, dynamic=False)
            with inductor_config.patch(freezing=True):  # read when the first call compiles (options= does not reach it)
                fn(x.new_zeros(shape).contiguous(memory_format=torch.channels_last))  # compiles now
        except Exception as exc:  # no C++ compiler, an op inductor cannot lower: the eager path stays
            self.failed = True
            logger.warning("%s: torch.compile failed, embedding eagerly (%s: %s)", self._name(),
                           type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")  # fmt: skip
            return None
        self._compiled, self._key = fn, (tuple(shape), x.dtype, _snapshot(self.encoder))
        self.compiles += 1
        logger.info("%s: compiled in %.1f s", self._name(), time.perf_counter() - t0)
        return fn

    def _name(self) -> str:
        return str(getattr(self.encoder, "architecture", "") or type(self.encoder).__name__)
