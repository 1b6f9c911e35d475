"""Image transforms built from a ``PreprocessCfg``, never from constants (STYLE B.10).

``build_transform(cfg)`` turns a Pillow image or a ``(H, W[, C])`` array into a float32 ``(C, H, W)``
tensor: mode conversion (``data.images.convert_mode``: transparency on ``cfg.background``, 16-bit
greyscale rescaled, CMYK/palette converted), resize (``"squash"`` to ``size x size``, or
``"center_crop"``: shorter side to ``size`` then a centred crop, as timm's eval transform), scaling to
[0, 1] and per-channel ``(x - mean) / std``. ``denormalize`` and ``to_pil`` invert it for figures.

Train-time augmentation is deliberately small and off by default (a horizontal flip with probability
``hflip``); it draws from torch's global generator, which ``DataLoader`` seeds per worker.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from einops import rearrange
from PIL import Image

from semspace.data.images import array_to_image, convert_mode
from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

INTERPOLATIONS: dict[str, Image.Resampling] = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


class ImageTransform:
    """Callable ``PIL.Image | np.ndarray -> torch.Tensor (C, H, W) float32`` for one ``PreprocessCfg``.

    A class rather than a closure so that ``DataLoader`` workers can pickle it; ``cfg`` stays readable
    (datasets take the transparency background from it).

    Args:
        cfg: the preprocessing the model was trained with.
        train: enable the (small) train-time augmentation.
        hflip: probability of a horizontal flip when ``train`` is true.
    """

    def __init__(self, cfg: PreprocessCfg, *, train: bool = False, hflip: float = 0.0) -> None:
        if cfg.interpolation not in INTERPOLATIONS:
            raise ConfigError(
                f"preprocess.interpolation {cfg.interpolation!r} is unknown; expected one of {sorted(INTERPOLATIONS)}"
            )
        if any(s <= 0 for s in cfg.std):
            raise ConfigError(f"preprocess.std must be positive, got {cfg.std}")
        if not 0.0 <= hflip <= 1.0:
            raise ConfigError(f"hflip must be a probability in [0, 1], got {hflip}")
        self.cfg = cfg
        self.train = train
        self.hflip = hflip if train else 0.0
        self._mean = torch.tensor(cfg.mean, dtype=torch.float32).view(-1, 1, 1)  # (C, 1, 1)
        self._std = torch.tensor(cfg.std, dtype=torch.float32).view(-1, 1, 1)  # (C, 1, 1)

    def __call__(self, img: Image.Image | np.ndarray) -> torch.Tensor:
        if isinstance(img, np.ndarray):
            img = array_to_image(img)
        elif not isinstance(img, Image.Image):
            raise DataError(f"image transform got a {type(img).__name__}; expected a PIL.Image or a numpy array")
        img = convert_mode(img, channels=self.cfg.channels, background=self.cfg.background)
        img = resize(img, self.cfg.size, mode=self.cfg.resize, interpolation=self.cfg.interpolation)
        if self.hflip > 0.0 and float(torch.rand(())) < self.hflip:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return self.normalize(to_unit_tensor(img))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / std`` for a ``(C, H, W)`` or ``(B, C, H, W)`` tensor in [0, 1]."""
        return (x - self._mean.to(x.device)) / self._std.to(x.device)

    def __repr__(self) -> str:
        return f"ImageTransform(cfg={self.cfg!r}, train={self.train}, hflip={self.hflip})"


def build_transform(cfg: PreprocessCfg, *, train: bool = False, hflip: float = 0.0) -> ImageTransform:
    """Builds the image transform of ``cfg``.

    Args:
        cfg: the preprocessing configuration (usually ``model.preprocess_cfg``).
        train: enable train-time augmentation.
        hflip: horizontal-flip probability used when ``train`` is true (default 0: off).

    Returns:
        A picklable callable mapping a ``PIL.Image`` or ``np.ndarray`` to a float32 ``(C, H, W)`` tensor.

    Example:
        >>> tf = build_transform(PreprocessCfg(size=32))
        >>> tf(Image.new("RGBA", (50, 20))).shape
        torch.Size([3, 32, 32])
    """
    return ImageTransform(cfg, train=train, hflip=hflip)


