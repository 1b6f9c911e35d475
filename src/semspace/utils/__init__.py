"""Tiny helpers: atomic writes, seeding, device resolution."""

from semspace.utils.device import resolve_device as resolve_device
from semspace.utils.io import atomic_write as atomic_write
from semspace.utils.io import atomic_write_bytes as atomic_write_bytes
from semspace.utils.io import atomic_write_text as atomic_write_text
from semspace.utils.seed import seed_everything as seed_everything

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "resolve_device", "seed_everything"]
