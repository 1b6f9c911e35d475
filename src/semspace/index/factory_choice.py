"""``--factory auto``: a faiss factory string chosen from the gallery size and a memory budget (issue 19).

``choose_factory(n_items, dim, memory_budget_bytes)`` -> ``FactoryChoice(factory, nprobe, reason, bytes_per_vector,
train_vectors)``, from the numbers ``benchmarks/index_scale.py`` measured (``benchmarks/results/index_scale.md``:
clustered unit vectors of 512-d, 2 threads, recall@10 against exact search):

* under ``EXACT_BELOW`` items: ``Flat``, exact (its q/s at batch 64 is still above the target there);
* above: an inverted file with ``nlist`` a power of two near ``4 sqrt(n)`` (faiss's guideline is 4-16 sqrt(n);
  the low end keeps the k-means of the build affordable on 2 cores), never more lists than
  ``n / TRAIN_PER_LIST`` so that every list has ``TRAIN_PER_LIST`` (>= faiss's 39) training vectors; the
  index trains on ``train_vectors = min(n, TRAIN_PER_LIST * nlist)`` vectors, the first ones added;
* the first of these whose memory fits the budget: ``IVF<nlist>,Flat`` (exact distances within the visited lists,
  4 d bytes a vector), ``IVF<nlist>,SQ8`` (8-bit scalar codes, d bytes, the same recall at the measured nprobe),
  ``IVF<nlist>,PQ<m>x4fs`` (4-bit fast-scan product codes, d/16 bytes, lower recall: the reason says so);
  ``nprobe`` is the smallest power of two whose measured recall@10 reached ``TARGET_RECALL``.

Not chosen, with the measurement: ``HNSW32`` and the refined ``IVF,PQ,RFlat`` (module ``_NOT_CHOSEN``).
``memory_budget_bytes=None`` is a quarter of the machine's physical memory (``os.sysconf``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from semspace.errors import ConfigError

RESULTS = "benchmarks/results/index_scale.md"
EXACT_BELOW = 50_000  # galleries smaller than this get exact search
TRAIN_PER_LIST = 40  # training vectors per inverted list (faiss warns under 39)
TARGET_RECALL = 0.95  # recall@10 the chosen nprobe reached in the benchmark
MEASURED_DIM = 512  # the width the benchmark measured; q/s scale about inversely with the width

# Measured by benchmarks/index_scale.py (benchmarks/results/index_scale.md), 512-d, 2 threads, batch 64:
# family -> {n: (nprobe reaching TARGET_RECALL, recall@10 there, queries/s at batch 64)}.
_MEASURED: dict[str, dict[int, tuple[int, float, float]]] = {
    "IVF,Flat": {100_000: (16, 0.96, 1500.0), 1_000_000: (32, 0.96, 700.0)},
    "IVF,SQ8": {100_000: (16, 0.96, 1500.0), 1_000_000: (32, 0.96, 700.0)},
    "IVF,PQ": {100_000: (64, 0.67, 5000.0), 1_000_000: (64, 0.67, 3000.0)},
}
# Flat (exact) queries/s at batch 64 by gallery size (it scans all n vectors: ~ 1/n beyond the largest).
_FLAT_QPS: dict[int, float] = {10_000: 5000.0, 100_000: 500.0, 1_000_000: 50.0}
# Bytes a vector of the family holds in memory beyond its code (ids, id maps, list slack): build peak RSS over n.
_OVERHEAD: dict[str, float] = {"Flat": 80.0, "IVF,Flat": 190.0, "IVF,SQ8": 190.0, "IVF,PQ": 190.0}
_NOT_CHOSEN = (
    "HNSW32: slower to build than IVF at every measured size and no cheaper to hold than Flat; "
    "IVF,PQ,RFlat: faiss's IndexRefine takes no caller ids (add_with_ids), so FaissIndex cannot hold it"
)


@dataclass(frozen=True)
class FactoryChoice:
    """The factory ``choose_factory`` picked and why.

    Args:
        factory: the faiss factory string (``"Flat"``, ``"IVF4096,Flat"``, ...).
        nprobe: inverted lists visited per query (IVF); 1 for indexes without lists.
        reason: one sentence naming the size, the budget and the measured recall and speed behind the choice.
        bytes_per_vector: memory one vector takes in this index (code + ids), as measured.
        train_vectors: vectors the index trains on (its first add must hold that many); 0: no training.
    """

    factory: str
    nprobe: int
    reason: str
    bytes_per_vector: float
    train_vectors: int = 0


def choose_factory(n_items: int, dim: int, memory_budget_bytes: int | None = None) -> FactoryChoice:
    """The faiss factory for ``n_items`` vectors of width ``dim`` within a memory budget (module docstring).

    Args:
        n_items: gallery size.
        dim: vector width.
        memory_budget_bytes: memory the index may hold; None: a quarter of the physical memory.

    Raises:
        ConfigError: a size, width or budget that is not positive, or no factory fits the budget.

    Example:
        >>> choose_factory(1_000_000, 512).factory
        'IVF4096,Flat'
    """
    if n_items < 0 or dim <= 0:
        raise ConfigError(f"choose_factory needs n_items >= 0 and dim > 0, got {n_items} and {dim}")
    budget = default_memory_budget() if memory_budget_bytes is None else int(memory_budget_bytes)
    if budget <= 0:
        raise ConfigError(f"the memory budget must be positive, got {memory_budget_bytes} bytes")
    size = f"{n_items:,} x {dim}-d"
    flat_bpv = bytes_per_vector("Flat", dim)
    flat_qps = _flat_qps(n_items, dim)
    if n_items < EXACT_BELOW and n_items * flat_bpv <= budget:
        return FactoryChoice(
            "Flat", 1, f"{size}: under {EXACT_BELOW:,} items exact search (Flat) needs {_gb(n_items * flat_bpv)} "
            f"(budget {_gb(budget)}) and answers ~{flat_qps:,.0f} q/s at batch 64 ({RESULTS})", flat_bpv,
        )  # fmt: skip
    nlist = ivf_lists(n_items)
    train = training_vectors(n_items, nlist)
    for family in _MEASURED:
        bpv = bytes_per_vector(family, dim)
        if n_items * bpv > budget:
            continue
        factory = ivf_factory(family, nlist, dim)
        nprobe, recall, qps, at = _measured(family, n_items)
        fits = "fits" if family == "IVF,Flat" else f"is the first that fits (Flat: {_gb(n_items * flat_bpv)})"
        return FactoryChoice(
            factory, min(nprobe, nlist),
            f"{size}: Flat would answer ~{flat_qps:,.0f} q/s at batch 64; {factory} needs "
            f"{_gb(n_items * bpv)} of the {_gb(budget)} budget and {fits}; with nprobe {nprobe} it reached "
            f"recall@10 {recall:.2f} at {qps * MEASURED_DIM / dim:,.0f} q/s (measured at {at:,} x {MEASURED_DIM}-d); "
            f"it trains on the first {train:,} vectors ({RESULTS})", bpv, train,
        )  # fmt: skip
    smallest = ivf_factory("IVF,PQ", nlist, dim)
    raise ConfigError(
        f"{size}: even {smallest} needs {_gb(n_items * bytes_per_vector('IVF,PQ', dim))}, over the memory budget "
        f"of {_gb(budget)}; raise the budget or split the gallery"
    )


def default_memory_budget() -> int:
    """A quarter of this machine's physical memory, in bytes."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 4


