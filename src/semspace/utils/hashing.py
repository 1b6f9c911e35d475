"""Stable ids of canonical key strings: the int64 labels of composed-retrieval items (world scenes, CSS3D, ...)."""

from __future__ import annotations

import hashlib


def stable_int(key: str) -> int:
    """A stable non-negative int64 id for a canonical key string (scene equality, class name, caption).

    The id is the first 8 bytes of ``blake2b(key)`` (little endian) shifted right by one bit, so it is the same in
    every process, platform and Python version (unlike ``hash``) and fits a signed int64 tensor.

    Example:
        >>> stable_int("a") == stable_int("a") and 0 <= stable_int("a") < 2**63
        True
    """
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little") >> 1
