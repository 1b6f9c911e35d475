"""Per-group rows of ``egsc_it_translation``: the exemplar's colour pair comes from the dataset and matches the
exemplar's pixels; rows land on the right items (a translator perfect only on red backgrounds scores SSIM 1 exactly
on the ``*_on_red`` pairs); the world pairs' colours are named by hue; subset views are looked through; the benchmark
draws the per-pair table for the full model and its strongest baseline."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from semspace.data import create_dataset
from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.eval.protocols import create_protocol
from semspace.eval.protocols.egsc_it_groups import (
    colour_name,
    exemplar_style,
    exemplar_styles,
    group_rows,
    parse_group_rows,
)

ROOT = Path(__file__).resolve().parents[2]
NAMES = {(255, 0, 0): "red", (0, 255, 0): "green", (0, 0, 255): "blue"}


def test_colour_names_by_nearest_primary_hue() -> None:
    assert [colour_name(c) for c in NAMES] == list(NAMES.values())
    assert colour_name((230, 30, 30)) == "red" and colour_name((30, 160, 40)) == "green"
    assert colour_name((250, 120, 200)) == "red"  # pink: hue 322 degrees, within 60 of red
    assert colour_name((40, 200, 230)) == "blue"  # cyan-ish blue: hue 189 degrees
    assert colour_name((200, 230, 40)) == "green"  # yellow-green: hue 69 degrees


def test_digit_pairs_styles_match_the_exemplar_pixels() -> None:
    ds = create_dataset("digit_pairs", split="test", n=30, size=16)
    for i in range(30):
        pixels = (ds[i]["exemplar"].permute(1, 2, 0).reshape(-1, 3) * 255).round().int().tolist()
        counts: dict[tuple[int, ...], int] = {}
        for p in pixels:
            counts[tuple(p)] = counts.get(tuple(p), 0) + 1
        (bg, _), (fg, _) = sorted(counts.items(), key=lambda kv: -kv[1])[:2]  # the background covers more
        assert exemplar_style(ds, i) == f"{NAMES[fg]}_on_{NAMES[bg]}", i
    b2a = create_dataset("digit_pairs", split="test", n=6, size=16, direction="b2a")
    assert set(exemplar_styles(b2a, 6) or []) <= {"white_on_black", "black_on_white"}


def test_subset_views_are_looked_through() -> None:
    whole = create_dataset("digit_pairs", split="test", size=16)
    fold = create_dataset("digit_pairs", split="test", size=16, fold="2/3")
    assert hasattr(fold, "indices")
    assert [exemplar_style(fold, i) for i in range(5)] == [exemplar_style(whole, int(j)) for j in fold.indices[:5]]


def test_world_pairs_styles_name_the_annotated_colours() -> None:
    ds = create_dataset("world_pairs", split="test", n=40, size=16)
    styles = exemplar_styles(ds, 40) or []
    assert len(styles) == 40 and len(set(styles)) >= 4
    for i, s in enumerate(styles):
        st = ds.annotation(i)["views"]["exemplar"]["style"]
        assert s == f"{colour_name(st['fg'])}_on_{colour_name(st['bg'])}"


def test_group_rows_average_each_group_and_parse_back() -> None:
    rows = group_rows("by_pair", ["b", "a", "b"], {"ssim": np.array([0.2, 0.5, 0.4])})
    assert rows == {"by_pair/a/items": 1.0, "by_pair/a/ssim": 0.5, "by_pair/b/items": 2.0,
                    "by_pair/b/ssim": pytest.approx(0.3)}  # fmt: skip
    assert parse_group_rows({**rows, "ssim": 0.1}, "by_pair")["b"]["items"] == 2.0


class _PerfectOnRed(torch.nn.Module):
    """A stub translator of the digits pair: the exact ground truth (the content's digit painted in the exemplar's
    two colours) where the exemplar's background is red, the exemplar itself elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        pre = PreprocessCfg(size=16)
        self.specs = {d: DomainSpec(name=d, kind=InputKind.IMAGE, embed_dim=4, preprocess=pre) for d in ("a", "b")}

    def domains(self) -> dict[str, DomainSpec]:
        return self.specs

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        out = exemplar.clone()
        for i in range(len(content)):
            ex = (exemplar[i] + 1) / 2  # (3, H, W) in {0, 1}
            order = ex.mean((1, 2)).argsort(descending=True)  # background channel first, then the ink's
            bg, fg = int(order[0]), int(order[1])
            if bg != 0:
                continue
            white = content[i, 0] > 0  # A: black and white; the digit is the rarer of the two
            digit = white if white.float().mean() < 0.5 else ~white
            y = -torch.ones_like(ex)
            y[bg][~digit] = 1.0
            y[fg][digit] = 1.0
            out[i] = y
        return out


