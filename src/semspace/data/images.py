"""Safe image loading: open, fully decode, normalise the mode, and fail with one clear ``DataError``.

Pillow opens files lazily, so a truncated PNG or a text file renamed ``.png`` only fails deep inside
a ``DataLoader`` worker with a bare traceback. ``load_image`` forces the decode (``Image.load()``) at
the call site and turns every failure into ``DataError("<file>: not a readable image ...: <reason>")``.

Mode handling (shared with ``data.transforms``) lives in ``convert_mode``: transparency (RGBA, LA, PA,
P/L/RGB with a ``transparency`` key) is composited on a background colour (``PreprocessCfg.background``),
high-bit-depth greyscale (``I;16*``, ``I``, ``F``) is rescaled to 8 bit instead of being clipped (Pillow's
own ``convert("L")`` clips 16-bit values at 255), and everything else (CMYK, YCbCr, 1-bit, palette)
goes through Pillow's conversion.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from semspace.errors import DataError
from semspace.types import INDEX_LOCK_FILE

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm",
)  # fmt: skip
"""File suffixes (lower case) that folder datasets treat as images."""

_EXPECTED = "not a readable image (PNG/JPEG/BMP/GIF/WebP/TIFF/PPM)"
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
WHITE: tuple[int, int, int] = (255, 255, 255)


def load_image(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    background: tuple[int, int, int] = WHITE,
    channels: int = 3,
    max_pixels: int | None = None,
    name: str | None = None,
) -> Image.Image:
    """Opens and fully decodes an image, returning it as RGB (or L) with transparency flattened.

    EXIF orientation is applied, so phone photos come out upright. Animated images give their
    first frame.

    Args:
        source: a path, or a binary file object (e.g. an upload wrapped in ``io.BytesIO``).
        background: RGB colour that replaces transparent pixels (``PreprocessCfg.background``).
        channels: 3 for RGB, 1 for greyscale (``PreprocessCfg.channels``).
        max_pixels: refuse images with more pixels than this (checked before decoding).
        name: how to call the source in error messages (default: the path, or ``"<stream>"``).

    Returns:
        A decoded ``PIL.Image`` in mode ``"RGB"`` (channels=3) or ``"L"`` (channels=1).

    Raises:
        DataError: the file is missing, is a folder, is not an image, is truncated or corrupt, or is
            larger than ``max_pixels``. The message names the file and what was expected.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    label = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<stream>")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise DataError(f"{label}: image file not found")
        if path.is_dir():
            raise DataError(f"{label}: is a folder; expected an image file")
    try:
        with Image.open(source) as raw:
            if max_pixels is not None and raw.width * raw.height > max_pixels:
                raise DataError(
                    f"{label}: image has {raw.width}x{raw.height} = {raw.width * raw.height} pixels; "
                    f"the limit is {max_pixels}"
                )
            raw.load()  # force the full decode here, not later in a worker
            img = ImageOps.exif_transpose(raw) or raw
            out = convert_mode(img, channels=channels, background=background)
            return raw.copy() if out is raw else out  # never hand out the image the `with` closes
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError(f"{label}: {_EXPECTED}: unknown file format") from None
    except Image.DecompressionBombError as exc:
        raise DataError(f"{label}: {_EXPECTED}: {exc}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated / corrupt streams
        raise DataError(f"{label}: {_EXPECTED}: {exc or type(exc).__name__}") from None


def convert_mode(img: Image.Image, *, channels: int = 3, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Returns ``img`` in mode ``"RGB"`` (channels=3) or ``"L"`` (channels=1).

    Args:
        img: a decoded image in any Pillow mode.
        channels: 3 or 1.
        background: RGB colour under transparent pixels.

    Raises:
        DataError: the mode cannot be converted (e.g. ``LAB``).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    target = "RGB" if channels == 3 else "L"
    if img.mode in _HIGH_DEPTH_MODES:
        img = _to_8bit(img)
    elif img.mode == "1":
        img = img.convert("L")
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        img = Image.alpha_composite(base, rgba).convert("RGB")
    if img.mode == target:
        return img
    try:
        return img.convert(target)
    except ValueError as exc:
        raise DataError(f"cannot convert image mode {img.mode!r} to {target!r}: {exc}") from None


def array_to_image(arr: np.ndarray) -> Image.Image:
    """Wraps an ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` array as a Pillow image.

    ``uint8`` is taken as is, ``uint16`` is scaled from 0..65535, ``bool`` maps to 0/255 and floats are
    read as values in [0, 1] (clipped).

    Raises:
        DataError: the array has another shape or a non-numeric dtype.
    """
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]  # (H, W)
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise DataError(f"image array has shape {a.shape}; expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = (a.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        a = (np.clip(a, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        a = np.clip(a, 0, 255).astype(np.uint8)
    else:
        raise DataError(f"image array has dtype {a.dtype}; expected uint8, uint16, bool or float in [0, 1]")
    return Image.fromarray(np.ascontiguousarray(a))  # uint8 (H, W) / (H, W, 3) / (H, W, 4): L / RGB / RGBA


def list_images(folder: str | os.PathLike[str], extensions: Iterable[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """All image files under ``folder`` (``scan_images``' regular files; what it skipped is logged)."""
    found, skipped = scan_images(folder, extensions)
    for path, reason in skipped[:10]:
        logger.warning("%s: skipped (%s)", path, reason)
    return found


def scan_images(
    folder: str | os.PathLike[str], extensions: Iterable[str] = IMAGE_EXTENSIONS
) -> tuple[list[Path], list[tuple[str, str]]]:
    """The image files under ``folder`` (recursive, sorted, hidden files and folders skipped), and what was skipped.

    Only regular files (or links to them) are listed: a FIFO, socket, device or broken link with an image suffix is
    never opened (opening a FIFO would wait forever) and comes back in ``skipped`` as ``(path, reason)``. Symlinked
    folders are not followed, so a link loop cannot hang the scan, and a semspace index folder inside ``folder``
    (one holding ``INDEX_LOCK_FILE``, or a manifest beside its database) is not read: an index built inside its own
    source never indexes its thumbnails.

    Args:
        folder: the folder to scan.
        extensions: accepted suffixes, compared case-insensitively (``".png"`` or ``"png"``).
    """
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    found: list[Path] = []
    skipped: list[tuple[str, str]] = []
    pending = [os.fspath(folder)]
    while pending:
        here = pending.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            skipped.append((here, f"cannot list the folder ({exc.strerror or exc})"))
            continue
        names = {e.name for e in entries}
        if here != os.fspath(folder) and _is_index_folder(names):
            continue
        subdirs = []
        for e in entries:
            if e.name.startswith("."):
                continue
            if e.is_dir(follow_symlinks=False):
                subdirs.append(e.path)
            elif os.path.splitext(e.name)[1].lower() in exts:
                if e.is_file():  # a regular file, or a link to one
                    found.append(Path(e.path))
                else:
                    skipped.append((e.path, _not_regular(e.path)))
        pending.extend(reversed(subdirs))  # depth first, sub-folders in name order (as os.walk visits them)
    return found, skipped  # os.walk's order: a folder's files by name, then its sub-folders, each in turn


def _is_index_folder(names: set[str]) -> bool:
    if INDEX_LOCK_FILE in names:
        return True
    return "manifest.json" in names and ("items.sqlite" in names or any(n.startswith("gen-") for n in names))


def _not_regular(path: str) -> str:
    """Why ``path`` is not read: what kind of file it is."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a broken link, not a regular file: never opened"
    except OSError as exc:
        return f"cannot be inspected ({exc.strerror or exc}): never opened"
    for test, what in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):  # fmt: skip
        if test(mode):
            return f"{what}, not a regular file: never opened"
    return "not a regular file: never opened"


def _to_8bit(img: Image.Image) -> Image.Image:
    """16/32-bit integer greyscale is scaled from 0..65535; float greyscale from [0, 1] (or clipped 0..255)."""
    a = np.asarray(img).astype(np.float64)  # (H, W)
    if img.mode == "F":
        a = a * 255.0 if a.size and np.nanmax(a) <= 1.0 else a
    else:
        a = a / 257.0
    a = np.nan_to_num(np.clip(a, 0.0, 255.0))
    return Image.fromarray(a.round().astype(np.uint8))  # uint8 (H, W): mode L
