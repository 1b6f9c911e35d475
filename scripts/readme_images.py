"""Regenerate the pictures under docs/images/ used by the README: `python scripts/readme_images.py`."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from semspace.world import create_world
from semspace.world.preview import save_contact_sheet

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def objects_gallery(path: Path, cols: int = 17, seed: int = 5, cell: int = 64, pad: int = 2) -> None:
    """Every category once: a row of photos over a row of sketches of the same classes."""
    world = create_world("objects", seed=seed, size=cell)
    n = len(world.categories)
    rows = -(-n // cols)
    sheet = Image.new("RGB", (cols * (cell + pad), rows * 2 * (cell + pad)), "white")
    for i in range(n):
        item = world.render_item(i, "train", views=("photo", "sketch"))
        r, c = divmod(i, cols)
        sheet.paste(Image.fromarray(item["photo"]), (c * (cell + pad), r * 2 * (cell + pad)))
        sheet.paste(Image.fromarray(item["sketch"]), (c * (cell + pad), (r * 2 + 1) * (cell + pad)))
    sheet.save(path)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    save_contact_sheet("scenes", OUT / "world_scenes.png", n=6, seed=1)
    save_contact_sheet("objects", OUT / "world_objects.png", n=10, seed=2)
    save_contact_sheet("pairs", OUT / "world_pairs.png", n=6, seed=1)
    objects_gallery(OUT / "world_objects_gallery.png")
