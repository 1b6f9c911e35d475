"""The ZS-SBIR protocol's metrics against a naive loop (eval/protocols/zs_sbir.py)."""

from __future__ import annotations

import math

import pytest
import torch

from semspace.errors import ConfigError
from semspace.eval.protocols.registry import PROTOCOLS
from semspace.eval.protocols.zs_sbir import zs_sbir_metrics


def _naive(q: torch.Tensor, g: torch.Tensor, ql: torch.Tensor, gl: torch.Tensor, k_map: int | None, k_p: int):
    aps, precs = [], []
    for i in range(len(q)):
        sims = [float(q[i] @ g[j] / (q[i].norm() * g[j].norm())) for j in range(len(g))]
        order = sorted(range(len(g)), key=lambda j: (-sims[j], j))  # ties: lower gallery index first
        rel = [int(gl[j] == ql[i]) for j in order]
        top = rel if k_map is None else rel[:k_map]
        hits, total = 0, 0.0
        for r, x in enumerate(top, start=1):
            if x:
                hits += 1
                total += hits / r
        aps.append(total / hits if hits else 0.0)
        precs.append(sum(rel[:k_p]) / min(k_p, len(rel)))
    return sum(aps) / len(aps), sum(precs) / len(precs)


def test_metrics_equal_a_naive_loop() -> None:
    torch.manual_seed(0)
    q, g = torch.randn(13, 6, dtype=torch.float64), torch.randn(40, 6, dtype=torch.float64)
    g[7] = g[3]  # a tie
    ql, gl = torch.randint(0, 4, (13,)), torch.randint(0, 4, (40,))
    m = zs_sbir_metrics(q, g, ql, gl, map_at=("all", 10), precision_at=(5, 10))
    for k_map, k_p in ((None, 5), (10, 10)):
        ap, prec = _naive(q, g, ql, gl, k_map, k_p)
        assert math.isclose(m[f"sketch_to_photo_mAP@{k_map or 'all'}"], ap, rel_tol=1e-9)
        assert math.isclose(m[f"sketch_to_photo_P@{k_p}"], prec, rel_tol=1e-9)


def test_cosine_on_unit_vectors_ranks_like_negative_euclidean() -> None:
    torch.manual_seed(1)
    q = torch.nn.functional.normalize(torch.randn(5, 4, dtype=torch.float64), dim=1)
    g = torch.nn.functional.normalize(torch.randn(30, 4, dtype=torch.float64), dim=1)
    ql, gl = torch.randint(0, 3, (5,)), torch.randint(0, 3, (30,))
    cos = zs_sbir_metrics(q, g, ql, gl, map_at=("all",), precision_at=(10,))
    # exp(-||q - g||) on unit vectors gives the same order: the metrics of a scaled copy of q (cosine) agree
    assert cos == zs_sbir_metrics(3 * q, g, ql, gl, map_at=("all",), precision_at=(10,))


def test_protocol_needs_sketches_and_photos() -> None:
    with pytest.raises(ConfigError, match="sketches"):
        PROTOCOLS.create("zs_sbir", sketches={"args": {}}, photos={"name": "x"})


def test_one_unseen_class_is_flagged_trivial_and_the_check_is_off_while_embedding(caplog) -> None:
    from semspace.tasks import create_task

    tiny = {"backbone": "tiny_cnn", "frozen": False, "fusion_layers": [-2, -1], "fusion_dim": 8, "sketch_dim": 16,
            "hidden": 16, "photo_head_dim": 12, "noise_dim": 4}  # fmt: skip
    task = create_task("ssgn", tiny)

    def world(view: str, classes: list[str], n: int) -> dict:
        return {"name": "world_objects", "args": {"split": "test", "n": n, "size": 32, "view": view,
                                                  "classes": classes}}  # fmt: skip

    one = PROTOCOLS.get("zs_sbir")(sketches=world("sketch", ["cup"], 4), photos=world("photo", ["cup"], 5),
                                   generalized_photos=world("photo", ["apple", "car"], 4))  # fmt: skip
    with caplog.at_level("WARNING", logger="semspace.eval.protocols.zs_sbir"):
        out = one(task)
    assert out["sketch_to_photo_mAP@all"] == 1.0  # every photo is relevant: the figure says nothing
    assert out["sketch_to_photo_TRIVIAL_one_unseen_class"] == 1.0 and out["sketch_to_photo_unseen_classes"] == 1.0
    assert "trivially 1.000" in caplog.text and "cup" in caplog.text
    assert task.cfg.check_sketches  # restored after the protocol turned it off
    two = PROTOCOLS.get("zs_sbir")(sketches=world("sketch", ["cup", "pear"], 4),
                                   photos=world("photo", ["cup", "pear"], 6))  # fmt: skip
    out2 = two(task)
    assert "sketch_to_photo_TRIVIAL_one_unseen_class" not in out2 and out2["sketch_to_photo_unseen_classes"] == 2.0
