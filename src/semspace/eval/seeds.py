"""Benchmark rows over several seeds: mean and standard deviation per row, and claims read against the noise.

Issue 23 item 3's rule: a claim ("A >= B + margin") reads **met** only when the difference of the means, less the
margin, exceeds two standard errors of that difference, ``SE = sqrt(sd_A^2 / n_A + sd_B^2 / n_B)`` (sample standard
deviations, ddof 1). With one seed there is no error estimate: the claim reads "met (1 seed: noise unknown)".
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
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


def _reading(a: Sequence[float], b: Sequence[float], margin: float) -> tuple[float, float | None, str]:
    """(mean(a) - mean(b), two standard errors of it (None with one seed on a side), the verdict: "met", "not
    resolved" (ahead of the margin within 2 SE) or "MISSED"); the module docstring's rule."""
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    diff = ma - mb
    if len(a) < 2 or len(b) < 2:
        return diff, None, "met" if diff - margin > 0 else "MISSED"
    two_se = 2 * math.sqrt(sa**2 / len(a) + sb**2 / len(b))
    return diff, two_se, "met" if diff - margin > two_se else ("MISSED" if diff - margin <= 0 else "not resolved")


def claim(a: Sequence[float], b: Sequence[float], margin: float = 0.0) -> tuple[bool, str]:
    """Whether ``mean(a) >= mean(b) + margin`` holds beyond two standard errors, and a phrase saying so.

    Returns:
        (met, text): ``met`` is True only when ``mean(a) - mean(b) - margin > 2 SE`` (one seed each: when the
        difference exceeds the margin, with the text saying the noise is unknown).
    """
    diff, two_se, verdict = _reading(a, b, margin)
    if two_se is None:
        return verdict == "met", f"{verdict} ({diff:+.3f}; 1 seed: noise unknown)"
    return verdict == "met", f"{verdict} ({diff:+.3f}, 2 SE = {two_se:.3f} over {len(a)} + {len(b)} seeds)"


CLAIM_COLUMNS = ["claim", "A mean", "A sd", "B mean", "B sd", "A - B", "2 SE", "verdict", "A per seed",
                 "B per seed"]  # fmt: skip


def claim_row(name: str, a: Sequence[float], b: Sequence[float], margin: float = 0.0) -> dict[str, Any]:
    """One row of a "claims over seeds" table: ``name`` reads "A > B" (with ``margin``: "A >= B + margin"); the
    means and sample sds of ``a`` and ``b`` (one value per training seed), the difference of the means, two standard
    errors of it (``claim``'s; None with one seed) and the verdict: "met", "not resolved" (ahead, within 2 SE) or
    "MISSED" (not ahead), then the per-seed values."""
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    _, two_se, verdict = _reading(a, b, margin)
    per_seed = {"A per seed": " / ".join(f"{x:.3f}" for x in a), "B per seed": " / ".join(f"{x:.3f}" for x in b)}
    return {"claim": name, "A mean": ma, "A sd": sa, "B mean": mb, "B sd": sb, "A - B": ma - mb, "margin": margin,
            "2 SE": two_se, "met": verdict == "met", "verdict": verdict} | per_seed  # fmt: skip


def claims_section(claims: Sequence[dict[str, Any]], seeds: int, lead: str, heading: bool = True) -> str:
    """The "Claims over N seeds" section of a benchmark's Markdown (``heading``: with its "##" line): ``lead`` (what
    was trained, where seed 0 comes from), the reading rule, and the ``claim_row`` table."""
    from semspace.eval.report import markdown_table

    rule = ("A and B are the claim's two sides, sd the sample standard deviation; 'met' only when A - B exceeds two "
            "standard errors of the difference, 'not resolved' when A is ahead within them, 'MISSED' when it is not "
            "ahead.")  # fmt: skip
    body = [f"{lead} {rule}", "", markdown_table(claims, CLAIM_COLUMNS)]
    return "\n".join([f"## Claims over {seeds} seeds", "", *body] if heading else body)


def attach_claims(json_path: str | Path, claims: Sequence[dict[str, Any]], **fields: Any) -> None:
    """Adds the claims table (``claims``) and ``fields`` to a benchmark's results JSON, atomically."""
    from semspace.utils.io import atomic_write_text

    path = Path(json_path)
    doc = json.loads(path.read_text())
    doc |= {"claims": list(claims), **fields}
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
