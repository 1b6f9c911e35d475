"""eval.seeds: rows over seeds and claims read against two standard errors (issue 23 item 3)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from semspace.eval.seeds import CLAIM_COLUMNS, aggregate_rows, attach_claims, claim, claim_row, claims_section


def test_claim_row_met_only_beyond_two_standard_errors() -> None:
    a, b = [0.60, 0.62, 0.61], [0.50, 0.52, 0.51]
    row = claim_row("A > B", a, b)
    se = math.sqrt(0.01**2 / 3 + 0.01**2 / 3)
    assert row["A mean"] == pytest.approx(0.61) and row["B mean"] == pytest.approx(0.51)
    assert row["A sd"] == pytest.approx(0.01) and row["2 SE"] == pytest.approx(2 * se)
    assert row["A - B"] == pytest.approx(0.10)
    assert (row["met"], row["verdict"]) == (True, "met")
    assert row["A per seed"] == "0.600 / 0.620 / 0.610" and row["B per seed"] == "0.500 / 0.520 / 0.510"


def test_claim_row_ahead_within_the_noise_is_not_resolved_and_behind_is_missed() -> None:
    noisy = claim_row("A > B", [0.60, 0.50, 0.70], [0.58, 0.59, 0.57])  # ahead by 0.02, sd 0.1
    assert (noisy["met"], noisy["verdict"]) == (False, "not resolved")
    behind = claim_row("A > B", [0.50, 0.51, 0.52], [0.60, 0.61, 0.62])
    assert (behind["met"], behind["verdict"]) == (False, "MISSED")
    # a margin moves the bar: 0.1 ahead, but not by 0.15
    margin = claim_row("A >= B + 0.15", [0.60, 0.62, 0.61], [0.50, 0.52, 0.51], margin=0.15)
    assert (margin["met"], margin["verdict"]) == (False, "MISSED")


def test_claim_row_agrees_with_claim() -> None:
    for a, b, margin in [([0.7, 0.71], [0.6, 0.65], 0.0), ([0.7, 0.75, 0.6], [0.69, 0.7, 0.71], 0.0),
                         ([0.8, 0.82], [0.7, 0.7], 0.05)]:  # fmt: skip
        met, text = claim(a, b, margin)
        row = claim_row("c", a, b, margin)
        assert row["met"] == met and text.startswith(row["verdict"] + " (")


def test_one_seed_has_no_standard_error() -> None:
    row = claim_row("A > B", [0.6], [0.5])
    assert row["2 SE"] is None and row["verdict"] == "met" and row["A sd"] == 0.0


def test_claims_section_and_json(tmp_path: Path) -> None:
    rows = [claim_row("X > Y", [0.6, 0.62, 0.61], [0.5, 0.52, 0.51]), claim_row("Y > X", [0.5, 0.52], [0.6, 0.61])]
    md = claims_section(rows, 3, "Lead sentence.")
    assert md.startswith("## Claims over 3 seeds") and "Lead sentence." in md
    assert "| " + " | ".join(CLAIM_COLUMNS) + " |" in md
    assert "| X > Y | 0.610 | 0.010 | 0.510 |" in md and "| MISSED |" in md
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"name": "bench", "rows": [{"method": "m"}]}))
    attach_claims(path, rows, claim_seeds=3)
    doc = json.loads(path.read_text())
    assert doc["rows"] == [{"method": "m"}] and doc["claim_seeds"] == 3
    assert [r["verdict"] for r in doc["claims"]] == ["met", "MISSED"]


def test_aggregate_rows_keeps_per_seed_values() -> None:
    out = aggregate_rows([[{"method": "a", "x": 0.1}], [{"method": "a", "x": 0.3}]])
    assert out[0]["x"] == pytest.approx(0.2) and out[0]["x per seed"] == [0.1, 0.3] and out[0]["seeds"] == 2
    with pytest.raises(ValueError, match="differ in row 0"):
        aggregate_rows([[{"method": "a", "x": 0.1}], [{"method": "b", "x": 0.3}]])
