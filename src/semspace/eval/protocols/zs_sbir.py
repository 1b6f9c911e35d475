"""Zero-shot sketch-based image retrieval (ZS-SBIR): the protocol of SSGN, ZSIH, CVAE and SEM-PCYC.

Queries are the sketches of the **unseen** classes; the gallery is the photos of the same unseen classes; a
retrieved photo is relevant when it has the sketch's class (``papers/ssgn.md``, ``papers/datasets.md``). Reported:
mAP@all and Precision@100 (Shen et al. 2018's Sketchy-Ext 100/25 and TU-Berlin-Ext 220/30 splits) and mAP@200 and
Precision@200 (Yelamarthi et al. 2018's Sketchy 104/21 split); definitions in ``eval.metrics`` (mAP@k is normalised
by the relevant items found in the top k, as sem-pcyc's ``apsak``; P@k divides by k).

Ranking is by **cosine similarity on unit vectors** (ties by gallery index). Some peer code ranks by
``exp(-||q - g||)`` (Euclidean); the two orders agree only on unit vectors (``||q - g||^2 = 2 - 2 cos``), which is
what every task's ``embed`` returns, so the numbers are comparable.

The **generalised** setting (``generalized_photos``: photos of the seen classes added to the gallery, the same
unseen-class sketch queries) is reported with the prefix ``generalized_``. A task that infers query semantics
from candidate classes (``set_query_classes``, SSGN) is given the gallery's classes: the unseen ones in the
zero-shot setting, all of them in the generalised one. Such a task's class inference lowers the seen candidates'
scores by its calibrated ``gamma`` (calibrated stacking, Chao et al. 2016; ``tasks/ssgn_calibration.py``): the
``generalized_`` figures use the run's gamma (``seen_bias`` overrides it: ``semspace eval --set seen_bias=0``),
``generalized_seen_bias_gamma`` says which, and ``generalized_uncalibrated_`` repeats them at gamma 0 when it is not 0.
The drawing check of query sketches (``data/sketch_input.py``)
is off while the protocol embeds (``set_sketch_check``): it guards user queries, and one refused item would stop
the evaluation.

With **fewer than two unseen classes** in the gallery every photo is relevant to every query, so the unseen-only
figures are 1.000 whatever the model does: the output then carries ``sketch_to_photo_TRIVIAL_one_unseen_class``
(1.0) beside them and a warning is logged; ``sketch_to_photo_unseen_classes`` always says how many there were.
Only the generalised figures (seen-class photos added) measure such a run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from semspace.errors import ConfigError, DataError
from semspace.eval.embedding import embed_dataset
from semspace.eval.metrics import retrieval_metrics
from semspace.eval.protocols.registry import PROTOCOLS
from semspace.types import KEY, LABEL

PREFIX = "sketch_to_photo_"
TRIVIAL_KEY = PREFIX + "TRIVIAL_one_unseen_class"
log = logging.getLogger(__name__)


def zs_sbir_metrics(
    queries: torch.Tensor,
    gallery: torch.Tensor,
    query_labels: torch.Tensor,
    gallery_labels: torch.Tensor,
    *,
    map_at: Sequence[int | str] = ("all", 200),
    precision_at: Sequence[int] = (100, 200),
    prefix: str = PREFIX,
) -> dict[str, float]:
    """``{sketch_to_photo_mAP@all, ..._mAP@200, ..._P@100, ..._P@200}`` by cosine over unit vectors."""
    m = retrieval_metrics(queries, gallery, query_labels, gallery_labels, ks=(), map_at=map_at,
                          precision_at=precision_at, normalize=True)  # fmt: skip
    return {f"{prefix}{k}": v for k, v in m.items()}


def _spec(value: Any, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "name" not in value:
        raise ConfigError(f"zs_sbir: {what} needs {{name, args}} of a registered dataset, got {value!r}")
    return {"name": value["name"], "args": dict(value.get("args") or {})}


@PROTOCOLS.register("zs_sbir")
class ZsSbirProtocol:
    """Embeds unseen-class sketches and photos with the task and scores ZS-SBIR (module docstring).

    Args:
        sketches: ``{"name", "args"}`` of the query sketches (unseen classes).
        photos: ``{"name", "args"}`` of the gallery photos (unseen classes).
        generalized_photos: optional ``{"name", "args"}`` of seen-class photos added for the generalised setting.
        sketch_domain: the task's sketch domain (default: its first domain of kind sketch).
        photo_domain: the task's photo domain (default: its first domain of kind image).
        map_at: ``"all"`` and cut-offs.
        precision_at: P@K cut-offs.
        batch_size: embedding batch size.
        seen_bias: gamma of the task's calibrated stacking for this evaluation (None: the run's own).
    """

    def __init__(self, *, sketches: dict[str, Any], photos: dict[str, Any], generalized_photos: dict[str, Any] | None
                 = None, sketch_domain: str = "", photo_domain: str = "", map_at: Sequence[int | str] = ("all", 200),
                 precision_at: Sequence[int] = (100, 200), batch_size: int = 128,
                 seen_bias: float | None = None) -> None:  # fmt: skip
        sk, ph = _spec(sketches, "sketches"), _spec(photos, "photos")
        if sk is None or ph is None:
            raise ConfigError("zs_sbir: sketches and photos are required ({name, args} each)")
        self.sketches, self.photos = sk, ph
        self.generalized = _spec(generalized_photos, "generalized_photos")
        self.sketch_domain, self.photo_domain = sketch_domain, photo_domain
        self.map_at, self.precision_at = list(map_at), [int(k) for k in precision_at]
        self.batch_size = int(batch_size)
        self.seen_bias = None if seen_bias is None else float(seen_bias)
        self._datasets: dict[str, Any] = {}

    @staticmethod
    def data_overrides(name: str, args: dict[str, Any]) -> dict[str, Any]:
        """``semspace eval --data NAME:ARGS`` for this protocol: the sketches and the photos of one dataset that
        serves both views (``view: sketch`` and ``view: photo``); ARGS select the unseen classes (the loaders'
        ``split=unseen,unseen_file=...``, the world's ``classes=unseen``). The run's generalised gallery belongs to
        its own data, so it is dropped."""
        if "view" in args:
            raise ConfigError(f"--data {name}: leave 'view' out; zs_sbir reads view=sketch queries and view=photo "
                              "photos of the same dataset")  # fmt: skip
        return {"sketches": {"name": name, "args": {**args, "view": "sketch"}},
                "photos": {"name": name, "args": {**args, "view": "photo"}}, "generalized_photos": None}  # fmt: skip

    def _domain(self, task: Any, name: str, kind: str) -> str:
        if name:
            task.domain(name)
            return name
        for d, spec in task.domains().items():
            if spec.kind.value == kind:
                return d
        raise ConfigError(f"zs_sbir: task {task.name!r} has no {kind} domain; it embeds {list(task.domains())}")

    def _embed(self, task: Any, which: str, spec: dict[str, Any], domain: str) -> tuple[torch.Tensor, torch.Tensor,
                                                                                         list[str]]:  # fmt: skip
        from semspace.data import create_dataset

        if which not in self._datasets:
            self._datasets[which] = create_dataset(spec["name"], **spec["args"])
        ds = self._datasets[which]
        if len(ds) == 0:
            raise DataError(f"zs_sbir: the {which} dataset {spec['name']!r} is empty")
        device = next(task.parameters()).device
        e = embed_dataset(task, ds, task.domain(domain), batch_size=self.batch_size, device=device, keep=(LABEL, KEY),
                          source=spec["name"])  # fmt: skip
        return e.embeddings, e[LABEL], [str(k) for k in e.fields.get(KEY, [""] * len(e.embeddings))]

    def __call__(self, task: Any) -> dict[str, float]:
        sd = self._domain(task, self.sketch_domain, "sketch")
        pd = self._domain(task, self.photo_domain, "image")
        was_training = task.training
        task.eval()
        settable = hasattr(task, "set_query_classes")
        calibrated = hasattr(task, "set_seen_bias")
        bias_before = getattr(task.cfg, "seen_bias", None) if calibrated else None
        if calibrated and self.seen_bias is not None:
            task.set_seen_bias(self.seen_bias)
        checks = getattr(getattr(task, "cfg", None), "check_sketches", None)
        if checks is not None and hasattr(task, "set_sketch_check"):
            task.set_sketch_check(False)
        try:
            with torch.no_grad():
                zp, lp, kp = self._embed(task, "photos", self.photos, pd)
                if settable:
                    task.set_query_classes(sorted(set(kp)))
                zq, lq, _ = self._embed(task, "sketches", self.sketches, sd)
                out = zs_sbir_metrics(zq, zp, lq, lp, map_at=self.map_at, precision_at=self.precision_at)
                out |= self._classes_note(lp, kp)
                if self.generalized is not None:
                    zg, lg, kg = self._embed(task, "generalized_photos", self.generalized, pd)
                    if settable:
                        task.set_query_classes(sorted(set(kp) | set(kg)))
                    zq2 = self._embed(task, "sketches", self.sketches, sd)[0] if settable else zq
                    out |= zs_sbir_metrics(zq2, torch.cat([zp, zg]), lq, torch.cat([lp, lg]), map_at=self.map_at,
                                           precision_at=self.precision_at, prefix="generalized_" + PREFIX)  # fmt: skip
                    gamma = float(task.seen_bias) if calibrated else 0.0
                    if calibrated:
                        out["generalized_seen_bias_gamma"] = gamma
                    if calibrated and settable and gamma != 0.0:  # the same at gamma 0, for comparison
                        task.set_seen_bias(0.0)
                        zq3 = self._embed(task, "sketches", self.sketches, sd)[0]
                        out |= zs_sbir_metrics(zq3, torch.cat([zp, zg]), lq, torch.cat([lp, lg]), map_at=self.map_at,
                                               precision_at=self.precision_at,
                                               prefix="generalized_uncalibrated_" + PREFIX)  # fmt: skip
        finally:
            if calibrated:
                task.set_seen_bias(bias_before)
            if settable:
                task.set_query_classes(list(task.cfg.query_classes) or None)
            if checks is not None and hasattr(task, "set_sketch_check"):
                task.set_sketch_check(bool(checks))
            task.train(was_training)
        return out

    @staticmethod
    def _classes_note(labels: torch.Tensor, keys: list[str]) -> dict[str, float]:
        """``{sketch_to_photo_unseen_classes: n}``, with the trivial flag and a warning when ``n < 2`` (module
        docstring)."""
        n = len(set(labels.tolist()))
        out = {PREFIX + "unseen_classes": float(n)}
        if n < 2:
            names = sorted({k for k in keys if k}) or [str(v) for v in sorted(set(labels.tolist()))]
            log.warning("zs_sbir: the gallery holds %d unseen class (%s): every photo is relevant to every query, so "
                        "the unseen-only figures (mAP@all, P@K) are trivially 1.000; evaluate on at least two unseen "
                        "classes, or read the generalized_ figures", n, ", ".join(names))  # fmt: skip
            out[TRIVIAL_KEY] = 1.0
        return out
