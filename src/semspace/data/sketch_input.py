"""Query drawings as a sketch domain is trained on (SSGN's, ``tasks/ssgn.py``): dark strokes on a white background.

``semspace search --sketch`` reads any size, greyscale or RGB (the domain's preprocessing resizes and converts);
this module then looks at the model input itself (``(B, C, H, W)``, undone to pixels with the preprocessing's
mean and std), so it applies wherever the task embeds a sketch (search, the service, classification):

* the background is the per-channel median of the 2-pixel border; a **dark background** (grey median below 0.5:
  chalk on a blackboard, an inverted canvas export, QuickDraw's white-on-black bitmaps) is **inverted**, not refused;
* a **blank** drawing (under 0.1% of the pixels differ from the background by more than 0.08: faint pencil lines
  shrunk to the model's size still count) is a ``DataError``;
* a **photo given as a sketch** is a ``DataError`` when it shows what a line drawing never has (``sketch_report``):
  a strongly coloured background (its border median's channels spread by more than 0.16), a border that is not
  plain (over 35% of the border pixels differ from the background by more than 0.12), or smooth regions of a
  third tone (over 1.5% of the picture, shrunk to 64 px, is flat (3x3 range under 0.1), differs from the
  background, and lies more than 0.15 from both of its two commonest flat colours: a drawing's flat regions are its
  background and its inks).
  How much ink a drawing has, how thick its lines are and which way round it is do not matter.

Calibrated (``tests/data/test_sketch_input.py`` and docs/ssgn.md): 324 line drawings drawn with PIL (1-2 pens,
2-35 strokes plus hatching, widths 0.4-9% of the side, 28-640 px, black-on-white, white-on-black and coloured inks)
and 200 world sketches are all accepted at 32, 96 and 224 px, the densest with margin 0.25 / 0.35 on the border
rule and 0.0024 / 0.015 on the tone rule; 47% of 200 world photos and 66% of 112 real photos and crops
(scikit-image's and scikit-learn's sample images) are refused at 96 px (41% / 62% at 32 px, 47% / 72% at 224
px). A photo of an object on a plain white or black background cannot be told from a filled drawing by these rules
and passes. The check is
skipped with ``check=False`` (``semspace search --no-sketch-check``; training and evaluation never check).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from semspace.data.preprocess import PreprocessCfg
from semspace.errors import DataError

BLANK_DIFF, BLANK_FRACTION = 0.08, 1e-3  # a stroke pixel differs from the background by > 0.08; blank: < 0.1% of them
BG_CHROMA = 0.16  # a background whose channels spread more than this is coloured (paper and canvases are not)
BORDER_DIFF, BORDER_FRACTION = 0.12, 0.35  # a border pixel off the background; a plain border has under 35% of them
FLAT_RANGE, TONE_TOL, THIRD_TONE = 0.1, 0.15, 0.015  # flat: 3x3 range < 0.1; third tone: > 0.15 off both inks
TONE_SIDE = 64  # the tone rule reads the picture area-shrunk to 64 px: an upscaled small bitmap's soft edges (a 28 px
# QuickDraw drawing read at 224 px) are ramps many pixels long, flat at 3x3 at full size, not at 64 px


@dataclass
class SketchReport:
    """What ``sketch_report`` measured on one drawing (fractions of its pixels, of its border pixels)."""

    background: float  # grey level of the background (median of the border), before any inversion
    ink: float  # fraction of pixels off the background by more than BLANK_DIFF
    background_chroma: float  # spread of the background's channels
    busy_border: float  # fraction of the border off the background by more than BORDER_DIFF
    third_tone: float  # fraction of the picture in flat regions of a third tone

    @property
    def blank(self) -> bool:
        return self.ink < BLANK_FRACTION

    def photo_reasons(self) -> list[str]:
        """Why this looks like a photo (empty: it may be a drawing)."""
        out = []
        if self.background_chroma > BG_CHROMA:
            out.append(f"its background is coloured (channel spread {self.background_chroma:.2f} > {BG_CHROMA})")
        if self.busy_border > BORDER_FRACTION:
            out.append(f"{100 * self.busy_border:.0f}% of its border is not plain background "
                       f"(a drawing: under {100 * BORDER_FRACTION:.0f}%)")  # fmt: skip
        if self.third_tone > THIRD_TONE:
            out.append(f"{100 * self.third_tone:.1f}% of it is flat regions of tones other than the background and "
                       f"two inks (a drawing: under {100 * THIRD_TONE:.1f}%)")  # fmt: skip
        return out


def _pixels(x: torch.Tensor, pre: PreprocessCfg) -> torch.Tensor:
    mean = torch.tensor(pre.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(pre.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return x * std + mean  # (B, C, H, W) in [0, 1]


def _border(t: torch.Tensor, e: int) -> torch.Tensor:
    """``(B, C, H, W)`` -> the ``e``-pixel border ``(B, C, N)``."""
    return torch.cat([t[:, :, :e].flatten(2), t[:, :, -e:].flatten(2), t[:, :, :, :e].flatten(2),
                      t[:, :, :, -e:].flatten(2)], dim=2)  # fmt: skip


def _third_tone(flat_px: torch.Tensor, n_pixels: int) -> float:
    """Fraction of the picture among ``flat_px (N, C)`` (its flat, non-background pixels) that lies more than
    TONE_TOL from both of the two commonest flat colours (1/8-quantised modes, refined by their means)."""
    rest = flat_px
    for _ in range(2):
        if not len(rest):
            break
        q = (rest.clamp(0, 1) * 7.999).floor().long()  # (N, C) bins of 1/8
        key = q[:, 0] * 64 + (q[:, 1] * 8 + q[:, 2] if q.shape[1] == 3 else 0)  # (N,)
        centre = rest[key == torch.mode(key).values].mean(dim=0)  # (C,)
        rest = rest[(rest - centre).abs().amax(dim=1) > TONE_TOL]
    return len(rest) / n_pixels


def sketch_report(x: torch.Tensor, pre: PreprocessCfg) -> list[SketchReport]:
    """One ``SketchReport`` per model input of ``x (B, C, H, W)`` (module docstring)."""
    px = _pixels(x, pre)
    e = max(1, min(2, min(px.shape[-2:]) // 4))
    border = _border(px, e)  # (B, C, N)
    bg = border.median(dim=2).values  # (B, C)
    grey_dist = (px.mean(dim=1) - bg.mean(dim=1)[:, None, None]).abs()  # (B, H, W)
    small = px if max(px.shape[-2:]) <= TONE_SIDE else F.adaptive_avg_pool2d(px, TONE_SIDE)  # (B, C, h, w)
    dist = (small - bg[:, :, None, None]).abs().amax(dim=1)  # (B, h, w) farthest channel
    local = (F.max_pool2d(small, 3, 1, 1) + F.max_pool2d(-small, 3, 1, 1)).amax(dim=1)  # (B, h, w) 3x3 range
    flat = (dist > BORDER_DIFF) & (local < FLAT_RANGE)  # (B, h, w)
    busy = ((border - bg[:, :, None]).abs().amax(dim=1) > BORDER_DIFF).float().mean(dim=1)  # (B,)
    n = small.shape[-1] * small.shape[-2]
    return [
        SketchReport(
            background=float(bg[b].mean()),
            ink=float((grey_dist[b] > BLANK_DIFF).float().mean()),
            background_chroma=float(bg[b].amax() - bg[b].amin()),
            busy_border=float(busy[b]),
            third_tone=_third_tone(small[b].permute(1, 2, 0)[flat[b]], n),
        )  # fmt: skip
        for b in range(len(px))
    ]


def check_sketches(x: torch.Tensor, pre: PreprocessCfg) -> None:
    """Refuses blank drawings and photos given as drawings (module docstring).

    Raises:
        DataError: the first refused picture of the batch, with the reasons and how to skip the check.
    """
    for r in sketch_report(x, pre):
        if r.blank:
            raise DataError("the sketch is blank: no strokes differ from its background; draw something and retry")
        reasons = r.photo_reasons()
        if reasons:
            raise DataError(
                f"this looks like a photo, not a line drawing: {'; '.join(reasons)}. Give a line drawing on a plain "
                "background, or skip this check (semspace search/classify --no-sketch-check; the service's "
                "sketch_check=false)"
            )


def normalize_sketches(x: torch.Tensor, pre: PreprocessCfg, *, check: bool = True) -> torch.Tensor:
    """``(B, C, H, W)`` model inputs with dark backgrounds inverted (module docstring); same shape and scaling."""
    if check:
        check_sketches(x, pre)
    mean = torch.tensor(pre.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(pre.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    px = x * std + mean  # (B, C, H, W)
    grey = px.mean(dim=1)  # (B, H, W)
    e = max(1, min(2, min(grey.shape[-2:]) // 4))
    bg = _border(grey[:, None], e)[:, 0].median(dim=1).values  # (B,)
    dark = (bg < 0.5).view(-1, 1, 1, 1)  # (B, 1, 1, 1)
    inverted = ((1.0 - px) - mean) / std
    return torch.where(dark, inverted, x)
