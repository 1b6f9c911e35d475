"""Uploaded pictures: the bytes are sniffed (never the client's content type or file name), the size is read from
the header before anything is decoded (decompression bombs refused), then the picture is decoded or handed on.

Only formats whose first bytes say so are accepted: PNG, JPEG, GIF, WebP, BMP, TIFF. Everything else is a 415.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from semspace.data.images import load_image
from semspace.service.errors import ServiceError

ACCEPTED = "PNG, JPEG, GIF, WebP, BMP or TIFF"
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
MEDIA_TYPE = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp",
              "BMP": "image/bmp", "TIFF": "image/tiff"}  # fmt: skip


def sniff_format(head: bytes) -> str | None:
    """The Pillow format name that the first bytes of a file announce, or None when it is none of ``ACCEPTED``."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return None


@dataclass(frozen=True)
class Picture:
    """A checked upload: its bytes, sniffed format, size and a name for messages."""

    data: bytes
    format: str
    width: int
    height: int
    name: str

    def decode(self, *, background: tuple[int, int, int] = (255, 255, 255), channels: int = 3,
               max_pixels: int | None = None) -> Image.Image:  # fmt: skip
        """The decoded picture (``DataError`` naming the upload when it is truncated or corrupt)."""
        return load_image(io.BytesIO(self.data), background=background, channels=channels, max_pixels=max_pixels,
                          name=self.name)  # fmt: skip

    @contextmanager
    def as_file(self) -> Iterator[Path]:
        """The bytes in a temporary file (removed afterwards): a search given a path leaves out an indexed copy of
        the same file (``Searcher``'s query exclusion hashes a path's bytes)."""
        fd, name = tempfile.mkstemp(prefix="semspace-upload-", suffix=SUFFIX[self.format])
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.data)
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)


def check_picture(data: bytes, *, field: str, filename: str | None, max_pixels: int) -> Picture:
    """Sniffs and measures an uploaded picture without decoding it.

    Raises:
        ServiceError: 400 empty, 415 not an accepted picture format, 413 more pixels than ``max_pixels``.
    """
    name = f"{field} {filename!r}" if filename else field
    if not data:
        raise ServiceError(400, f"{name} is empty; expected a picture ({ACCEPTED})")
    fmt = sniff_format(data[:16])
    if fmt is None:
        raise ServiceError(415, f"{name} is not a picture: its bytes are none of {ACCEPTED}")
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:  # reads the header only
            width, height = img.size
    except Image.DecompressionBombError as exc:
        raise ServiceError(413, f"{name} is too large to decode ({exc}); the limit is {max_pixels} pixels") from None
    except Exception as exc:  # noqa: BLE001 - any header Pillow cannot read is the client's broken file
        raise ServiceError(
            400, f"{name}: a {fmt} whose header cannot be read ({exc}); expected a valid picture"
        ) from None
    if width * height > max_pixels:
        raise ServiceError(
            413, f"{name} is {width}x{height} = {width * height} pixels; the limit is {max_pixels} (scale it down)"
        )
    return Picture(data=data, format=fmt, width=width, height=height, name=name)
