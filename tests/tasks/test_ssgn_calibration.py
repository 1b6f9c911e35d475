"""SSGN's calibrated stacking in the generalised setting (tasks/ssgn_calibration.py): the gamma sweep, the
validation classes, the decision it changes, its round trip through a checkpoint and its overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from semspace.config import TrainCfg, from_dict
from semspace.tasks import create_task
from semspace.tasks.registry import load_task
from semspace.tasks.ssgn_calibration import GAMMAS, choose_gamma, group_margins, sweep, validation_classes
from semspace.types import IMAGE, INDEX, LABEL, SKETCH
from semspace.world.objects.catalog import class_id

TINY = {"backbone": "tiny_cnn", "frozen": False, "fusion_layers": [-2, -1], "fusion_dim": 8, "sketch_dim": 16,
        "hidden": 16, "photo_head_dim": 12, "noise_dim": 4, "check_sketches": False}  # fmt: skip


def _constructed_buffer(task: Any) -> None:
    """Pseudo-unseen sketches whose best seen class beats their own by 0.05-0.15 (a biased head), pseudo-seen ones
    whose own class leads by 0.3-0.5: the harmonic mean is best for gamma in (0.15, 0.3]."""
    g = torch.Generator().manual_seed(0)
    margin = torch.cat([0.05 + 0.1 * torch.rand(50, generator=g), 0.3 + 0.2 * torch.rand(50, generator=g)])
    unseen = torch.arange(100) < 50
    task._push(margin, torch.ones(100, dtype=torch.bool), unseen)


class _FixedHead(nn.Module):
    """A semantic head that answers ``r`` whatever the sketch: cosine 0.6 to a seen class and 0.5 to an unseen one."""

    def __init__(self, seen: torch.Tensor, unseen: torch.Tensor) -> None:
        super().__init__()
        u = unseen - (unseen @ seen) * seen  # the part of the unseen row orthogonal to the seen one
        u = u / u.norm()
        b = (0.5 - 0.6 * float(unseen @ seen)) / float(unseen @ u)  # so that cos(r, unseen) = 0.5
        self.register_buffer("r", 0.6 * seen + b * u + (1 - 0.36 - b * b) ** 0.5 * _orthogonal(seen, u))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.r.expand(len(h), -1)


def _orthogonal(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    v = torch.randn(len(a), generator=torch.Generator().manual_seed(1))
    v = v - (v @ a) * a - (v @ b) * b
    return v / v.norm()


def test_the_sweep_picks_the_gamma_of_the_best_harmonic_mean() -> None:
    cos = torch.tensor([[0.9, 0.2, 0.5], [0.3, 0.8, 0.1], [0.7, 0.1, 0.6]])  # classes 0, 1 seen; class 2 held out
    margin, correct, unseen = group_margins(cos, torch.tensor([0, 1, 2]), torch.tensor([False, False, True]))
    torch.testing.assert_close(margin, torch.tensor([0.4, 0.7, 0.1]))
    assert correct.tolist() == [True, True, True] and unseen.tolist() == [False, False, True]
    res = sweep(margin, correct, unseen)
    i = choose_gamma(GAMMAS, res["hm"])
    assert 0.1 < float(GAMMAS[i]) <= 0.4  # the unseen sketch wins, the seen ones still do
    assert float(res["hm"][i]) == 1.0 and float(res["hm"][int(GAMMAS.abs().argmin())]) == 0.0


def test_calibration_lowers_the_share_of_unseen_sketches_sent_to_seen_classes() -> None:
    task = create_task("ssgn", TINY).eval()
    _constructed_buffer(task)
    assert 0.15 <= task.seen_bias <= 0.3
    report = task.calibration_report()
    assert report["val_hm"] > report["val_hm_at0"] and report["val_unseen_acc_at0"] == 0.0
    seen, unseen = "apple", "cup"  # a seen and an unseen class of the world's split
    assert seen in task._seen_names and unseen in task.cfg.query_classes
    rows = task.class_rows([seen, unseen])
    task.sem_head = _FixedHead(rows[0], rows[1])
    sketches = torch.ones(8, 3, 32, 32)
    sketches[:, :, 10:12, 4:28] = -1.0
    names = [seen, unseen]
    task.set_seen_bias(0.0)
    _, p0, cos = task.classify(sketches, names, check=False)
    torch.testing.assert_close(cos[0], torch.tensor([0.6, 0.5]), atol=1e-4, rtol=0)
    task.set_seen_bias(None)  # the calibrated gamma
    _, p1, _ = task.classify(sketches, names, check=False)
    assert (p0.argmax(1) == 0).float().mean() == 1.0 and (p1.argmax(1) == 0).float().mean() == 0.0
    z0 = task.embed_sketch(sketches, names, check=False)  # the stage-1 mixture moves towards the unseen class too
    task.set_seen_bias(0.0)
    z1 = task.embed_sketch(sketches, names, check=False)
    assert not torch.allclose(z0, z1)


def test_validation_classes_are_seen_classes_never_the_unseen_ones() -> None:
    task = create_task("ssgn", TINY)
    val, unseen = set(task.cfg.calib_classes), set(task.cfg.query_classes)
    assert val and len(val) == round(0.25 * len(task._seen_names)) and val <= task._seen_names and not val & unseen
    assert validation_classes(sorted(task._seen_names, reverse=True), 0.25) == sorted(val)  # not label order
    assert validation_classes(["a", "b"], 0.25) == [] and validation_classes(["a", "b", "c"], 0.0) == []
    assert len(validation_classes(["a", "b", "c"], 0.25)) == 1  # two pseudo-seen classes remain
    # a batch of validation classes only: the shadow does not train on it, it scores it as pseudo-unseen
    names = sorted(val)[:3]
    batch = {SKETCH: torch.rand(6, 3, 32, 32), IMAGE: torch.rand(6, 3, 32, 32),
             LABEL: torch.tensor([class_id(names[i % 3]) for i in range(6)]), INDEX: torch.arange(6)}  # fmt: skip
    out = task.training_forward(batch)
    assert float(out["loss_calib"]) == 0.0 and int(task.cal_count) == 6 and task.cal_n.tolist() == [0.0, 6.0]
    with pytest.raises(Exception, match="calib_classes"):
        create_task("ssgn", {**TINY, "calib_classes": ["cup"]})  # an unseen class cannot be a validation class


class _Pairs(Dataset):
    def __init__(self, n: int, names: list[str]) -> None:
        g = torch.Generator().manual_seed(0)
        self.x, self.p = torch.rand(n, 3, 32, 32, generator=g), torch.rand(n, 3, 32, 32, generator=g)
        self.y = torch.tensor([class_id(names[i % len(names)]) for i in range(n)])

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {SKETCH: self.x[i], IMAGE: self.p[i], LABEL: self.y[i], INDEX: torch.tensor(i)}


def test_gamma_round_trips_through_the_checkpoint_and_overrides_win(tmp_path: Path) -> None:
    from semspace.engine.trainer import Trainer

    torch.manual_seed(0)
    task = create_task("ssgn", TINY)
    names = sorted(task._seen_names)[:12]
    cfg = from_dict(TrainCfg, {"max_steps": 3, "batch_size": 24, "log_every": 1, "ckpt_every": 100, "threads": 1})
    Trainer(task, cfg, tmp_path, dataset=_Pairs(48, names)).fit(resume=False)
    _constructed_buffer(task)  # a known gamma in the buffer, then saved as the run's
    gamma = task.seen_bias
    assert gamma > 0
    from semspace.engine.checkpointing import model_state
    from semspace.models.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "model.pt", model_state(task, step=3, train_cfg=cfg, run_cfg={}))
    loaded, _ = load_task(tmp_path / "model.pt")
    assert loaded.seen_bias == gamma and loaded.cfg.calib_classes == task.cfg.calib_classes
    assert loaded.calibration_report() == task.calibration_report()
    overridden = create_task("ssgn", {**loaded.export_cfg(), "seen_bias": 0.0})  # task_args override
    overridden.load_state_dict(loaded.state_dict())
    assert overridden.seen_bias == 0.0 and float(overridden.cal_gamma) == gamma
    loaded.set_seen_bias(0.07)
    assert loaded.seen_bias == 0.07
    loaded.set_seen_bias(None)
    assert loaded.seen_bias == gamma
    # a checkpoint from before calibration existed (its resolved cfg has no calib_classes) loads, uncalibrated
    old_cfg = {k: v for k, v in task.export_cfg().items() if not k.startswith(("calib", "seen_bias", "gallery_bias"))}
    legacy = create_task("ssgn", old_cfg)
    assert not legacy.calibrated and legacy.seen_bias == 0.0 and legacy.domain("photo").embed_dim == 12
    legacy.load_state_dict({k: v for k, v in task.state_dict().items() if not k.startswith("cal_")})


def test_the_gallery_gate_ranks_by_cosine_minus_lambda_u_s() -> None:
    """e_q . e_p = (cos(g, f) - lambda u s) / const(q): a sketch read as unseen ranks a photo the seen classifier
    knows below an equally close one it does not; lambda 0 (or no seen candidate) ranks by the cosine alone."""
    task = create_task("ssgn", TINY).eval()
    _constructed_buffer(task)
    lam = task.gallery_bias
    assert lam == task.seen_bias > 0 and task.domain("photo").embed_dim == 12 + 2
    g = torch.nn.functional.normalize(torch.randn(3, 12), dim=-1)
    f = torch.nn.functional.normalize(torch.randn(5, 12), dim=-1)
    u = torch.tensor([1.0, 0.5, 0.0])
    task.classifier.weight.data = f[:2].clone()  # photos 0, 1 are (prototypes of) seen classes
    s = task.photo_seenness(f * 4)
    assert bool((s[:2] > s[2:].max()).all())
    eq, ep = task.gate_query(g, u), task.gate_photo(f, f * 4)
    torch.testing.assert_close(eq.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(ep.norm(dim=1), torch.ones(5))
    want = (g @ f.T - lam * u[:, None] * s[None, :]) / (3**0.5 * (1 + (lam * u) ** 2).sqrt()[:, None])
    torch.testing.assert_close(eq @ ep.T, want)
    task.set_gallery_bias(0.0)
    torch.testing.assert_close(task.gate_query(g, u) @ ep.T, g @ f.T / 3**0.5)
    rows = task.class_rows(["cup", "pear"])  # unseen candidates only: u = 0
    _, u_only_unseen = task.infer_semantics(torch.randn(4, 16), rows, task.seen_flags(["cup", "pear"]))
    assert bool((u_only_unseen == 0).all())


def test_the_protocol_reports_both_and_takes_an_override() -> None:
    from semspace.eval.protocols.registry import PROTOCOLS

    task = create_task("ssgn", TINY)
    _constructed_buffer(task)
    gamma = task.seen_bias

    def world(view: str, classes: list[str], n: int) -> dict:
        return {"name": "world_objects", "args": {"split": "test", "n": n, "size": 32, "view": view,
                                                  "classes": classes}}  # fmt: skip

    spec = {"sketches": world("sketch", ["cup", "pear"], 4), "photos": world("photo", ["cup", "pear"], 4),
            "generalized_photos": world("photo", ["apple", "car"], 4)}  # fmt: skip
    out = PROTOCOLS.get("zs_sbir")(**spec)(task)
    assert out["generalized_seen_bias_gamma"] == gamma and "generalized_uncalibrated_sketch_to_photo_mAP@all" in out
    off = PROTOCOLS.get("zs_sbir")(**spec, seen_bias=0.0)(task)
    assert off["generalized_seen_bias_gamma"] == 0.0 and "generalized_uncalibrated_sketch_to_photo_mAP@all" not in off
    assert task.seen_bias == gamma  # restored
