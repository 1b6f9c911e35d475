"""A generation's faiss file is mapped for reading, and read into memory only by a writer's first change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semspace.index import FaissIndex

D = 16


@pytest.mark.parametrize("factory", ["Flat", "IVF4,Flat", "HNSW8"])
def test_a_mapped_index_searches_like_a_loaded_one_and_changes_only_in_memory(tmp_path: Path, factory: str) -> None:
    x = np.random.default_rng(0).standard_normal((300, D)).astype(np.float32)  # (300, D)
    built = FaissIndex(D, factory)
    built.add(x, np.arange(300))
    path = built.save(tmp_path / "index.faiss")
    on_disk = path.read_bytes()
    loaded, mapped = FaissIndex.load(path, factory), FaissIndex.load(path, factory, mapped=True)
    assert mapped.mapped and not loaded.mapped
    for a, b in zip(loaded.search(x[:10], 5), mapped.search(x[:10], 5), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(mapped.reconstruct([7]), loaded.reconstruct([7]), atol=1e-6)
    mapped.add(x[:3] + 1.0, np.array([1000, 1001, 1002]))  # the first change reads the file in
    assert not mapped.mapped and mapped.ntotal == 303
    mapped.write(tmp_path / "next.faiss")
    assert FaissIndex.load(tmp_path / "next.faiss", factory).ntotal == 303
    assert path.read_bytes() == on_disk  # the mapped file was never written
