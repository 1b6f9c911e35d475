"""The ``pairs`` world kind: one digit content in two domains, style carried by an exemplar.

The translation part of the world (DESIGN §3), after EGSC-IT's MNIST-Single (Ma et al., ICLR 2019,
arXiv:1805.11145; ``papers/egsc_it.md``). Item ``idx`` of ``split`` holds four independent *samples*
(a handwritten digit plus a style) and two ground truths built from them:

============  ======  ==================================================================
view          domain  what it is
============  ======  ==================================================================
source        A       a binary-like digit (white-on-black or black-on-white)
exemplar      B       a styled digit of *another* class: carries the target style
target        B       ground truth A->B: the source glyph, pixel-exact, in the exemplar style
source_b      B       an independent styled digit (for unpaired B training)
exemplar_a    A       a digit of another class than ``source_b``: carries the A polarity
target_b2a    A       ground truth B->A: the ``source_b`` glyph in the ``exemplar_a`` polarity
============  ======  ==================================================================

Each sample draws from its own stream ``rng_for(seed, KIND_KEY, split_key, idx, role)``, so everything is a
pure function of ``(seed, split, idx)`` and no view depends on which other views were asked for.

Content and style are independent by default. ``correlated=True`` reproduces EGSC-IT's training bias:
in the *train* split every domain-B sample whose digit is > 4 is drawn in :data:`CORRELATED_STYLE`
(red on green); val and test stay independent, so a translator can be checked on unseen combinations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from semspace.utils.seed import rng_for
from semspace.world.base import check_split
from semspace.world.pairs.glyphs import N_DIGITS, GlyphParams, sample_glyph
from semspace.world.pairs.render import coverage_mask, paint
from semspace.world.pairs.styles import CORRELATED_STYLE, AStyle, BStyle, sample_a_style, sample_b_style
from semspace.world.registry import WORLD_KINDS

KIND_KEY = 0x9A125  # keeps the pairs world's streams apart from the other kinds' at the same seed
ROLE_KEYS = {"source": 1, "exemplar": 2, "source_b": 3, "exemplar_a": 4}
PAIR_VIEWS = ("source", "exemplar", "target", "source_b", "exemplar_a", "target_b2a")
# view -> (sample giving the glyph, sample giving the style)
VIEW_RECIPES = {
    "source": ("source", "source"),
    "exemplar": ("exemplar", "exemplar"),
    "target": ("source", "exemplar"),
    "source_b": ("source_b", "source_b"),
    "exemplar_a": ("exemplar_a", "exemplar_a"),
    "target_b2a": ("source_b", "exemplar_a"),
}


@dataclass(frozen=True)
class PairSample:
    """One handwritten digit in one style."""

    glyph: GlyphParams
    style: AStyle | BStyle

    @property
    def domain(self) -> str:
        return "a" if isinstance(self.style, AStyle) else "b"

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "digit": self.glyph.digit, "glyph": self.glyph.to_dict(),
                "style": self.style.to_dict()}  # fmt: skip


@WORLD_KINDS.register("pairs")
class PairWorld:
    """Digits in domain A (binary-like) and domain B (styled), with exact ground-truth translations.

    Args:
        seed: world seed; every output is a pure function of ``(seed, split, idx)``.
        size: image side in pixels.
        correlated: EGSC-IT-like content/style correlation in the train split (module docstring).

    Example:
        >>> w = PairWorld(seed=0, size=64)
        >>> views = w.render_item(3, "train", ("source", "exemplar", "target"))
        >>> views["target"].shape
        (64, 64, 3)
    """

    name = "pairs"
    views: tuple[str, ...] = PAIR_VIEWS
    image_views: tuple[str, ...] = PAIR_VIEWS

    def __init__(self, seed: int = 0, size: int = 64, *, correlated: bool = False) -> None:
        if size < 8:
            raise ValueError(f"size must be >= 8 pixels, got {size}")
        self.seed = int(seed)
        self.size = int(size)
        self.correlated = bool(correlated)

    def _rng(self, split: str, idx: int, role: str) -> np.random.Generator:
        if idx < 0:
            raise IndexError(f"item index must be >= 0, got {idx}")
        return rng_for(self.seed, KIND_KEY, check_split(split, f"{self.name} world"), int(idx), ROLE_KEYS[role])

    def _b_style(self, rng: np.random.Generator, digit: int, split: str) -> BStyle:
        style = sample_b_style(rng)  # always drawn, so the stream does not depend on `correlated`
        return CORRELATED_STYLE if self.correlated and split == "train" and digit > 4 else style

    def samples(self, idx: int, split: str = "train") -> dict[str, PairSample]:
        """The four samples of an item: ``source``, ``exemplar``, ``source_b``, ``exemplar_a``."""
        r = self._rng(split, idx, "source")
        d_src = int(r.integers(N_DIGITS))
        source = PairSample(sample_glyph(r, d_src), sample_a_style(r))
        r = self._rng(split, idx, "exemplar")
        d_ex = (d_src + 1 + int(r.integers(N_DIGITS - 1))) % N_DIGITS  # any class but the source's
        exemplar = PairSample(sample_glyph(r, d_ex), self._b_style(r, d_ex, split))
        r = self._rng(split, idx, "source_b")
        d_b = int(r.integers(N_DIGITS))
        source_b = PairSample(sample_glyph(r, d_b), self._b_style(r, d_b, split))
        r = self._rng(split, idx, "exemplar_a")
        d_xa = (d_b + 1 + int(r.integers(N_DIGITS - 1))) % N_DIGITS
        exemplar_a = PairSample(sample_glyph(r, d_xa), sample_a_style(r))
        return {"source": source, "exemplar": exemplar, "source_b": source_b, "exemplar_a": exemplar_a}

    def view_sample(self, samples: dict[str, PairSample], view: str) -> PairSample:
        """The (glyph, style) a view is drawn from; ground truths combine two samples."""
        if view not in VIEW_RECIPES:
            raise KeyError(f"unknown pairs view {view!r}; expected one of {list(PAIR_VIEWS)}")
        content, style = VIEW_RECIPES[view]
        return PairSample(samples[content].glyph, samples[style].style)

    def annotation(self, idx: int, split: str = "train") -> dict[str, Any]:
        """JSON-serialisable ground truth: per view its domain, digit, glyph params and style params."""
        samples = self.samples(idx, split)
        return {
            "kind": self.name,
            "seed": self.seed,
            "split": split,
            "index": int(idx),
            "size": self.size,
            "correlated": self.correlated,
            "label": samples["source"].glyph.digit,
            "label_b": samples["source_b"].glyph.digit,
            "views": {v: self.view_sample(samples, v).to_dict() for v in PAIR_VIEWS},
        }

    def render_item(
        self, idx: int, split: str = "train", views: tuple[str, ...] | None = None
    ) -> dict[str, np.ndarray | str]:
        """Renders the requested views (all six by default) as ``(size, size, 3)`` uint8 RGB arrays."""
        return self.render_samples(self.samples(idx, split), views)  # type: ignore[return-value]

    def render_samples(
        self, samples: dict[str, PairSample], views: tuple[str, ...] | None = None
    ) -> dict[str, np.ndarray]:
        """Renders views of already drawn ``samples`` (as returned by :meth:`samples`)."""
        masks: dict[str, np.ndarray] = {}
        out: dict[str, np.ndarray] = {}
        for view in PAIR_VIEWS if views is None else views:
            if view not in VIEW_RECIPES:
                raise KeyError(f"unknown pairs view {view!r}; expected one of {list(PAIR_VIEWS)}")
            content, style = VIEW_RECIPES[view]
            if content not in masks:  # a ground truth reuses its content's mask: same glyph, same pixels
                masks[content] = coverage_mask(samples[content].glyph, self.size)
            out[view] = paint(masks[content], samples[style].style)
        return out
