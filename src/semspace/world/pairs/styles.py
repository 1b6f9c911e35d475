"""The style spaces of the two domains of the pairs world.

Modelled on EGSC-IT's MNIST-Single (Ma et al., ICLR 2019, arXiv:1805.11145; ``papers/egsc_it.md``):
domain A is binary-like digits, white-on-black or black-on-white with probability 1/2 each. Domain B is
richer than the paper's six flat {R, G, B} colour pairs; a :class:`BStyle` is

* ``fg``: the ink colour; ``bg`` / ``bg2``: the background, a linear two-colour gradient along
  ``gradient_angle`` (``bg2 == bg`` for a flat background, probability 1/2). Colours are drawn in HSV
  (h ~ U(0, 1), s ~ U(0.3, 1), v ~ U(0.25, 1)) and rejected until the ink differs from *both* background
  colours by at least ``MIN_RGB_DIST`` (Euclidean, RGB in [0, 1]) and ``MIN_LUMA_DIST`` in luma, so the
  digit stays legible in colour and in grey;
* lighting: a shading ramp over the whole image (ink and background alike), brightest towards
  ``light_angle`` (degrees, 0 = from the right, 90 = from below) and darker by up to ``ramp`` ~ U(0, 0.4)
  on the far side;
* ``texture``: none (probability 1/2) or one of stripes / checker / dots / noise (1/8 each) modulating
  the background by ``texture_amp`` ~ U(0.06, 0.2) with period ``texture_period`` ~ U(0.08, 0.25) of
  the side at ``texture_angle``; the noise texture is a pure function of ``texture_seed``.

Content and style are independent by default. :data:`CORRELATED_STYLE` is the fixed style of the
optional EGSC-IT-like training correlation (see ``PairWorld(correlated=True)``).
"""

from __future__ import annotations

import colorsys
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

Polarity = Literal["white_on_black", "black_on_white"]
POLARITIES: tuple[Polarity, ...] = ("white_on_black", "black_on_white")
TEXTURES = ("none", "stripes", "checker", "dots", "noise")
MIN_RGB_DIST = 0.45  # ink vs each background colour, Euclidean in [0, 1]^3
MIN_LUMA_DIST = 0.2  # ink vs each background colour, Rec. 601 luma in [0, 1]
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class AStyle:
    """Domain A style: only the polarity of a binary-like digit."""

    polarity: Polarity = "white_on_black"

    @property
    def fg(self) -> RGB:
        return (255, 255, 255) if self.polarity == "white_on_black" else (0, 0, 0)

    @property
    def bg(self) -> RGB:
        return (0, 0, 0) if self.polarity == "white_on_black" else (255, 255, 255)

    def to_dict(self) -> dict[str, Any]:
        return {"domain": "a", "polarity": self.polarity}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AStyle:
        return cls(polarity=d["polarity"])


@dataclass(frozen=True)
class BStyle:
    """Domain B style: colours, gradient, lighting ramp and background texture (module docstring)."""

    fg: RGB = (255, 255, 255)  # ink colour
    bg: RGB = (0, 0, 0)  # background colour at the gradient's start
    bg2: RGB = (0, 0, 0)  # background colour at the gradient's end (== bg: flat)
    gradient_angle: float = 0.0  # degrees, direction from bg to bg2
    light_angle: float = 0.0  # degrees, where the light comes from
    ramp: float = 0.0  # darkening on the side away from the light, in [0, 1)
    texture: str = "none"  # one of TEXTURES
    texture_period: float = 0.15  # pattern period as a fraction of the image side
    texture_angle: float = 0.0  # degrees
    texture_amp: float = 0.0  # relative modulation of the background
    texture_seed: int = 0  # seeds the noise texture

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fg"], d["bg"], d["bg2"] = list(self.fg), list(self.bg), list(self.bg2)
        return {"domain": "b", **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BStyle:
        kw = {k: v for k, v in d.items() if k != "domain"}
        for k in ("fg", "bg", "bg2"):
            kw[k] = tuple(int(c) for c in kw[k])
        return cls(**kw)


# EGSC-IT trains MNIST-Single with every B digit > 4 drawn red on green; ours is the same fixed style.
CORRELATED_STYLE = BStyle(fg=(230, 30, 30), bg=(30, 160, 40), bg2=(30, 160, 40))


def style_from_dict(d: dict[str, Any]) -> AStyle | BStyle:
    """Rebuilds a style from its ``to_dict`` form (the ``domain`` field picks the class)."""
    return AStyle.from_dict(d) if d.get("domain") == "a" else BStyle.from_dict(d)


def sample_a_style(rng: np.random.Generator) -> AStyle:
    """White-on-black or black-on-white, 50/50 (EGSC-IT's domain A)."""
    return AStyle(polarity=POLARITIES[int(rng.integers(2))])


def _luma(c: np.ndarray) -> float:
    return float(c @ np.array([0.299, 0.587, 0.114]))


def _hsv(rng: np.random.Generator) -> np.ndarray:
    h, s, v = rng.uniform(0.0, 1.0), rng.uniform(0.3, 1.0), rng.uniform(0.25, 1.0)
    return np.array(colorsys.hsv_to_rgb(h, s, v))  # (3,) in [0, 1]


def _far_enough(fg: np.ndarray, bg: np.ndarray) -> bool:
    return float(np.linalg.norm(fg - bg)) >= MIN_RGB_DIST and abs(_luma(fg) - _luma(bg)) >= MIN_LUMA_DIST


def _to_rgb(c: np.ndarray) -> RGB:
    r, g, b = (int(round(float(x) * 255)) for x in c)
    return (r, g, b)


def _sample_colours(rng: np.random.Generator) -> tuple[RGB, RGB, RGB]:
    gradient = bool(rng.integers(2))
    for _ in range(200):
        fg, bg = _hsv(rng), _hsv(rng)
        bg2 = _hsv(rng) if gradient else bg
        if _far_enough(fg, bg) and _far_enough(fg, bg2):
            return _to_rgb(fg), _to_rgb(bg), _to_rgb(bg2)
    return (255, 255, 255), (0, 0, 0), (0, 0, 0)  # practically unreachable; still a pure function of rng


def sample_b_style(rng: np.random.Generator) -> BStyle:
    """Draws one domain-B style from the space described in the module docstring."""
    fg, bg, bg2 = _sample_colours(rng)
    texture = "none" if rng.uniform() < 0.5 else TEXTURES[1 + int(rng.integers(len(TEXTURES) - 1))]
    return BStyle(
        fg=fg,
        bg=bg,
        bg2=bg2,
        gradient_angle=float(rng.uniform(0.0, 360.0)),
        light_angle=float(rng.uniform(0.0, 360.0)),
        ramp=float(rng.uniform(0.0, 0.4)),
        texture=texture,
        texture_period=float(rng.uniform(0.08, 0.25)),
        texture_angle=float(rng.uniform(0.0, 180.0)),
        texture_amp=0.0 if texture == "none" else float(rng.uniform(0.06, 0.2)),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )
