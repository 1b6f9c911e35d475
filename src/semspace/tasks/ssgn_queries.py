"""SSGN at query time: the candidate classes of a sketch, zero-shot classification, the drawing check.

The test sketch's class is unknown, so SSGN infers its semantics from the candidate classes
(``tasks/ssgn.py``: ``s = softmax(cos(R(h), S_cand) / tau) S_cand``). The candidates are not frozen at training:

* any class of the label space (``class_names``) has its stored row of ``semantic_table``;
* a **new class name** gets its row from the run's semantics source when that source can embed it
  (``tasks/class_semantics.py``: MiniLM of names embeds any name, a word-vector table ``npz:PATH`` the names it
  holds, the world's attributes the world's 68 categories; ``class_aliases`` apply); otherwise a ``DataError``
  names the classes and what to do. Rows are cached per tuple of names (MiniLM is not run again per query).

``embed_sketch(x, classes, check)`` embeds drawings against given candidates without changing the task's state (the
service answers concurrent queries with one task); ``classify(x, classes)`` is zero-shot classification with the
semantic head (the candidates ranked by ``softmax(cos(R(h), S_cand) / tau)``, Wang et al. 2019's semantic side
information read backwards, ``papers/ssgn.md``; the seen candidates' cosines lowered by gamma, calibrated stacking,
``tasks/ssgn_calibration.py``); ``set_query_classes`` / ``set_sketch_check`` set the defaults the
protocol and ``embed`` use.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from semspace.data.sketch_input import normalize_sketches
from semspace.errors import ConfigError, DataError
from semspace.tasks.class_semantics import class_semantics, missing_semantics


class SsgnQueries:
    """Mixin of ``SsgnTask`` (module docstring); reads its ``cfg``, ``semantics``, ``sem_head`` and decoder."""

    cfg: Any
    semantics: torch.Tensor  # (C, S) unit rows of the label space
    query_table: torch.Tensor  # (Q, S) the default candidates' rows
    query_seen: torch.Tensor  # (Q,) bool: which of them are seen (training) classes
    _seen_names: set[str]
    seen_bias: float
    _row_cache: dict[tuple[str, ...], torch.Tensor]

    def missing_classes(self, names: list[str]) -> list[str]:
        """The names the run cannot embed: outside the label space and unknown to its semantics source."""
        new = [n for n in names if n not in self.cfg.class_names]
        return missing_semantics(self.cfg.semantics, new, self.cfg.class_aliases) if new else []

    def class_rows(self, names: list[str]) -> torch.Tensor:
        """``(Q, S)`` unit semantic rows of ``names`` (module docstring).

        Raises:
            DataError: no names, a repeated name, or names the run's semantics source cannot embed (named).
        """
        key = tuple(str(n) for n in names)
        if not key:
            raise DataError("ssgn: no candidate classes; name at least one (e.g. --classes cat,dog)")
        if len(set(key)) != len(key):
            raise DataError(f"ssgn: candidate classes repeat a name: {sorted({n for n in key if key.count(n) > 1})}")
        if key in self._row_cache:
            return self._row_cache[key]
        new = [n for n in key if n not in self.cfg.class_names]
        rows: dict[str, torch.Tensor] = {}
        if new:
            missing = self.missing_classes(new)
            if missing:
                raise DataError(
                    f"ssgn: cannot embed class name(s) {missing[:10]}: the run's semantics {self.cfg.semantics!r} "
                    f"has no side information for them and its label space ({len(self.cfg.class_names)} classes, "
                    f"e.g. {self.cfg.class_names[:5]}) does not hold them; use names it knows, map them with "
                    "task_args.class_aliases, or train with semantics minilm_names (any name) or npz:PATH (word "
                    "vectors of your classes)"
                )
            table = class_semantics(self.cfg.semantics, new, self.cfg.class_aliases)  # (N, S) unit rows
            rows = {n: torch.from_numpy(table[i]) for i, n in enumerate(new)}
        out = torch.stack(
            [rows[n].to(self.semantics) if n in rows else self.semantics[self.cfg.class_names.index(n)] for n in key]
        )  # (Q, S)
        if len(self._row_cache) < 256:
            self._row_cache[key] = out
        return out

    def query_semantics(self, h: torch.Tensor, cand: torch.Tensor | None = None,
                        cand_seen: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """Semantics ``(B, S)`` for sketches of unknown class (module docstring: ``semantic_query``), inferred among
        the candidates' rows ``cand (Q, S)`` (default: ``query_table``), the seen ones ``cand_seen (Q,)`` lowered by
        gamma (calibrated stacking; default: ``query_seen``, none when ``cand`` is given without it)."""
        return self.infer_semantics(h, cand, cand_seen)[0]

    def infer_semantics(self, h: torch.Tensor, cand: torch.Tensor | None = None,
                        cand_seen: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """``query_semantics`` and ``u (B,)``, the posterior mass of the candidates that are not seen classes (the
        gallery gate's query side); 0 unless the candidates mix seen and unseen classes."""
        r = F.normalize(self.sem_head(h), dim=-1)  # type: ignore[attr-defined]  # (B, S)
        u = r.new_zeros(len(r))  # (B,)
        if self.cfg.semantic_query == "regress":
            return r, u
        if cand is None:
            cand, cand_seen = self.query_table, self.query_seen  # (Q, S), (Q,)
        scores = self.calibrated_scores(r @ cand.T, cand_seen)  # (B, Q)
        p = (scores / self.cfg.query_temperature).softmax(dim=1)  # (B, Q)
        if self.cfg.semantic_query == "nearest":
            p = F.one_hot(scores.argmax(dim=1), len(cand)).to(p)
        if cand_seen is not None and bool(cand_seen.any()) and not bool(cand_seen.all()):
            u = (p * (~cand_seen).to(p)[None, :]).sum(dim=1)
        return p @ cand, u  # (B, S), (B,)

    def calibrated_scores(self, cos: torch.Tensor, cand_seen: torch.Tensor | None) -> torch.Tensor:
        """``cos (B, Q) - gamma * cand_seen`` (Chao et al. 2016's calibrated stacking, ``tasks/ssgn_calibration``)."""
        gamma = self.seen_bias
        if cand_seen is None or gamma == 0.0:
            return cos
        return cos - gamma * cand_seen.to(cos.dtype)[None, :]  # (B, Q)

    def seen_flags(self, names: list[str]) -> torch.Tensor:
        """``(Q,)`` bool: which of ``names`` are seen (training) classes of the run, the ones calibrated stacking
        lowers; a name outside the label space is unseen."""
        return torch.tensor([n in self._seen_names for n in names], dtype=torch.bool)

    def set_query_classes(self, names: list[str] | None) -> None:
        """The default candidate classes of query-time semantics (None: every class of the label space, the
        generalised setting); names outside the label space are embedded when the semantics can."""
        names = list(self.cfg.class_names) if names is None else list(names)
        self.query_table = self.class_rows(names)
        self.query_seen = self.seen_flags(names).to(self.query_table.device)

    def set_sketch_check(self, on: bool) -> None:
        """Whether ``embed`` refuses blank drawings and photos (``data/sketch_input.py``); the protocols turn it off."""
        self.cfg.check_sketches = bool(on)

    def _pictures(self, x: torch.Tensor, check: bool) -> torch.Tensor:
        """Sketch pictures ``(B, C, H, W)`` normalised (inverted when dark, checked when ``check``); taps pass."""
        if x.ndim != 4:
            return x
        pre = self._specs[self.cfg.sketch_domain].preprocess  # type: ignore[attr-defined]
        assert pre is not None
        return normalize_sketches(x, pre, check=check)

    @torch.no_grad()
    def embed_sketch(self, x: torch.Tensor, classes: list[str] | None = None, check: bool = True) -> torch.Tensor:
        """Unit generated photo features ``(B, P)`` of drawings, their semantics inferred among ``classes`` (default:
        the task's current candidates); ``check=False`` skips the drawing check."""
        cand = seen = None
        if classes is not None and self.cfg.method not in ("cvae", "direct"):
            cand = self.class_rows(classes)  # (Q, S)
            seen = self.seen_flags(classes).to(cand.device)  # (Q,) lowered by gamma (calibrated stacking)
        g, u = self.generate_gated(self._pictures(x, check), cand, seen)  # type: ignore[attr-defined]
        return self.gate_query(F.normalize(g, dim=-1), u)  # type: ignore[attr-defined]

    @torch.no_grad()
    def classify(self, x: torch.Tensor, classes: list[str] | None = None,
                 check: bool = True) -> tuple[list[str], torch.Tensor, torch.Tensor]:  # fmt: skip
        """Zero-shot classification of drawings among ``classes`` (default: the task's current candidates, else the
        label space): the names, the probabilities ``softmax((cos - gamma 1[seen]) / tau)`` ``(B, Q)`` (calibrated
        stacking: the seen classes' cosines lowered by the run's gamma, ``seen_bias``) and the raw cosines ``(B, Q)``.

        Raises:
            ConfigError: the method has no trained semantic head (``cvae``, ``direct``).
            DataError: a class the run cannot embed, a blank drawing or a photo (unless ``check=False``).
        """
        if self.cfg.method not in ("ssgn", "single_stage"):
            raise ConfigError(f"ssgn: method {self.cfg.method!r} trains no semantic head, so it cannot classify; "
                              "use a run of method ssgn or single_stage")  # fmt: skip
        names = list(classes) if classes else list(self.cfg.query_classes or self.cfg.class_names)
        table = self.class_rows(names)  # (Q, S)
        h = self.sketch_feature(self._pictures(x, check))  # type: ignore[attr-defined]  # (B, H)
        cos = F.normalize(self.sem_head(h), dim=-1) @ table.T  # type: ignore[attr-defined]  # (B, Q)
        scores = self.calibrated_scores(cos, self.seen_flags(names).to(cos.device))  # (B, Q)
        return names, (scores / self.cfg.query_temperature).softmax(dim=1), cos
