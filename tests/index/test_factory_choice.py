"""choose_factory: exact below the threshold, IVF lists that can be trained, the memory budget, strings faiss builds."""

from __future__ import annotations

import dataclasses
import math
import os
import re

import faiss
import numpy as np
import pytest

from semspace.errors import ConfigError
from semspace.index import FactoryChoice, FaissIndex, choose_factory
from semspace.index.factory_choice import (
    EXACT_BELOW,
    RESULTS,
    bytes_per_vector,
    default_memory_budget,
    ivf_lists,
    pq_subquantizers,
)

BIG = 10**15  # a budget nothing exceeds


def _nlist(factory: str) -> int:
    m = re.fullmatch(r"IVF(\d+),\w+", factory)
    assert m, factory
    return int(m.group(1))


@pytest.mark.parametrize("n", [0, 1, 1_000, EXACT_BELOW - 1])
def test_small_galleries_get_exact_search(n: int) -> None:
    choice = choose_factory(n, 512, BIG)
    assert (choice.factory, choice.nprobe, choice.train_vectors) == ("Flat", 1, 0)
    assert choice.bytes_per_vector >= 4 * 512


@pytest.mark.parametrize("n", [EXACT_BELOW, 100_000, 1_000_000, 10_000_000, 100_000_000])
def test_large_galleries_get_an_ivf_whose_lists_can_be_trained(n: int) -> None:
    choice = choose_factory(n, 512, BIG)
    nlist = _nlist(choice.factory)
    assert nlist & (nlist - 1) == 0  # a power of two
    assert 2 * math.sqrt(n) <= nlist <= 8 * math.sqrt(n)  # ~4 sqrt(n)
    assert 39 * nlist <= choice.train_vectors <= n  # faiss's 39 training points a list exist, from the gallery
    assert 1 <= choice.nprobe <= nlist
    assert choice.factory.endswith(",Flat")  # memory is no object: exact distances within the lists
    assert f"{choice.train_vectors:,}" in choice.reason


def test_the_lists_never_outnumber_their_training_points() -> None:
    for n in [1, 39, 40, 1_000, 10_000, 25_000, 60_000]:
        nlist = ivf_lists(n)
        assert nlist == 1 or 40 * nlist <= n
    assert (ivf_lists(10**5), ivf_lists(10**6)) == (1024, 4096)


@pytest.mark.parametrize("n", [60_000, 1_000_000, 10_000_000])
def test_the_memory_budget_is_respected_and_shrinks_the_codes(n: int) -> None:
    ivf, sq8, sq4, pq = (math.ceil(n * bytes_per_vector(f, 512)) for f in ("IVF,Flat", "IVF,SQ8", "IVF,SQ4", "IVF,PQ"))
    budgets = [ivf, ivf - 1, sq8 - 1, sq4 - 1, pq, pq - 1]
    codes = []
    for budget in budgets:
        try:
            choice = choose_factory(n, 512, budget)
        except ConfigError as exc:
            assert "budget" in str(exc) and f"{n:,}" in str(exc)
            codes.append("none")
            continue
        assert n * choice.bytes_per_vector <= budget
        codes.append(choice.factory.split(",")[1])
    assert codes == ["Flat", "SQ8", "SQ4", "PQ64x4fs", "PQ64x4fs", "none"]


def test_a_code_short_of_the_recall_target_says_so() -> None:
    n = 1_000_000
    exact = choose_factory(n, 512, BIG)
    squeezed = choose_factory(n, 512, math.ceil(n * bytes_per_vector("IVF,SQ4", 512)))
    assert squeezed.factory == "IVF4096,SQ4" and "short of the 0.95 target" in squeezed.reason
    assert "short of" not in exact.reason


def test_a_small_gallery_over_the_budget_gets_compressed_codes() -> None:
    choice = choose_factory(10_000, 512, 10_000 * 1000)
    assert choice.factory != "Flat" and 10_000 * choice.bytes_per_vector <= 10_000 * 1000


@pytest.mark.parametrize("dim", [8, 37, 64, 300, 512, 768, 1024])
def test_every_choice_is_a_factory_faiss_and_faiss_index_build(dim: int) -> None:
    chosen = {choose_factory(1_000, dim, BIG).factory}
    for n in [100_000, 1_000_000]:
        for family in ("IVF,Flat", "IVF,SQ8", "IVF,SQ4", "IVF,PQ"):
            chosen.add(choose_factory(n, dim, math.ceil(n * bytes_per_vector(family, dim))).factory)
    assert len(chosen) == 9  # Flat and four codes at two sizes
    for factory in chosen:
        faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        FaissIndex(dim, factory)


def test_the_chosen_ivf_trains_on_its_training_vectors() -> None:
    choice = choose_factory(60_000, 8, BIG)
    x = np.random.default_rng(0).standard_normal((choice.train_vectors, 8)).astype(np.float32)  # (T, 8)
    index = FaissIndex(8, choice.factory, nprobe=choice.nprobe)
    index.add(x, np.arange(len(x)))  # the first add trains
    assert index.ntotal == len(x) and index.search(x[:3], 5)[1][:, 0].tolist() == [0, 1, 2]


def test_pq_subquantizers_divide_the_width() -> None:
    assert [pq_subquantizers(d) for d in (512, 768, 300, 37, 8)] == [64, 96, 30, 1, 1]
    for d in range(1, 200):
        assert d % pq_subquantizers(d) == 0


@pytest.mark.parametrize("n", [10_000, 1_000_000])
def test_the_reason_is_one_sentence_naming_the_size_budget_and_results(n: int) -> None:
    choice = choose_factory(n, 512, 8 * 10**9)
    assert f"{n:,} x 512-d" in choice.reason and "8.00 GB" in choice.reason and RESULTS in choice.reason
    assert "\n" not in choice.reason and "q/s" in choice.reason


def test_the_default_budget_is_a_quarter_of_physical_memory() -> None:
    quarter = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    assert default_memory_budget() == quarter
    assert choose_factory(10**6, 512) == choose_factory(10**6, 512, quarter)


def test_bytes_per_vector_orders_the_codes() -> None:
    flat, ivf, sq8, sq4, pq = (bytes_per_vector(f, 512) for f in ("Flat", "IVF,Flat", "IVF,SQ8", "IVF,SQ4", "IVF,PQ"))
    assert 4 * 512 <= flat <= ivf and 512 <= sq8 < ivf and 256 <= sq4 < sq8 and 32 <= pq < sq4


@pytest.mark.parametrize(("n", "dim", "budget"), [(-1, 512, None), (10, 0, None), (10, 512, 0), (10, 512, -5)])
def test_bad_arguments_are_config_errors(n: int, dim: int, budget: int | None) -> None:
    with pytest.raises(ConfigError):
        choose_factory(n, dim, budget)


def test_the_choice_is_frozen() -> None:
    choice = choose_factory(10, 512, BIG)
    assert isinstance(choice, FactoryChoice)
    with pytest.raises(dataclasses.FrozenInstanceError):
        choice.factory = "HNSW32"  # type: ignore[misc]
