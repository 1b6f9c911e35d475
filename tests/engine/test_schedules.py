"""The lr schedules of ``engine/optim.py`` against their formulas, and ``poly`` through a real optimizer."""

from __future__ import annotations

import math

import pytest
import torch

from semspace.config import TrainCfg
from semspace.engine.optim import create_scheduler, lr_factor
from semspace.errors import ConfigError


def _cfg(**kw: object) -> TrainCfg:
    return TrainCfg(**{"max_steps": 100, "lr": 0.1, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize("power", [0.9, 1.0, 2.0])
def test_poly_matches_the_formula(power: float) -> None:
    cfg = _cfg(scheduler="poly", poly_power=power)
    for step in (0, 1, 37, 99, 100, 150):
        t = min(1.0, step / 100)
        assert lr_factor(step, cfg) == pytest.approx((1 - t) ** power)
    assert lr_factor(0, cfg) == 1.0 and lr_factor(100, cfg) == 0.0


def test_poly_after_warmup_spans_the_remaining_steps() -> None:
    cfg = _cfg(scheduler="poly", warmup_steps=10)
    assert lr_factor(4, cfg) == pytest.approx(0.5)  # warm-up: (4 + 1) / 10
    assert lr_factor(10, cfg) == pytest.approx(1.0)
    assert lr_factor(55, cfg) == pytest.approx(0.5**0.9)  # halfway through the 90 steps after the warm-up


def test_cosine_and_step_match_their_formulas() -> None:
    cos = _cfg(scheduler="cosine")
    assert lr_factor(25, cos) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)))
    step = _cfg(scheduler="step", step_every=30, step_gamma=0.5)
    assert [lr_factor(s, step) for s in (0, 29, 30, 61)] == pytest.approx([1.0, 1.0, 0.5, 0.25])


def test_poly_drives_the_optimizer_lr_and_resumes() -> None:
    cfg = _cfg(scheduler="poly", max_steps=10)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=cfg.lr)
    sched = create_scheduler(opt, cfg)
    seen = []
    for _ in range(4):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    assert seen == pytest.approx([0.1 * (1 - s / 10) ** 0.9 for s in (1, 2, 3, 4)])
    opt2 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    sched2 = create_scheduler(opt2, cfg)
    sched2.load_state_dict(sched.state_dict())
    opt2.step()
    sched2.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**0.9)


def test_unknown_scheduler_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="poly"):
        lr_factor(0, _cfg(scheduler="polynomial"))
