"""Pictures for reports: retrieval result grids (a query, then its top-k results; hits framed green)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from semspace.utils.io import atomic_write

HIT, MISS, QUERY, NEUTRAL = (40, 170, 60), (200, 50, 50), (60, 90, 200), (150, 150, 150)


def _to_pil(img: torch.Tensor | np.ndarray | Image.Image) -> Image.Image:
    """(3, H, W) float in [0, 1] tensor, (H, W, 3) uint8 array or PIL image -> RGB PIL image."""
    if isinstance(img, Image.Image):
        return img.convert("RGB")
    if isinstance(img, torch.Tensor):
        arr = (img.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()  # (H, W, 3)
        return Image.fromarray(arr)
    return Image.fromarray(np.asarray(img, dtype=np.uint8))


def retrieval_grid(
    queries: Sequence[torch.Tensor | np.ndarray | Image.Image],
    results: Sequence[Sequence[torch.Tensor | np.ndarray | Image.Image]],
    hits: Sequence[Sequence[bool | None]],
    *,
    scores: Sequence[Sequence[float]] | None = None,
    captions: Sequence[str] | None = None,
    cell: int = 96,
    border: int = 4,
) -> Image.Image:
    """One row per query: the query (blue frame), then its ranked results (green = relevant, red = not).

    Args:
        queries: Q query images.
        results: for each query, its top-k result images in rank order.
        hits: for each query, whether each result is relevant (None: unknown, a grey frame).
        scores: optional similarity of each result, printed under it.
        captions: optional text per query, printed above its row (e.g. the modification).
        cell: side of each thumbnail in pixels.
        border: frame width in pixels.
    """
    k = max(len(r) for r in results)
    font = ImageFont.load_default()
    gap, text_h = 8, 14
    head = text_h if captions else 0  # a full-width caption band above each row
    w = (k + 1) * (cell + gap) + gap + gap
    row_h = head + cell + text_h + gap
    sheet = Image.new("RGB", (w, len(queries) * row_h + gap), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    for r, query in enumerate(queries):
        y = gap + r * row_h
        if captions:
            draw.text((gap, y), captions[r][: w // 6], fill=(30, 30, 30), font=font)
            y += head
        _paste(sheet, draw, _to_pil(query), gap, y, cell, border, QUERY)
        for c, (res, hit) in enumerate(zip(results[r], hits[r], strict=True)):
            x = gap + (c + 1) * (cell + gap) + gap
            _paste(sheet, draw, _to_pil(res), x, y, cell, border, NEUTRAL if hit is None else HIT if hit else MISS)
            if scores is not None:
                draw.text((x, y + cell + 1), f"{c + 1}: {scores[r][c]:.3f}", fill=(30, 30, 30), font=font)
    return sheet


def _paste(sheet: Image.Image, draw: ImageDraw.ImageDraw, img: Image.Image, x: int, y: int, cell: int,
           border: int, color: tuple[int, int, int]) -> None:  # fmt: skip
    draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=color)
    inner = cell - 2 * border
    sheet.paste(img.resize((inner, inner), Image.Resampling.LANCZOS), (x + border, y + border))


def save_figure(img: Image.Image, path: str | Path) -> Path:
    """Writes a PNG atomically."""
    with atomic_write(path) as tmp:
        img.save(tmp, format="PNG")
    return Path(path)
