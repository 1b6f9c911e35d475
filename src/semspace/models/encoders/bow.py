"""Encoders without learned weights: a bag of words for captions, and given feature vectors passed through.

* ``bow_text``: the text input of CHTN (Huang, Peng, Yuan, IJCAI 2017; the authors' README: the Wikipedia texts
  are 3000-d bag-of-words vectors) for texts given as strings: word counts ``(B, V)`` over a vocabulary built
  from the training captions (``semspace.data.tokenizer``, saved in the cfg), optionally ``log(1 + count)``.
  Its ``output_dim`` is V; the task's text branch (fc6, fc7) learns on top of it.
* ``identity_features``: precomputed vectors ``(B, F)`` used as they are (CHTN on the published features of
  Wikipedia, Pascal Sentences and NUS-WIDE-10k: the branches' fc6 reads them directly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from semspace.data.tokenizer import WordTokenizer, tokenize
from semspace.errors import ConfigError, DataError
from semspace.models.encoders.base import BaseEncoder
from semspace.models.registry import register_encoder


@dataclass
class BowTextCfg:
    vocab: list[str] = field(default_factory=list)  # words in column order (filled from the training captions)
    log_counts: bool = True  # log(1 + count) instead of raw counts


@register_encoder("bow_text")
class BowTextEncoder(BaseEncoder):
    """``list[str] -> (B, V)`` word counts over ``cfg.vocab`` (module docstring).

    Example:
        >>> enc = BowTextEncoder(vocab=["red", "chair"], log_counts=False)
        >>> enc.encode(["a red red chair"]).tolist()
        [[2.0, 1.0]]
    """

    cfg_class = BowTextCfg
    input_kind = "text"

    def __init__(self, cfg: BowTextCfg | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(cfg, **overrides)
        if not self.cfg.vocab:
            raise ConfigError("bow_text: the vocabulary is empty; build it from the training captions (vocab=...)")
        self.tokenizer = WordTokenizer(self.cfg.vocab)
        self.output_dim = len(self.cfg.vocab)
        self.register_buffer("_anchor", torch.zeros(0), persistent=False)  # follows .to(device)

    _anchor: torch.Tensor

    def unknown_words(self, text: str) -> list[str]:
        """Words of ``text`` outside the vocabulary (they are not counted)."""
        return self.tokenizer.unknown_words(text)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise DataError(f"bow_text: expected a list of strings, got {type(texts).__name__}")
        out = torch.zeros(len(texts), self.output_dim, device=self._anchor.device)  # (B, V)
        for i, text in enumerate(texts):
            for w in tokenize(text):
                j = self.tokenizer.stoi.get(w)
                if j is not None and j >= 2:  # ids 0/1 are <pad>/<unk>
                    out[i, j - 2] += 1
        return out.log1p() if self.cfg.log_counts else out


@dataclass
class IdentityFeaturesCfg:
    in_dim: int = 4096  # width F of the given vectors


@register_encoder("identity_features")
class IdentityFeaturesEncoder(BaseEncoder):
    """``(B, F) -> (B, F)``: given feature vectors, unchanged (float32)."""

    cfg_class = IdentityFeaturesCfg
    input_kind = "features"

    def __init__(self, cfg: IdentityFeaturesCfg | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(cfg, **overrides)
        if self.cfg.in_dim <= 0:
            raise ConfigError(f"identity_features: in_dim must be positive, got {self.cfg.in_dim}")
        self.output_dim = int(self.cfg.in_dim)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != self.cfg.in_dim:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise DataError(f"identity_features: expected features of shape (B, {self.cfg.in_dim}), got {got}")
        return x.float()
