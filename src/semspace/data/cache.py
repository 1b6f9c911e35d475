"""CachedDataset: materialise a (procedurally rendered) dataset in memory once, then serve it for free.

World items are pure functions of (seed, split, index), so rendering them once and reusing the tensors
over many epochs changes nothing but the speed. Filling uses DataLoader workers in parallel; the cache is
stored column-wise (one ``(N, ...)`` tensor per key, lists for strings), which keeps memory compact and
holds no per-item shared-memory handles from the workers.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from semspace.data.collate import collate_dicts


class CachedDataset(Dataset):
    """Holds every item of ``dataset`` in memory (fine for the world's 32-64 px views).

    Args:
        dataset: any map-style dataset of dict items with the same keys.
        num_workers: processes used to fill the cache.
        batch_size: items rendered per worker task while filling.
        progress: show a progress bar while filling.
    """

    in_memory = True  # the engine reads it without DataLoader workers

    def __init__(self, dataset: Dataset, *, num_workers: int = 0, batch_size: int = 64, progress: bool = False) -> None:
        self.dataset = dataset
        n = len(dataset)  # type: ignore[arg-type]
        loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, collate_fn=collate_dicts)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n, desc="render", unit="item", dynamic_ncols=True)
        parts: dict[str, list[Any]] = {}
        for batch in loader:
            for key, value in batch.items():
                parts.setdefault(key, []).append(value.clone() if torch.is_tensor(value) else value)
            if bar is not None:
                bar.update(len(next(iter(batch.values()))))
        if bar is not None:
            bar.close()
        self.columns: dict[str, Any] = {}
        for key, chunks in parts.items():
            if torch.is_tensor(chunks[0]):
                self.columns[key] = torch.cat(chunks)  # (N, ...)
            elif isinstance(chunks[0], list):
                self.columns[key] = [v for chunk in chunks for v in chunk]
            else:
                raise TypeError(f"CachedDataset cannot cache key {key!r} of type {type(chunks[0]).__name__}")
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return {key: col[idx] for key, col in self.columns.items()}

    def __getattr__(self, name: str) -> Any:
        if name in ("dataset", "columns", "n", "in_memory"):
            raise AttributeError(name)
        return getattr(self.dataset, name)  # vocabulary(), etc. of the wrapped dataset
