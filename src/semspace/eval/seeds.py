"""Benchmark rows over several seeds: mean and standard deviation per row, and claims read against the noise.

Issue 23 item 3's rule: a claim ("A >= B + margin") reads **met** only when the difference of the means, less the
margin, exceeds two standard errors of that difference, ``SE = sqrt(sd_A^2 / n_A + sd_B^2 / n_B)`` (sample standard
deviations, ddof 1). With one seed there is no error estimate: the claim reads "met (1 seed: noise unknown)".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample standard deviation; 0.0 for one value)."""
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def aggregate_rows(per_seed: Sequence[Sequence[dict[str, Any]]], key: str = "method") -> list[dict[str, Any]]:
    """Rows of several seeds (the same methods, the same order) -> one row per method: every numeric column
    becomes its mean, with ``<column> sd`` beside it and ``<column> per seed`` (the list); another column keeps
    its value when every seed has the same, else the seeds' values joined by " / " (``seeds``: their count)."""
    if not per_seed:
        return []
    out = []
    for i, first in enumerate(per_seed[0]):
        rows = [seed_rows[i] for seed_rows in per_seed]
        if any(r[key] != first[key] for r in rows):
            raise ValueError(f"seed tables differ in row {i}: {[r[key] for r in rows]}")
        row: dict[str, Any] = {}
        for col, v in first.items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                vals = [float(r[col]) for r in rows]
                row[col], row[f"{col} sd"] = mean_sd(vals)
                row[f"{col} per seed"] = [round(x, 4) for x in vals]
            else:
                distinct = list(dict.fromkeys(str(r[col]) for r in rows))
                row[col] = v if len(distinct) == 1 else " / ".join(str(r[col]) for r in rows)
        row["seeds"] = len(rows)
        out.append(row)
    return out


def claim(a: Sequence[float], b: Sequence[float], margin: float = 0.0) -> tuple[bool, str]:
    """Whether ``mean(a) >= mean(b) + margin`` holds beyond two standard errors, and a phrase saying so.

    Returns:
        (met, text): ``met`` is True only when ``mean(a) - mean(b) - margin > 2 SE`` (one seed each: when the
        difference exceeds the margin, with the text saying the noise is unknown).
    """
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    diff = ma - mb
    if len(a) < 2 or len(b) < 2:
        ok = diff - margin > 0
        return ok, f"{'met' if ok else 'MISSED'} ({diff:+.3f}; 1 seed: noise unknown)"
    se = math.sqrt(sa**2 / len(a) + sb**2 / len(b))
    ok = diff - margin > 2 * se
    verdict = "met" if ok else ("MISSED" if diff - margin <= 0 else "not resolved")
    return ok, f"{verdict} ({diff:+.3f}, 2 SE = {2 * se:.3f} over {len(a)} + {len(b)} seeds)"
