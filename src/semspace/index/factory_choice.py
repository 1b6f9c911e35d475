"""``--factory auto``: a faiss factory string chosen from the gallery size and a memory budget (issue 19).

``choose_factory(n_items, dim, memory_budget_bytes)`` -> ``FactoryChoice(factory, nprobe, reason, bytes_per_vector,
train_vectors)``, from what ``benchmarks/index_scale.py`` measured (``benchmarks/results/index_scale.md``: 10^4 to
10^6 clustered unit vectors of 512-d, 2 threads, recall@10 against exact search, q/s at batch 64):

* under ``EXACT_BELOW`` items: ``Flat``, exact (2,537 q/s at 10^4, 156 at 10^5: the 500 q/s target falls between,
  near 40,000; at 10^4 an IVF needed every one of its lists to reach the recall target anyway);
* above: an inverted file with ``nlist`` a power of two near ``4 sqrt(n)`` (faiss's guideline is 4-16 sqrt(n);
  the low end keeps the build's k-means affordable on 2 cores), never more lists than ``n / TRAIN_PER_LIST`` so
  that every list has ``TRAIN_PER_LIST`` (>= faiss's 39) training vectors; the index trains on
  ``train_vectors = min(n, TRAIN_PER_LIST * nlist)`` vectors, the first ones added;
* of the codes, the most exact one whose memory fits the budget: ``IVF<nlist>,Flat`` (4 d bytes a vector),
  ``,SQ8`` (d bytes; recall within ~0.01 of Flat), ``,SQ4`` (d/2 bytes; recall below the target: the reason says
  so), ``,PQ<d/8>x4fs`` (d/16 bytes; far below it);
* ``nprobe``: ``NPROBE_MARGIN`` times the smallest power of two whose recall@10 reached ``TARGET_RECALL`` on the
  synthetic clusters, at the measured size nearest ``n`` (real galleries' clusters are less separated: at 10^6
  the synthetic ones needed only 2 of 4096 lists); the reason quotes the recall and q/s measured there.

Not chosen, with the measurement (comment below the constants): ``HNSW32`` and the re-ranked ``IVF,PQ,RFlat``.
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
TARGET_RECALL = 0.95  # recall@10 the measured nprobe reached
NPROBE_MARGIN = 4  # the chosen nprobe over the smallest that reached TARGET_RECALL on the synthetic data
MEASURED_DIM = 512  # the width the benchmark measured; q/s scale about inversely with the width

# Measured by benchmarks/index_scale.py (benchmarks/results/index_scale.md), 512-d, q/s at batch 64 on 2 cores of
# CPU time: family -> {n: (nprobe, recall@10 there, q/s there)}; nprobe = NPROBE_MARGIN x the smallest with which
# IVF<nlist>,Flat reached TARGET_RECALL (16 of 1024 lists at 10^5, 2 of 4096 at 10^6), the same for every code
# (they share the coarse lists), except PQ at 10^6, whose sweep stopped at 4 (recall 0.363 at 1: flat).
# The order is the preference: the most exact code that fits the budget.
_MEASURED: dict[str, dict[int, tuple[int, float, float]]] = {
    "IVF,Flat": {100_000: (64, 0.981, 1786.0), 1_000_000: (8, 1.000, 4387.0)},
    "IVF,SQ8": {100_000: (64, 0.973, 3840.0), 1_000_000: (8, 0.989, 5887.0)},
    "IVF,SQ4": {100_000: (64, 0.885, 2355.0), 1_000_000: (8, 0.863, 6561.0)},
    "IVF,PQ": {100_000: (64, 0.674, 22351.0), 1_000_000: (4, 0.374, 8574.0)},
}
# Flat (exact) q/s at batch 64 on 2 cores by gallery size (it scans all n vectors: ~ 1/n in between); it falls
# through the 500 q/s target between 10^4 and 10^5 (~40,000 items), where IVF still needs every list of 10^4.
_FLAT_QPS: dict[int, float] = {10_000: 2537.0, 100_000: 156.0, 1_000_000: 12.0}
# Memory a vector holds while the index is built and served: (code + 8-byte id) x GROWTH + MAP_BYTES.
GROWTH = 1.33  # IVF4096,Flat at 10^6: build peak RSS over the 0.28 GB Python + faiss baseline / the written file
MAP_BYTES = 37.0  # FaissIndex's id map (IVF's hash-table direct map; Flat's IndexIDMap2): 75.1 vs 37.7 B raw
# Not chosen, measured: HNSW32 answers 17,205 q/s at recall@10 0.962 at 10^5 (efSearch 32) where IVF1024,Flat
# answers 4,832 at 0.967, but at 10^6 its efConstruction-40 graph tops out at 0.962 (efSearch 128: 4,111 q/s) where
# IVF4096,Flat reaches 1.000 at 4,387; it holds more than Flat (2.93 GB build peak at 10^6) and cannot remove in
# place. IVF,PQ,RFlat reaches 0.987 at 10^6 (nprobe 16, k_factor 16) but holds the flat vectors too (2.82 GB), and
# faiss's IndexRefine takes no caller ids (add_with_ids), so FaissIndex cannot hold it.


@dataclass(frozen=True)
class FactoryChoice:
    """The factory ``choose_factory`` picked and why.

    Args:
        factory: the faiss factory string (``"Flat"``, ``"IVF4096,Flat"``, ...).
        nprobe: inverted lists visited per query (IVF); 1 for indexes without lists.
        reason: one sentence naming the size, the budget and the measured recall and speed behind the choice.
        bytes_per_vector: memory one vector takes in this index (code, id and id map, list slack), as measured.
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
        least = min(_FLAT_QPS)  # below it, no extrapolation: a tiny gallery's q/s is the per-query cost's
        speed = (f"~{flat_qps:,.0f} q/s" if n_items >= least
                 else f"at least ~{_flat_qps(least, dim):,.0f} q/s (measured at {least:,})")  # fmt: skip
        return FactoryChoice(
            "Flat", 1, f"{size}: under {EXACT_BELOW:,} items exact search (Flat) needs {_gb(n_items * flat_bpv)} "
            f"(budget {_gb(budget)}) and answers {speed} at batch 64 on 2 cores ({RESULTS})", flat_bpv,
        )  # fmt: skip
    nlist = ivf_lists(n_items)
    train = training_vectors(n_items, nlist)
    for family in _MEASURED:
        bpv = bytes_per_vector(family, dim)
        if n_items * bpv > budget:
            continue
        factory = ivf_factory(family, nlist, dim)
        nprobe, recall, qps, at = _measured(family, n_items)
        short = "" if recall >= TARGET_RECALL else f" (short of the {TARGET_RECALL} target: nothing more exact fits)"
        return FactoryChoice(
            factory, min(nprobe, nlist),
            f"{size}: Flat would answer ~{flat_qps:,.0f} q/s at batch 64; {factory} needs {_gb(n_items * bpv)} of "
            f"the {_gb(budget)} budget (its lists are on disk, searched at memory speed while they fit in the page "
            f"cache) and, with nprobe {min(nprobe, nlist)}, reached recall@10 {recall:.3f} at "
            f"~{qps * MEASURED_DIM / dim:,.0f} q/s on 2 cores (measured at {at:,} x {MEASURED_DIM}-d){short}; it "
            f"trains on its first {train:,} vectors ({RESULTS})", bpv, train,
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
    """The factory string of ``family`` (``"IVF,Flat"``, ``"IVF,SQ8"``, ``"IVF,SQ4"``, ``"IVF,PQ"``) with ``nlist``."""
    codes = {"IVF,Flat": "Flat", "IVF,SQ8": "SQ8", "IVF,SQ4": "SQ4", "IVF,PQ": f"PQ{pq_subquantizers(dim)}x4fs"}
    return f"IVF{nlist},{codes[family]}"


def bytes_per_vector(family: str, dim: int) -> float:
    """Memory one vector takes in ``family`` (``"Flat"`` or an IVF family): ``(code + id) x GROWTH + MAP_BYTES``."""
    code = {"Flat": 4 * dim, "IVF,Flat": 4 * dim, "IVF,SQ8": dim, "IVF,SQ4": math.ceil(dim / 2),
            "IVF,PQ": math.ceil(pq_subquantizers(dim) / 2)}[family]  # fmt: skip
    return round((code + 8) * GROWTH + MAP_BYTES, 1)


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
