"""Pure metrics of image translation (EGSC-IT, arXiv:1805.11145): images are ``(N, C, H, W)`` floats in [0, 1].

* ``ssim_psnr``: SSIM and PSNR of each prediction against its ground truth, from scikit-image
  (``skimage.metrics.structural_similarity`` with ``channel_axis``, ``peak_signal_noise_ratio``, data range 1),
  averaged over images; EGSC-IT reports SSIM against the synthetic ground truth of MNIST-Single;
  ``ssim_psnr_per_image`` gives the per-image values (the per-group rows of the protocol average subsets of them);
* ``colour_stats`` / ``style_distance``: the per-channel mean and standard deviation of each image (6 numbers for
  RGB) and the mean absolute difference of these statistics between two image sets, pair by pair (a translation and
  its exemplar): how much of the exemplar's colour style the translation carries;
* ``diversity``: the mean L1 distance between the translations of one content image under different exemplars
  (``(N, E, C, H, W)``: all E (E - 1) / 2 pairs per content, averaged).
"""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange


def ssim_psnr(pred: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """Mean SSIM and mean PSNR (dB) of ``pred`` against ``target``, both ``(N, C, H, W)`` in [0, 1].

    Identical images have PSNR ``inf``; their PSNR is capped at 100 dB so that a mean stays finite.
    """
    ssims, psnrs = ssim_psnr_per_image(pred, target)
    return float(np.mean(ssims)), float(np.mean(psnrs))


def ssim_psnr_per_image(pred: torch.Tensor, target: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """SSIM and PSNR (dB, capped at 100) of each image of ``pred`` against ``target``: two ``(N,)`` arrays."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    if pred.shape != target.shape:
        raise ValueError(f"ssim_psnr: shapes differ, {tuple(pred.shape)} vs {tuple(target.shape)}")
    p = rearrange(pred.detach().double().clamp(0, 1).cpu(), "n c h w -> n h w c").numpy()  # (N, H, W, C)
    t = rearrange(target.detach().double().clamp(0, 1).cpu(), "n c h w -> n h w c").numpy()
    ssims, psnrs = [], []
    for a, b in zip(p, t, strict=True):
        win = min(7, a.shape[0], a.shape[1])
        win -= 1 - win % 2  # an odd window no larger than the image
        ssims.append(structural_similarity(b, a, data_range=1.0, channel_axis=-1, win_size=win))
        with np.errstate(divide="ignore"):
            psnrs.append(min(float(peak_signal_noise_ratio(b, a, data_range=1.0)), 100.0))
    return np.asarray(ssims, dtype=np.float64), np.asarray(psnrs, dtype=np.float64)  # (N,), (N,)


def colour_stats(x: torch.Tensor) -> torch.Tensor:
    """Per-channel mean and population std of each image of ``x (N, C, H, W)``: ``(N, 2C)``."""
    flat = rearrange(x.float(), "n c h w -> n c (h w)")  # (N, C, HW)
    return torch.cat([flat.mean(-1), flat.std(-1, unbiased=False)], dim=1)  # (N, 2C)


def style_distance(x: torch.Tensor, exemplar: torch.Tensor) -> float:
    """Mean absolute difference between the colour statistics of ``x`` and of ``exemplar``, pair by pair."""
    return float((colour_stats(x) - colour_stats(exemplar)).abs().mean())


def diversity(translations: torch.Tensor) -> float:
    """Mean pairwise L1 distance between translations ``(N, E, C, H, W)`` of the same content (E >= 2)."""
    n, e = translations.shape[:2]
    if e < 2:
        raise ValueError("diversity needs at least 2 exemplars per content image")
    flat = rearrange(translations.float(), "n e c h w -> n e (c h w)")  # (N, E, CHW)
    d = torch.cdist(flat, flat, p=1) / flat.shape[-1]  # (N, E, E) mean absolute difference
    iu = torch.triu_indices(e, e, offset=1)
    return float(d[:, iu[0], iu[1]].mean())
