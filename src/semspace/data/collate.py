"""Collate for dict batches (DESIGN §4, STYLE D.15).

``collate_dicts`` stacks tensors, arrays and numbers, keeps strings (and anything else) as lists and
recurses into nested dicts; it pads nothing. Text is tokenised and padded later by the task through
``WordTokenizer.batch_encode``, which uses ``pad_sequences`` below. A shape disagreement names the key
and both items, so a missing resize is found at once.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from semspace.errors import DataError

__all__ = ["collate_dicts", "pad_sequences"]


def collate_dicts(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Turns a list of dataset items into one batch dict.

    Per key: tensors and numpy arrays are stacked into ``(B, ...)``; Python/numpy ints and bools
    become int64/bool ``(B,)`` tensors, floats (or ints mixed with floats) float32 ``(B,)``; nested
    dicts are collated recursively; strings, ``None`` and everything else stay a list of length B.

    Args:
        items: the items of one batch, each a dict with the same keys.

    Returns:
        The batch dict.

    Raises:
        DataError: the items have different keys, or one key has values of different kinds or shapes
            (the message names the key and the first disagreeing item).
    """
    if len(items) == 0:
        raise DataError("collate_dicts got an empty batch")
    keys = list(items[0].keys())
    for i, item in enumerate(items[1:], start=1):
        if set(item.keys()) != set(keys):
            missing, extra = sorted(set(keys) - set(item)), sorted(set(item) - set(keys))
            raise DataError(f"batch item {i} has different keys than item 0: missing {missing}, extra {extra}")
    return {k: _collate_values(k, [item[k] for item in items]) for k in keys}


def _collate_values(key: str, values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, np.ndarray) and first.dtype.kind in "biufc":
        values = [torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v for v in values]
        first = values[0]
    if isinstance(first, torch.Tensor):
        for i, v in enumerate(values):
            if not isinstance(v, torch.Tensor):
                raise DataError(f"key {key!r}: item {i} is a {type(v).__name__}, item 0 is a tensor")
            if v.shape != first.shape:
                raise DataError(f"key {key!r}: item {i} has shape {tuple(v.shape)}, item 0 has {tuple(first.shape)}")
        return torch.stack(values)  # (B, ...)
    if isinstance(first, Mapping):
        for i, v in enumerate(values):
            if not isinstance(v, Mapping) or set(v) != set(first):
                raise DataError(f"key {key!r}: item {i} is not a dict with the keys {sorted(first)} of item 0")
        return {k: _collate_values(f"{key}.{k}", [v[k] for v in values]) for k in first}
    if _is_number(first):
        for i, v in enumerate(values):
            if not _is_number(v):
                raise DataError(f"key {key!r}: item {i} is a {type(v).__name__}, item 0 is a number")
        if all(isinstance(v, (bool, np.bool_)) for v in values):
            return torch.tensor([bool(v) for v in values], dtype=torch.bool)  # (B,)
        if all(isinstance(v, (numbers.Integral, np.bool_)) for v in values):
            return torch.tensor([int(v) for v in values], dtype=torch.int64)  # (B,)
        return torch.tensor([float(v) for v in values], dtype=torch.float32)  # (B,)
    return list(values)


def _is_number(v: Any) -> bool:
    return isinstance(v, (numbers.Number, np.bool_)) and not isinstance(v, complex)


def pad_sequences(seqs: Sequence[Sequence[int]], pad_value: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pads integer sequences into one tensor.

    Args:
        seqs: B sequences of token ids.
        pad_value: the id written after each sequence's end.

    Returns:
        ``(ids, lengths)``: int64 ``(B, L)`` with ``L = max(1, longest)`` (a batch of empty texts still
        has one column), and int64 ``(B,)`` true lengths (0 for an empty sequence).
    """
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)  # (B,)
    width = max(1, int(lengths.max()) if len(seqs) else 1)
    out = torch.full((len(seqs), width), pad_value, dtype=torch.int64)  # (B, L)
    for i, s in enumerate(seqs):
        if len(s):
            out[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.int64)
    return out, lengths
