"""CachedDataset: materialise a (procedurally rendered) dataset in memory once, then serve it for free.

World items are pure functions of (seed, split, index), so rendering them once and reusing the tensors
over many epochs changes nothing but the speed. Filling uses DataLoader workers in parallel.
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import DataLoader, Dataset


class CachedDataset(Dataset):
    """Holds every item of ``dataset`` in memory (fine for the world's tiny 32-64 px views).

    Args:
        dataset: any map-style dataset of dict items.
        num_workers: processes used to fill the cache.
        progress: show a progress bar while filling.
    """

    def __init__(self, dataset: Dataset, *, num_workers: int = 0, progress: bool = False) -> None:
        self.dataset = dataset
        loader = DataLoader(
            dataset, batch_size=None, batch_sampler=None, num_workers=num_workers, collate_fn=lambda x: x
        )
        if progress:
            from tqdm.auto import tqdm

            loader = tqdm(loader, total=len(dataset), desc="render", unit="item", dynamic_ncols=True)  # type: ignore[arg-type,assignment]
        self.items: list[dict[str, Any]] = list(loader)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return self.items[idx]

    def __getattr__(self, name: str) -> Any:
        if name in ("dataset", "items"):
            raise AttributeError(name)
        return getattr(self.dataset, name)  # vocabulary(), etc. of the wrapped dataset
