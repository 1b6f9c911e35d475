"""Pictures for reports: retrieval result grids (a query, then its top-k results; hits framed green)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from semspace.errors import ConfigError
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
    per_row: int | None = None,
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
        per_row: at most this many results side by side; more wrap onto lines under the first (None: no wrap).
    """
    k = max([len(r) for r in results] + [1])
    cols = max(1, min(k, per_row or k))
    lines = [max(1, -(-len(r) // cols)) for r in results]  # result lines of each query
    font = ImageFont.load_default()
    gap, text_h = 8, 14
    head = text_h if captions else 0  # a full-width caption band above each row
    w = (cols + 1) * (cell + gap) + gap + gap
    line_h = cell + text_h + gap
    sheet = Image.new("RGB", (w, sum(head + n * line_h for n in lines) + gap), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    y0 = gap
    for r, query in enumerate(queries):
        y = y0
        if captions:
            draw.text((gap, y), captions[r][: w // 6], fill=(30, 30, 30), font=font)
            y += head
        _paste(sheet, draw, _to_pil(query), gap, y, cell, border, QUERY)
        for c, (res, hit) in enumerate(zip(results[r], hits[r], strict=True)):
            x = gap + (c % cols + 1) * (cell + gap) + gap
            yc = y + (c // cols) * line_h
            _paste(sheet, draw, _to_pil(res), x, yc, cell, border, NEUTRAL if hit is None else HIT if hit else MISS)
            if scores is not None:
                draw.text((x, yc + cell + 1), f"{c + 1}: {scores[r][c]:.3f}", fill=(30, 30, 30), font=font)
        y0 += head + lines[r] * line_h
    return sheet


def _paste(sheet: Image.Image, draw: ImageDraw.ImageDraw, img: Image.Image, x: int, y: int, cell: int,
           border: int, color: tuple[int, int, int]) -> None:  # fmt: skip
    draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=color)
    inner = cell - 2 * border
    sheet.paste(img.resize((inner, inner), Image.Resampling.LANCZOS), (x + border, y + border))


def translation_grid(contents: list[Image.Image], exemplars: list[Image.Image], cells: list[list[Image.Image]],
                     pad: int = 2) -> Image.Image:  # fmt: skip
    """A translation sheet: exemplars along the top, contents down the side, ``cells[i][j]`` (content ``i`` in the
    style of exemplar ``j``) at row ``i + 1``, column ``j + 1``; the top-left cell is blank; pictures of one size."""
    w, h = contents[0].size
    cols, rows = len(exemplars) + 1, len(contents) + 1
    sheet = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + pad) + pad), (255, 255, 255))

    def put(img: Image.Image, r: int, c: int) -> None:
        sheet.paste(img.convert("RGB"), (pad + c * (w + pad), pad + r * (h + pad)))

    for j, e in enumerate(exemplars):
        put(e, 0, j + 1)
    for i, c in enumerate(contents):
        put(c, i + 1, 0)
        for j, cell in enumerate(cells[i]):
            put(cell, i + 1, j + 1)
    return sheet


def save_figure(img: Image.Image, path: str | Path) -> Path:
    """Writes a picture atomically, in the format its suffix names (``.png``, ``.jpg``, ``.webp``, ...).

    Raises:
        ConfigError: the suffix names no image format Pillow writes.
    """
    target = Path(path)
    fmt = figure_format(target)
    with atomic_write(target) as tmp:
        img.convert("RGB").save(tmp, format=fmt)
    return target


def figure_format(path: str | Path) -> str:
    """The Pillow format that ``path``'s suffix names (``.jpg`` -> ``JPEG``).

    Raises:
        ConfigError: the suffix names no image format Pillow writes.
    """
    suffix = Path(path).suffix
    fmt = Image.registered_extensions().get(suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise ConfigError(f"{path}: the suffix {suffix!r} names no picture format; use .png, .jpg or .webp")
    return fmt
