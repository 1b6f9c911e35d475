"""Query drawings as a sketch domain is trained on (SSGN's, ``tasks/ssgn.py``): dark strokes on a white background.

``semspace search --sketch`` reads any size, greyscale or RGB (the domain's preprocessing resizes and converts);
this module then looks at the model input itself (``(B, C, H, W)``, undone to pixels with the preprocessing's
mean and std), so it applies wherever the task embeds a sketch (search, the service, evaluation):

* the background is the median of the 2-pixel border; a **dark background** (below 0.5: chalk on a blackboard, an
  inverted canvas export) is **inverted**, not refused;
* a **blank** drawing (under 0.1% of the pixels differ from the background by more than 0.16) is a ``DataError``;
* a **photo given as a sketch** (under 70% of the pixels within 0.12 of the background, or over 15% strongly
  coloured) is a ``DataError``. Calibrated on the world: 100 sketches have 84-97% background pixels and no colour;
  about 55% of the world's photos are caught. A photo on a plain grey background with little colour cannot be told
  from a drawing by these rules and passes.
"""

from __future__ import annotations

import torch

from semspace.data.preprocess import PreprocessCfg
from semspace.errors import DataError


def normalize_sketches(x: torch.Tensor, pre: PreprocessCfg, *, check: bool = True) -> torch.Tensor:
    """``(B, C, H, W)`` model inputs with dark backgrounds inverted (module docstring); same shape and scaling."""
    mean = torch.tensor(pre.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(pre.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    px = x * std + mean  # (B, C, H, W) in [0, 1]
    grey = px.mean(dim=1)  # (B, H, W)
    e = max(1, min(2, min(grey.shape[-2:]) // 4))
    border = torch.cat([grey[:, :e].flatten(1), grey[:, -e:].flatten(1), grey[:, :, :e].flatten(1),
                        grey[:, :, -e:].flatten(1)], dim=1)  # fmt: skip
    bg = border.median(dim=1).values  # (B,)
    dist = (grey - bg[:, None, None]).abs()  # (B, H, W)
    if check:
        blank = (dist > 0.16).float().mean(dim=(1, 2)) < 1e-3  # (B,)
        if bool(blank.any()):
            raise DataError("the sketch is blank: no strokes differ from its background; draw something and retry")
        near_bg = (dist < 0.12).float().mean(dim=(1, 2))  # (B,)
        coloured = ((px.amax(dim=1) - px.amin(dim=1)) > 0.16).float().mean(dim=(1, 2))  # (B,)
        photo = (near_bg < 0.7) | (coloured > 0.15)
        if bool(photo.any()):
            i = int(photo.nonzero()[0])
            raise DataError(
                f"this looks like a photo, not a sketch ({100 * (1 - float(near_bg[i])):.0f}% of its pixels differ "
                f"from the background, {100 * float(coloured[i]):.0f}% are coloured); give a line drawing on a plain "
                "background, or search with --image"
            )
    dark = (bg < 0.5).view(-1, 1, 1, 1)  # (B, 1, 1, 1)
    inverted = ((1.0 - px) - mean) / std
    return torch.where(dark, inverted, x)
