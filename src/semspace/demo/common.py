"""What the demo's sections share: stacking grids, finding the shipped configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def stack(pictures: list[Any]) -> Any:
    """``pictures`` one under the other on white (the sections' grids of several queries)."""
    from PIL import Image

    sheet = Image.new("RGB", (max(p.width for p in pictures), sum(p.height for p in pictures)), (255, 255, 255))
    y = 0
    for p in pictures:
        sheet.paste(p, (0, y))
        y += p.height
    return sheet


def project_file(rel: str) -> Path:
    """A shipped file (``configs/...``) of the project, found from the working directory or the source tree."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (root / rel).is_file():
            return root / rel
    raise FileNotFoundError(f"{rel} not found; run the demo from the project root")
