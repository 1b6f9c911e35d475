"""Thumbnails of an index: one small PNG per content, shared by every generation (``thumbs/ab/<hash>.png``).

A thumbnail is named by its content hash, so it is written once (atomically) and never overwritten by another
content's. Indexes of semspace 0.1.0 and 0.2 kept ``thumbs/<id>.png``; those are read until the item's content
changes. Clean-up (``prune``) removes the thumbnails of hashes that neither the current generation, a generation
still read by some process, nor an unfinished build refers to.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from semspace.index.store import ItemStore
from semspace.utils.io import atomic_write_bytes

THUMB_MAX_SIDE = 128


def thumbnail_png(img: Image.Image, max_side: int = THUMB_MAX_SIDE) -> bytes:
    """``img`` shrunk to at most ``max_side`` pixels a side (aspect kept, never enlarged), as PNG bytes."""
    thumb = img.convert("RGB") if img.mode not in ("RGB", "L") else img.copy()
    thumb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, format="PNG")
    return buf.getvalue()


class Thumbnails:
    """The ``thumbs/`` folder of an index ``root``."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "thumbs"

    def path_of(self, content_hash: str) -> Path:
        return self.folder / content_hash[:2] / f"{content_hash}.png"

    def find(self, item_id: int, content_hash: str) -> Path | None:
        """The thumbnail file of an item (under its content hash, else the old ``thumbs/<id>.png``), or None."""
        for p in (self.path_of(content_hash), self.folder / f"{int(item_id)}.png"):
            if p.is_file():
                return p
        return None

    def write(self, content_hash: str, img: Image.Image | bytes) -> None:
        """Stores the thumbnail of a content (a picture, shrunk here, or PNG bytes from ``thumbnail_png``) once."""
        target = self.path_of(content_hash)
        if not target.is_file():
            atomic_write_bytes(target, img if isinstance(img, bytes) else thumbnail_png(img))

    def prune(self, keep_hashes: set[str], store: ItemStore) -> int:
        """Deletes the thumbnails of hashes outside ``keep_hashes`` and the old ``thumbs/<id>.png`` files whose id
        is no item of ``store`` or whose content has a hashed thumbnail; returns how many."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        old_ids: dict[int, str] | None = None  # id -> content hash, read only when an old thumbs/<id>.png is there
        for entry in os.scandir(self.folder):
            if entry.is_dir(follow_symlinks=False):
                left = 0
                for f in os.scandir(entry.path):  # thumbs/ab/<hash>.png
                    stem, _, ext = f.name.partition(".")
                    if f.is_file(follow_symlinks=False) and ext == "png" and stem in keep_hashes:
                        left += 1
                    else:
                        _unlink(f.path)
                        removed += 1
                if not left:
                    _rmdir(entry.path)
                continue
            stem = entry.name.removesuffix(".png")  # thumbs/<id>.png of formats 1-2, until the content changes
            if old_ids is None:
                old_ids = {int(i["id"]): str(i["content_hash"]) for i in store.iter_items()}
            if not (stem.isdigit() and int(stem) in old_ids and not self.path_of(old_ids[int(stem)]).is_file()):
                _unlink(entry.path)
                removed += 1
        return removed


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _rmdir(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:  # a thumbnail was written into it meanwhile (a build adds thumbnails before it saves)
        pass