def test_protocol_rows_land_on_the_right_items(tmp_path: Path) -> None:
    data = {"name": "digit_pairs", "args": {"split": "test", "n": 60, "size": 16}}
    judge = {"name": "digit_pairs", "args": {"split": "val", "n": 40, "size": 16, "direction": "b2a",
                                             "correlated": False}}  # fmt: skip
    p = create_protocol("egsc_it_translation", data=data, classifier_data=judge, n_exemplars=0, classifier_steps=2,
                        judge_cache=False)  # fmt: skip
    m = p(_PerfectOnRed())
    pairs = parse_group_rows(m, "by_pair")
    assert set(pairs) <= {f"{f}_on_{b}" for f in NAMES.values() for b in NAMES.values() if f != b}
    assert sum(v["items"] for v in pairs.values()) == 60 and {"green_on_red", "blue_on_red"} <= set(pairs)
    for name, v in pairs.items():
        if name.endswith("_on_red"):
            assert v["ssim"] == pytest.approx(1.0)  # the ground truth, exactly
            assert v["semantic_consistency"] == v["classifier_acc_real"]
        else:
            assert v["ssim"] < 0.9
    digits = parse_group_rows(m, "by_digit")
    assert sum(v["items"] for v in digits.values()) == 60 and set(digits) <= {str(d) for d in range(10)}
    weighted = sum(v["items"] * v["semantic_consistency"] for v in digits.values()) / 60
    assert weighted == pytest.approx(m["semantic_consistency"])


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("semspace_bench_egsc_it_test", ROOT / "benchmarks" / "egsc_it.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_table_shows_the_full_model_and_its_strongest_baseline() -> None:
    bench = _bench()

    def row(method: str, cons: float, pair_cons: float) -> dict[str, Any]:
        pairs = {"green_on_red": {"items": 3.0, "semantic_consistency": pair_cons, "ssim": 0.5,
                                  "classifier_acc_real": 0.9}}  # fmt: skip
        return {"data": "digits", "method": method, "semantic_consistency": cons, "by_pair": pairs,
                "by_digit": {"7": {"items": 3.0, "semantic_consistency": 0.25, "ssim": 0.4}}}  # fmt: skip

    rows = [row(bench.FULL, 0.7, 0.111), row("no exemplar (UNIT-like)", 0.9, 0.222), row("MUNIT-style", 0.6, 0.333),
            row("no feature mask", 0.95, 0.444)]  # fmt: skip
    assert bench.strongest_baseline(rows, "digits")["method"] == "no exemplar (UNIT-like)"  # ablations do not count
    md = bench.group_tables(rows)
    line = next(x for x in md.splitlines() if x.startswith("| green on red"))
    assert line == "| green on red | 3 | 0.111 | 0.500 | 0.222 | 0.500 | 0.900 |"
    assert "0.333" not in md and "0.444" not in md
    assert "| 7 | 3 | 0.250 | 0.400 |" in md
    old = [{k: v for k, v in r.items() if k not in ("by_pair", "by_digit")} for r in rows]
    assert "--rescore" in bench.group_tables(old)