def ivf_lists(n_items: int) -> int:
    """Inverted lists for ``n_items``: the power of two nearest ``4 sqrt(n)``, at most ``n / TRAIN_PER_LIST``."""
    nlist = 2 ** round(math.log2(max(1.0, 4 * math.sqrt(n_items))))
    while nlist > 1 and nlist * TRAIN_PER_LIST > n_items:
        nlist //= 2
    return nlist


def training_vectors(n_items: int, nlist: int) -> int:
    """Vectors an IVF index of ``nlist`` lists trains on: ``TRAIN_PER_LIST`` a list, at most the gallery."""
    return min(n_items, TRAIN_PER_LIST * nlist)


def pq_subquantizers(dim: int) -> int:
    """Sub-quantizers of the product code: the divisor of ``dim`` nearest ``dim / 8`` (8 dimensions each)."""
    divisors = [m for m in range(1, dim + 1) if dim % m == 0]
    return min(divisors, key=lambda m: (abs(m - dim / 8), m))


def ivf_factory(family: str, nlist: int, dim: int) -> str:
    """The factory string of ``family`` (``"IVF,Flat"``, ``"IVF,SQ8"``, ``"IVF,PQ"``) with ``nlist`` lists."""
    codes = {"IVF,Flat": "Flat", "IVF,SQ8": "SQ8", "IVF,PQ": f"PQ{pq_subquantizers(dim)}x4fs"}
    return f"IVF{nlist},{codes[family]}"


def bytes_per_vector(family: str, dim: int) -> float:
    """Memory one vector takes in ``family`` (``"Flat"`` or an IVF family): its code plus the measured overhead."""
    code = {"Flat": 4 * dim, "IVF,Flat": 4 * dim, "IVF,SQ8": dim, "IVF,PQ": pq_subquantizers(dim) / 2}[family]
    return float(code + _OVERHEAD[family])


def _measured(family: str, n_items: int) -> tuple[int, float, float, int]:
    # the measurement at the size nearest n_items (in log scale): (nprobe, recall@10, q/s at batch 64, size)
    sizes = _MEASURED[family]
    at = min(sizes, key=lambda s: abs(math.log(s) - math.log(max(n_items, 1))))
    return (*sizes[at], at)


def _flat_qps(n_items: int, dim: int) -> float:
    # exact search scans every vector: the nearest measured size's q/s, scaled by size and width
    at = min(_FLAT_QPS, key=lambda s: abs(math.log(s) - math.log(max(n_items, 1))))
    return _FLAT_QPS[at] * at / max(n_items, 1) * MEASURED_DIM / dim


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.2f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.1f} MB"
