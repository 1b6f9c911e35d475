import torch

from semspace.data.cache import CachedDataset
from semspace.world.scenes.dataset import SceneTripletDataset


def test_cache_serves_exactly_the_rendered_items() -> None:
    ds = SceneTripletDataset(seed=1, split="val", n=10, size=24, view="blobs2d", paired_view="render3d")
    cached = CachedDataset(ds, num_workers=2, batch_size=4)
    assert len(cached) == 10 and cached.vocabulary() == ds.vocabulary()
    for i in (0, 3, 9):
        a, b = cached[i], ds[i]
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]) if torch.is_tensor(a[k]) else a[k] == b[k]
