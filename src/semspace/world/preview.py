"""Contact sheets: a grid of the same items in every view, so a person can look at the world.

Rows are items, columns are the kind's image views; text views are printed beside each row.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from semspace.utils.io import atomic_write
from semspace.world import create_world


def contact_sheet(
    kind: str,
    *,
    n: int = 8,
    seed: int = 0,
    size: int = 64,
    split: str = "train",
    cell: int = 96,
    text_width: int = 420,
    start: int = 0,
    views: tuple[str, ...] | None = None,
    **kwargs: object,
) -> Image.Image:
    """Renders items ``start .. start+n-1`` of ``kind`` as one RGB image (rows = items, columns = views)."""
    world = create_world(kind, seed=seed, size=size, **kwargs)
    image_views = tuple(v for v in (views or world.image_views) if v in world.image_views)
    text_views = tuple(v for v in world.views if v not in world.image_views)
    font = ImageFont.load_default()
    pad, header, line_h = 6, 22, 12
    tw = text_width if text_views else 0
    width = pad + len(image_views) * (cell + pad) + tw
    height = header + n * (cell + pad) + pad
    sheet = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    for c, view in enumerate(image_views):
        draw.text((pad + c * (cell + pad), 4), view, fill=(20, 20, 20), font=font)
    if text_views:
        draw.text((pad + len(image_views) * (cell + pad), 4), " / ".join(text_views), fill=(20, 20, 20), font=font)
    for r in range(n):
        idx = start + r
        item = world.render_item(idx, split)
        y = header + r * (cell + pad)
        for c, view in enumerate(image_views):
            arr = item[view]
            assert isinstance(arr, np.ndarray)
            tile = Image.fromarray(arr).resize((cell, cell), Image.Resampling.LANCZOS)
            sheet.paste(tile, (pad + c * (cell + pad), y))
        if text_views:
            lines: list[str] = []
            for view in text_views:
                lines += textwrap.wrap(f"{view}: {item[view]}", width=max(20, tw // 6))
            fit = max(1, cell // line_h)
            if len(lines) > fit:  # never spill into the next row
                lines = lines[: fit - 1] + [lines[fit - 1][: max(0, tw // 6 - 3)] + "..."]
            x = pad + len(image_views) * (cell + pad)
            for i, line in enumerate(lines):
                draw.text((x, y + i * line_h), line, fill=(40, 40, 40), font=font)
    return sheet


def save_contact_sheet(kind: str, out: str | Path, **kwargs: object) -> Path:
    """Writes ``contact_sheet(kind, **kwargs)`` to ``out`` (PNG, atomically)."""
    out = Path(out)
    with atomic_write(out) as tmp:
        contact_sheet(kind, **kwargs).save(tmp, format="PNG")  # type: ignore[arg-type]
    return out
