"""SSGN in the generalised setting: calibrated stacking of the semantic head, its gamma chosen on pseudo-unseen classes.

When the candidate classes of a sketch include seen classes (the generalised setting: a gallery of seen and unseen
classes; sketch search on an index of every class), the semantic head ``R(h)`` trained on the seen classes prefers
them: on the world 60 % of the unseen classes' sketches went to a seen class. **Calibrated stacking** (Chao,
Changpinyo, Gong, Sha, "An empirical study and analysis of generalized zero-shot learning for object recognition in
the wild", ECCV 2016, section 3.2) subtracts a constant ``gamma`` from the scores of the seen classes before the
decision::

    score_c = cos(R(h), s_c) - gamma * 1[c seen]           (Chao et al. 2016, eq. 6, on SSGN's cosine scores)
    p       = softmax(score / tau)                          the stage-1 mixture and ``classify``'s probabilities

``gamma = 0`` is the uncalibrated head, ``gamma -> +inf`` ignores the seen classes. Gamma is in cosine units.

**Choosing gamma without the test classes** (Chao et al. choose it by cross-validation over class splits of the
training classes). A shadow copy of the class-inference path (``cal_fusion``, ``cal_head``: the same fusion and
semantic head, no decoder: the decoder does not take part in the decision) is trained in the same steps, on the same
batches, on the seen classes **minus** the validation classes (``calib_classes``: ``calib_fraction`` of the seen
classes, drawn once with a fixed seed; never the unseen classes, which are not in the training data at all) and minus
the held-out sketches (``calib_holdout`` of the other seen classes' items, by dataset index). For each batch its
validation-class sketches (pseudo-unseen) and held-out sketches (pseudo-seen) are scored by the shadow among all seen
classes (dropout off), and for every gamma of the grid ``GAMMAS`` the right decisions are counted per group into
exponentially weighted counts (decay ``calib_decay`` per step: about the last ``1 / (1 - decay)`` steps, the shadow
as it ends; sums over the ranks, so two processes count like one); gamma is the grid value that maximises the
harmonic mean of the two accuracies (``sweep``, ``choose_gamma``: the middle of the best plateau). The
shadow reads the sketch taps detached: with ``frozen: false`` the backbone itself was trained on the validation
classes, so gamma then underestimates the bias (the frozen default has no such leak).

The harmonic mean, not the generalised mAP of unseen queries alone: with only unseen-class queries, the best gamma is
``+inf`` (drop the seen classes), which a user searching an index of every class with a seen-class sketch would pay
for; the harmonic mean keeps the seen classes' sketches recognised (Xian et al. 2018's GZSL criterion).

The per-sample decision needs one number per sketch: with ``a`` the best cosine among the pseudo-unseen classes and
``b`` among the pseudo-seen ones, the pseudo-unseen group wins iff ``a > b - gamma``, i.e. ``gamma > b - a`` (the
**margin**); a sketch is right at ``gamma`` iff its group wins and the best class of its group is its own.

**The gallery gate** (the decoder's side; ours). Calibration fixes the class a sketch is read as, but on the world
the decoder's feature of an unseen-class sketch, even given the *true* class semantics, ranks seen-class photos among
its class's photos at about their share of the gallery (``benchmarks/results/ssgn.md``: ``oracle``), while the photo
space itself separates them (photo -> photo generalised mAP@all 0.62). The seen-class classifier ``W`` (trained on
real seen photos) knows a seen photo (max softmax probability ``s_p``: AUROC 0.95 between the test's seen and unseen
photos), so the rank score of photo ``p`` for sketch ``q`` is lowered where the sketch is read as unseen and the
photo looks seen::

    score(q, p) = cos(g_q, f_p) - lambda * u_q * s_p       u_q: the calibrated posterior mass of the unseen candidates

``u_q`` is 0 unless the candidates mix seen and unseen classes (a gallery of unseen classes only, or of seen classes
only, ranks by the cosine alone). To keep retrieval an inner product of unit vectors (the index, search and the
protocol rank that way), both embeddings get ``GATE_DIMS`` = 2 extra dimensions: ``e_q = [g; -lambda u; 0] /
sqrt(1 + lambda^2 u^2)`` and ``e_p = [f; s; sqrt(2 - s^2)] / sqrt(3)`` (constant norm), so ``e_q . e_p`` is the score
above divided by a per-query constant (the same order). Photo -> photo similarity in such an index adds
``(s s' + sqrt((2 - s^2)(2 - s'^2))) / 3``, which prefers photos of the same seen-ness. ``lambda`` is
``gallery_bias`` when set, else gamma: no validation split of photos exists in the shadow (it has no decoder), so
lambda is not tuned (``docs/ssgn.md`` shows the sweep on the test classes as a diagnostic only).
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from semspace.errors import ConfigError, DataError
from semspace.losses.distributed import all_reduce_sum, world_size

log = logging.getLogger(__name__)

GATE_DIMS = 2  # the gallery gate's extra embedding dimensions
GAMMAS = torch.round(torch.arange(-0.30, 0.6001, 0.01) * 100) / 100  # (G,) the sweep, cosine units
_GOLDEN = 2654435761  # Knuth's multiplicative hash of dataset indices


def validation_classes(seen: list[str], fraction: float, seed: int = 0) -> list[str]:
    """The pseudo-unseen classes: ``round(fraction * n)`` (at least one) of the seen classes ``seen``, drawn with a
    fixed seed from their sorted names (so a run's choice does not depend on label order); ``[]`` when fewer than
    two pseudo-seen classes would remain or ``fraction`` is 0."""
    names = sorted(seen)
    k = max(1, round(fraction * len(names))) if fraction > 0 else 0
    if k == 0 or len(names) - k < 2:
        return []
    return sorted(random.Random(seed).sample(names, k))


def held_out(index: torch.Tensor | None, x: torch.Tensor, fraction: float) -> torch.Tensor:
    """``(B,)`` bool: the items held out of the shadow's training, ``fraction`` of them, fixed per item: by the
    dataset index ``index (B,)`` when the batch has one (a hash of it), else by the bytes of the input row."""
    if fraction <= 0:
        return torch.zeros(len(x), dtype=torch.bool, device=x.device)
    if index is not None:
        u = (index.long().cpu() * _GOLDEN % (2**32)).double() / 2**32  # (B,) in [0, 1)
    else:
        rows = x.detach().to("cpu", torch.float32).reshape(len(x), -1).contiguous().numpy()
        u = torch.tensor([int.from_bytes(hashlib.sha1(r.tobytes(), usedforsecurity=False).digest()[:4], "little")
                          / 2**32 for r in rows], dtype=torch.float64)  # fmt: skip
    return (u < fraction).to(x.device)


def group_margins(cos: torch.Tensor, labels: torch.Tensor, val_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per sketch ``(margin, correct, unseen)`` (module docstring) from cosines ``cos (N, C)`` to the classes, their
    true positions ``labels (N,)`` and the pseudo-unseen classes ``val_mask (C,)``: ``margin = b - a`` ``(N,)``,
    ``correct`` (N,) the best class of the sketch's own group is its label, ``unseen`` (N,) it is pseudo-unseen."""
    inf = torch.finfo(cos.dtype).max
    a = cos.masked_fill(~val_mask, -inf).max(dim=1)  # best pseudo-unseen class
    b = cos.masked_fill(val_mask, -inf).max(dim=1)  # best pseudo-seen class
    unseen = val_mask[labels]
    correct = torch.where(unseen, a.indices == labels, b.indices == labels)
    return b.values - a.values, correct, unseen


def decision_counts(margin: torch.Tensor, correct: torch.Tensor, unseen: torch.Tensor,
                    gammas: torch.Tensor = GAMMAS) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Right decisions per group and gamma ``(2, G)`` (row 0 the pseudo-seen sketches, row 1 the pseudo-unseen
    ones) and the group sizes ``(2,)``."""
    pred_unseen = gammas[:, None].to(margin) > margin[None, :]  # (G, N) the pseudo-unseen group wins
    ok = ((pred_unseen == unseen[None, :]) & correct[None, :]).double()  # (G, N)
    hits = torch.stack([ok[:, ~unseen].sum(dim=1), ok[:, unseen].sum(dim=1)])  # (2, G)
    return hits, torch.stack([(~unseen).sum(), unseen.sum()]).double()


def sweep(margin: torch.Tensor, correct: torch.Tensor, unseen: torch.Tensor,
          gammas: torch.Tensor = GAMMAS) -> dict[str, torch.Tensor]:  # fmt: skip
    """Accuracy on the pseudo-seen and the pseudo-unseen sketches and their harmonic mean at each gamma: ``{"seen",
    "unseen", "hm"}``, each ``(G,)``; NaN where a group is empty."""
    return accuracies(*decision_counts(margin, correct, unseen, gammas))


def accuracies(hits: torch.Tensor, n: torch.Tensor) -> dict[str, torch.Tensor]:
    """``sweep`` from (weighted) counts: ``hits (2, G)``, ``n (2,)``."""
    acc = hits / n[:, None].where(n[:, None] > 0, torch.full_like(n[:, None], float("nan")))  # (2, G)
    hm = 2 * acc[0] * acc[1] / (acc[0] + acc[1]).clamp_min(1e-12)
    return {"seen": acc[0], "unseen": acc[1], "hm": hm}


def choose_gamma(gammas: torch.Tensor, hm: torch.Tensor) -> int:
    """Index of the chosen gamma: the middle of the first run of grid values at the maximal harmonic mean (gamma 0
    when that maximum is 0 or undefined)."""
    best = float(hm.nan_to_num(-1.0).max())
    if best <= 0:  # no information (a group empty or never right): uncalibrated
        return int(gammas.abs().argmin())
    at = (hm.nan_to_num(-1.0) >= best - 1e-12).nonzero().flatten().tolist()
    run = [at[0]]
    for i in at[1:]:
        if i != run[-1] + 1:
            break
        run.append(i)
    return run[len(run) // 2]


class SsgnCalibration(nn.Module):
    """Mixin of ``SsgnTask``: the shadow class-inference path, its ring buffer and the chosen gamma (module
    docstring). Persistent buffers (in every checkpoint): ``cal_hits (2, G)`` and ``cal_n (2,)`` (the weighted
    counts), ``cal_count`` (sketches scored), ``cal_gamma`` (the chosen gamma) and ``cal_stats`` (seen and unseen
    accuracy and their harmonic mean at the chosen gamma, then the same at gamma 0)."""

    cfg: Any
    semantics: torch.Tensor
    seen_ids: torch.Tensor
    calibrated: bool
    cal_val: torch.Tensor  # (C_seen,) bool: the validation (pseudo-unseen) classes among the seen ones
    cal_hits: torch.Tensor
    cal_n: torch.Tensor
    cal_count: torch.Tensor
    cal_gamma: torch.Tensor
    cal_stats: torch.Tensor

    def _build_calibration(self, seen_names: list[str], make_fusion: Callable[[], nn.Module],
                           make_head: Callable[[], nn.Module]) -> None:  # fmt: skip
        """Builds the shadow path when the method has a semantic head and ``calibrate`` is on (module docstring)."""
        c = self.cfg
        self.calibrated = False
        if not c.calibrate or c.method not in ("ssgn", "single_stage"):
            return
        val = list(c.calib_classes)  # resolve_cfg draws them (validation_classes) for a fresh cfg
        bad = [v for v in val if v not in seen_names]
        if bad:
            raise DataError(f"ssgn: calib_classes {bad[:10]} are not seen (training) classes; the validation classes "
                            "of the calibration must be seen classes held out of the shadow model")  # fmt: skip
        if not val:
            log.info("ssgn: no validation classes (%d seen classes, or a checkpoint from before calibration): no "
                     "calibration (gamma 0)", len(seen_names))  # fmt: skip
            return
        self.calibrated = True
        self.cal_fusion, self.cal_head = make_fusion(), make_head()
        self.register_buffer("cal_val", torch.tensor([n in set(val) for n in seen_names]), persistent=False)
        if not 0 < c.calib_decay < 1:
            raise ConfigError(f"ssgn: calib_decay {c.calib_decay}; expected 0 < decay < 1 (0.99: the last ~100 steps)")
        self.register_buffer("cal_hits", torch.zeros(2, len(GAMMAS), dtype=torch.float64))
        self.register_buffer("cal_n", torch.zeros(2, dtype=torch.float64))
        self.register_buffer("cal_count", torch.zeros((), dtype=torch.long))
        self.register_buffer("cal_gamma", torch.zeros(()))
        self.register_buffer("cal_stats", torch.full((6,), float("nan")))

    # ---- the decision at query time ------------------------------------------------------------------------
    @property
    def seen_bias(self) -> float:
        """The gamma in use: ``task_args.seen_bias`` when set (an override), else the run's calibrated one, else 0."""
        if self.cfg.seen_bias is not None:
            return float(self.cfg.seen_bias)
        return float(self.cal_gamma) if self.calibrated and int(self.cal_count) > 0 else 0.0

    def set_seen_bias(self, gamma: float | None) -> None:
        """Overrides gamma (None: back to the run's calibrated value)."""
        self.cfg.seen_bias = None if gamma is None else float(gamma)

    @property
    def gallery_bias(self) -> float:
        """The gallery gate's lambda: ``task_args.gallery_bias`` when set, else gamma (``seen_bias``)."""
        return float(self.cfg.gallery_bias) if self.cfg.gallery_bias is not None else self.seen_bias

    def set_gallery_bias(self, lam: float | None) -> None:
        """Overrides lambda (None: gamma)."""
        self.cfg.gallery_bias = None if lam is None else float(lam)

    def gate_query(self, g: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Unit ``g (B, P)`` and unseen mass ``u (B,)`` -> the unit query embedding ``(B, P + 2)`` (module docstring);
        ``g`` unchanged when the run is not calibrated."""
        if not self.calibrated:
            return g
        gate = -self.gallery_bias * u  # (B,)
        e = torch.cat([g, gate[:, None], torch.zeros_like(gate)[:, None]], dim=1)  # (B, P + 2)
        return e / (1 + gate.pow(2)).sqrt()[:, None]

    def gate_photo(self, f_unit: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """Unit photo features ``f_unit (B, P)`` and their seen-ness from ``f (B, P)`` (``photo_seenness``) -> the
        unit photo embedding ``(B, P + 2)``; unchanged when the run is not calibrated."""
        if not self.calibrated:
            return f_unit
        s = self.photo_seenness(f)  # (B,)
        e = torch.cat([f_unit, s[:, None], (2 - s.pow(2)).sqrt()[:, None]], dim=1)  # norm^2 = 3
        return e / 3**0.5

    def photo_seenness(self, f: torch.Tensor) -> torch.Tensor:
        """``(B,)`` in [0, 1]: the seen-class classifier's highest softmax probability on photo features ``f``."""
        classifier: Any = self.classifier
        return classifier.logits(f).softmax(dim=1).amax(dim=1)

    def calibration_report(self) -> dict[str, float]:
        """``{gamma, val_seen_acc, val_unseen_acc, val_hm, val_seen_acc_at0, val_unseen_acc_at0, val_hm_at0,
        val_sketches}`` of the shadow's counts (empty without calibration; ``val_sketches``: all it scored)."""
        if not self.calibrated or int(self.cal_count) == 0:
            return {}
        s = [float(v) for v in self.cal_stats]
        keys = ("val_seen_acc", "val_unseen_acc", "val_hm", "val_seen_acc_at0", "val_unseen_acc_at0", "val_hm_at0")
        return {"gamma": float(self.cal_gamma), **dict(zip(keys, s, strict=True)),
                "val_sketches": float(int(self.cal_count))}  # fmt: skip

    # ---- training the shadow -------------------------------------------------------------------------------
    def _calibration_step(self, chosen: list[torch.Tensor], ys: torch.Tensor, index: torch.Tensor | None,
                          x: torch.Tensor) -> torch.Tensor:  # fmt: skip
        """The shadow's loss on this batch (``chosen``: the fused taps ``L x (B, C_l)``, ``ys (B,)`` positions among
        the seen classes), after scoring its validation and held-out sketches into the buffer."""
        c = self.cfg
        sem = self.semantics[self.seen_ids]  # (C_seen, S)
        taps = [t.detach() for t in chosen]
        is_val = self.cal_val[ys]  # (B,)
        held = held_out(index, x, c.calib_holdout) & ~is_val
        train = ~is_val & ~held
        loss = ys.new_zeros((), dtype=sem.dtype)
        n_train = all_reduce_sum(train.sum().double())  # the global batch's, so that ranks average like one process
        if bool(train.any()):
            keep = (~self.cal_val).nonzero().flatten()  # (C_ps,) the pseudo-seen classes
            pos_of = torch.full((len(sem),), -1, dtype=torch.long, device=ys.device)
            pos_of[keep] = torch.arange(len(keep), device=ys.device)
            pos = pos_of[ys[train]]
            r = F.normalize(self.cal_head(self.cal_fusion([t[train] for t in taps])), dim=-1)  # (B', S)
            ce = F.cross_entropy((r @ sem[keep].T) / c.query_temperature, pos, reduction="sum")
            loss = ce * world_size() / n_train.to(ce)  # DDP averages the ranks: the global mean
        score = is_val | held
        hits = torch.zeros(2, len(GAMMAS), dtype=torch.float64, device=ys.device)
        n = torch.zeros(2, dtype=torch.float64, device=ys.device)
        if bool(score.any()):
            with torch.no_grad():
                was = self.cal_fusion.training, self.cal_head.training
                self.cal_fusion.eval(), self.cal_head.eval()
                r = F.normalize(self.cal_head(self.cal_fusion([t[score] for t in taps])), dim=-1)
                self.cal_fusion.train(was[0]), self.cal_head.train(was[1])
                hits, n = decision_counts(*group_margins(r @ sem.T, ys[score], self.cal_val))
        self._count(all_reduce_sum(hits), all_reduce_sum(n))
        return loss

    @torch.no_grad()
    def _count(self, hits: torch.Tensor, n: torch.Tensor) -> None:
        """Adds a step's right decisions ``(2, G)`` and group sizes ``(2,)`` to the decayed counts and chooses gamma
        again on them (``accuracies``, ``choose_gamma``)."""
        d = float(self.cfg.calib_decay)
        self.cal_hits.mul_(d).add_(hits.to(self.cal_hits))
        self.cal_n.mul_(d).add_(n.to(self.cal_n))
        self.cal_count.add_(int(n.sum()))
        res = accuracies(self.cal_hits, self.cal_n)
        i, i0 = choose_gamma(GAMMAS, res["hm"]), int(GAMMAS.abs().argmin())
        self.cal_gamma.fill_(float(GAMMAS[i]))
        self.cal_stats.copy_(torch.tensor([float(res[k][j]) for j in (i, i0) for k in ("seen", "unseen", "hm")]))

    def _push(self, margin: torch.Tensor, correct: torch.Tensor, unseen: torch.Tensor) -> None:
        """Counts scored sketches given as ``group_margins`` (one step)."""
        self._count(*decision_counts(margin, correct, unseen))