def attach_transform(dataset: Any, cfg: PreprocessCfg | None) -> Any:
    """Gives ``dataset`` the transform of ``cfg`` unless it already has one; returns the dataset.

    Training, evaluation, the index and search call this with the model's ``preprocess_cfg`` so that every
    one of them feeds the encoders identical inputs (datasets without a ``transform`` attribute are left alone).
    """
    if cfg is not None and hasattr(dataset, "transform") and dataset.transform is None:
        dataset.transform = build_transform(cfg)
    return dataset


def resize(img: Image.Image, size: int, *, mode: str = "squash", interpolation: str = "bilinear") -> Image.Image:
    """Resizes to ``size x size``: ``"squash"`` ignores the aspect ratio, ``"center_crop"`` keeps it.

    Args:
        img: the image.
        size: output side length.
        mode: ``"squash"`` or ``"center_crop"`` (shorter side to ``size``, then a centred square crop).
        interpolation: Pillow filter name (see ``INTERPOLATIONS``).
    """
    resample = INTERPOLATIONS[interpolation]
    w, h = img.size
    if mode == "squash":
        return img if (w, h) == (size, size) else img.resize((size, size), resample)
    if mode != "center_crop":
        raise ConfigError(f"resize mode must be 'squash' or 'center_crop', got {mode!r}")
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), resample)
    left, top = (nw - size) // 2, (nh - size) // 2
    return img.crop((left, top, left + size, top + size))


def to_unit_tensor(img: Image.Image) -> torch.Tensor:
    """An ``L`` or ``RGB`` image as a float32 ``(C, H, W)`` tensor in [0, 1]."""
    a = np.asarray(img, dtype=np.float32) / 255.0  # (H, W) or (H, W, C)
    if a.ndim == 2:
        return torch.from_numpy(rearrange(a, "h w -> 1 h w").copy())  # (1, H, W)
    return torch.from_numpy(rearrange(a, "h w c -> c h w").copy())  # (C, H, W)


def denormalize(tensor: torch.Tensor, cfg: PreprocessCfg) -> torch.Tensor:
    """Undoes the normalisation of ``cfg``: returns values clamped to [0, 1].

    Args:
        tensor: ``(C, H, W)`` or ``(B, C, H, W)`` normalised images.
        cfg: the preprocessing that produced them.
    """
    mean = torch.tensor(cfg.mean, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)  # (C, 1, 1)
    std = torch.tensor(cfg.std, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)  # (C, 1, 1)
    return (tensor * std + mean).clamp(0.0, 1.0)


def to_pil(tensor: torch.Tensor, cfg: PreprocessCfg | None = None) -> Image.Image:
    """A ``(C, H, W)`` tensor as an ``RGB`` (C=3) or ``L`` (C=1) Pillow image, for figures and the service.

    Args:
        tensor: one image; normalised with ``cfg``, or already in [0, 1] when ``cfg`` is None.
        cfg: the preprocessing to undo first.
    """
    if tensor.ndim != 3 or tensor.shape[0] not in (1, 3):
        raise ValueError(f"to_pil expects a (C, H, W) tensor with C in (1, 3), got shape {tuple(tensor.shape)}")
    x = tensor.detach().float().cpu()
    x = denormalize(x, cfg) if cfg is not None else x.clamp(0.0, 1.0)  # (C, H, W)
    a = (rearrange(x, "c h w -> h w c").numpy() * 255.0).round().astype(np.uint8)  # (H, W, C)
    return Image.fromarray(np.ascontiguousarray(a[:, :, 0]) if a.shape[2] == 1 else a)  # dtype/shape give L or RGB
