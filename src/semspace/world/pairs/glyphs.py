"""Procedural handwritten digits: stroke skeletons of 0-9 plus per-item handwriting jitter.

The content of the pairs world (DESIGN §3) is a digit class, as in EGSC-IT's MNIST-Single domains
(Ma et al., ICLR 2019, arXiv:1805.11145; see ``papers/egsc_it.md``). Instead of MNIST bitmaps we draw
each digit from a *skeleton*: a few polylines and elliptic arcs in a unit box (x to the right, y down,
the glyph roughly in ``[0.25, 0.75] x [0.15, 0.85]``). A :class:`GlyphParams` fixes one handwritten
instance exactly:

* an affine "pen" transform: rotation, slant (shear along x), scale, aspect ratio, offset;
* a smooth random warp (a sum of two low-frequency sinusoids per axis, amplitude ``warp``) that stands
  in for control-point noise; because it is a continuous field, joined strokes stay joined;
* the stroke width (a fraction of the image side), used by the rasteriser.

Everything is a pure function of the parameters (the warp's coefficients come from ``warp_seed``), so
the ground-truth translation can redraw the exact same geometry in another style.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from semspace.utils.seed import rng_for

N_DIGITS = 10
_ARC_POINTS_PER_TURN = 40  # samples of a full ellipse; partial arcs get a proportional share


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float) -> np.ndarray:
    """Points of an elliptic arc from angle ``a0`` to ``a1`` (degrees; 0 = right, 90 = down)."""
    n = max(4, int(round(abs(a1 - a0) / 360.0 * _ARC_POINTS_PER_TURN)) + 1)
    t = np.deg2rad(np.linspace(a0, a1, n))  # (n,)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)  # (n, 2)


def _line(*pts: tuple[float, float]) -> np.ndarray:
    return np.asarray(pts, dtype=np.float64)  # (n, 2)


def _join(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts, axis=0)  # (sum n, 2): one continuous stroke


def _skeletons() -> tuple[tuple[np.ndarray, ...], ...]:
    """The canonical strokes of each digit, in unit-box coordinates (x right, y down)."""
    zero = (_arc(0.5, 0.5, 0.21, 0.33, 0, 360),)
    one = (_line((0.37, 0.29), (0.53, 0.16), (0.53, 0.85)),)
    two = (_join(_arc(0.5, 0.35, 0.21, 0.19, 195, 390), _line((0.27, 0.85), (0.75, 0.85))),)
    three = (_join(_arc(0.48, 0.33, 0.19, 0.17, 205, 450), _arc(0.48, 0.67, 0.22, 0.18, 270, 515)),)
    four = (_line((0.63, 0.85), (0.63, 0.15), (0.25, 0.63), (0.77, 0.63)),)
    five = (_join(_line((0.73, 0.16), (0.35, 0.16), (0.32, 0.49)), _arc(0.5, 0.64, 0.22, 0.2, 215, 495)),)
    six = (_join(_arc(0.72, 0.64, 0.44, 0.48, 258, 180), _arc(0.49, 0.65, 0.21, 0.2, 180, 540)),)
    seven = (_line((0.25, 0.16), (0.75, 0.16), (0.43, 0.85)),)
    eight = (_arc(0.5, 0.32, 0.17, 0.16, 90, 450), _arc(0.5, 0.67, 0.21, 0.19, -90, 270))
    nine = (_join(_arc(0.5, 0.34, 0.21, 0.19, 0, 360), _line((0.71, 0.34), (0.66, 0.85))),)
    return (zero, one, two, three, four, five, six, seven, eight, nine)


SKELETONS: tuple[tuple[np.ndarray, ...], ...] = _skeletons()


@dataclass(frozen=True)
class GlyphParams:
    """One handwritten instance of a digit; together with an image size it fixes every pixel of the mask.

    All lengths are fractions of the image side, so the same params render at any resolution.
    """

    digit: int  # content class 0-9
    rotation: float = 0.0  # degrees, counter-clockwise on screen
    slant: float = 0.0  # shear x += slant * (0.5 - y): positive leans the top to the right
    scale: float = 1.0  # isotropic scale about the box centre
    aspect: float = 1.0  # extra horizontal scale (width / height)
    dx: float = 0.0  # horizontal offset
    dy: float = 0.0  # vertical offset (down)
    width: float = 0.08  # stroke width
    warp: float = 0.0  # amplitude of the smooth handwriting warp
    warp_seed: int = 0  # seeds the warp's frequencies and phases

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GlyphParams:
        return cls(**d)


def canonical_glyph(digit: int) -> GlyphParams:
    """The un-jittered instance of ``digit`` (upright, centred, medium stroke)."""
    return GlyphParams(digit=int(digit))


def sample_glyph(rng: np.random.Generator, digit: int) -> GlyphParams:
    """Draws the handwriting jitter of one instance of ``digit``.

    Ranges: rotation U(-10, 10) degrees, slant U(-0.3, 0.3), scale U(0.8, 1.02), aspect U(0.85, 1.15),
    offset U(-0.04, 0.04) per axis, width U(0.055, 0.1), warp U(0, 0.035). These keep every glyph inside
    the frame and the ten classes apart (tested with a nearest-template classifier).
    """
    return GlyphParams(
        digit=int(digit),
        rotation=float(rng.uniform(-10.0, 10.0)),
        slant=float(rng.uniform(-0.3, 0.3)),
        scale=float(rng.uniform(0.8, 1.02)),
        aspect=float(rng.uniform(0.85, 1.15)),
        dx=float(rng.uniform(-0.04, 0.04)),
        dy=float(rng.uniform(-0.04, 0.04)),
        width=float(rng.uniform(0.055, 0.1)),
        warp=float(rng.uniform(0.0, 0.035)),
        warp_seed=int(rng.integers(0, 2**31 - 1)),
    )


def _warp(p: np.ndarray, amp: float, warp_seed: int) -> np.ndarray:
    """Adds a smooth displacement field (2 sinusoids per axis, 0.5-1.5 cycles per unit) to points ``p``."""
    if amp <= 0.0:
        return p
    r = rng_for(warp_seed, 0x57A9)
    freq = r.uniform(0.5, 1.5, size=(2, 2, 2)) * 2.0 * math.pi  # (axis, component, xy)
    phase = r.uniform(0.0, 2.0 * math.pi, size=(2, 2))  # (axis, component)
    arg = np.einsum("acx,nx->nac", freq, p) + phase  # (n, axis, component)
    return p + amp * np.sin(arg).mean(axis=2)  # (n, 2)


def glyph_strokes(params: GlyphParams) -> list[np.ndarray]:
    """The strokes of an instance in unit-box coordinates: a list of ``(n, 2)`` polylines (x, y)."""
    if not 0 <= params.digit < N_DIGITS:
        raise ValueError(f"digit must be in 0..{N_DIGITS - 1}, got {params.digit}")
    th = math.radians(params.rotation)
    c, s = math.cos(th), math.sin(th)
    # pen transform about the box centre: aspect/scale, then slant, then rotation (y down => flip sign of s)
    lin = np.array([[1.0, -params.slant], [0.0, 1.0]]) @ np.diag([params.scale * params.aspect, params.scale])
    lin = np.array([[c, s], [-s, c]]) @ lin  # (2, 2)
    shift = np.array([0.5 + params.dx, 0.5 + params.dy])  # (2,)
    out = []
    for stroke in SKELETONS[params.digit]:
        p = (stroke - 0.5) @ lin.T + shift  # (n, 2)
        out.append(_warp(p, params.warp, params.warp_seed))
    return out
