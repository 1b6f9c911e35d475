"""Stable ids of canonical key strings (the int64 labels of composed-retrieval items) and file digests."""

from __future__ import annotations

import hashlib
import os


def stable_int(key: str) -> int:
    """A stable non-negative int64 id for a canonical key string (scene equality, class name, caption).

    The id is the first 8 bytes of ``blake2b(key)`` (little endian) shifted right by one bit, so it is the same in
    every process, platform and Python version (unlike ``hash``) and fits a signed int64 tensor.

    Example:
        >>> stable_int("a") == stable_int("a") and 0 <= stable_int("a") < 2**63
        True
    """
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little") >> 1


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read ``chunk`` bytes at a time (a checkpoint's identity in indexes and records)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
