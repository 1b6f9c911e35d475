"""Seeded specs of one photo and one sketch instance: the within-class variation, as ground truth.

A spec is a small frozen dataclass sampled from a ``numpy.random.Generator``; the renderers are pure functions
of it. Photo variation: colour, texture, pose, background, lighting. Sketch variation: pose and drawing style
(wobble, thickness, over/undershoot, missing and stray strokes). Both carry a geometry seed that varies the
category's proportions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np

from semspace.data.palette import CSS_COLORS
from semspace.world.objects.catalog import build_parts
from semspace.world.objects.layout import Pose

OBJECT_COLORS: dict[str, tuple[int, int, int]] = {
    **CSS_COLORS,
    "orange": (250, 135, 25),
    "pink": (240, 120, 180),
    "white": (238, 238, 234),
    "black": (38, 38, 42),
}
BACKGROUND_TONES: dict[str, tuple[int, int, int]] = {
    "white": (246, 246, 244), "cream": (244, 234, 204), "light gray": (205, 205, 208), "dark gray": (72, 72, 78),
    "sky blue": (165, 205, 240), "pale green": (195, 230, 185), "pink": (245, 205, 218), "lavender": (212, 202, 240),
    "beige": (222, 202, 170), "navy": (32, 42, 92), "olive": (120, 125, 70), "black": (22, 22, 26),
}  # fmt: skip
FIXED_ROLES: dict[str, tuple[int, int, int]] = {
    "dark": (40, 40, 46),
    "light": (200, 226, 246),
    "wood": (150, 98, 52),
    "metal": (168, 172, 182),
    "leaf": (70, 165, 60),
    "flame": (255, 160, 40),
    "white": (246, 246, 240),
}  # fmt: skip; materials whose colour does not vary between photos (beyond a small jitter)
TEXTURES = ("plain", "striped", "dotted", "speckled", "checkered")
BACKGROUNDS = ("plain", "gradient", "floor", "noise", "stripes")
STRAYS = ("none", "ground", "hatching", "scribble")


def _jitter_rgb(rgb: tuple[int, int, int], rng: np.random.Generator, amount: float) -> tuple[int, int, int]:
    c = np.asarray(rgb, dtype=np.float64) * rng.uniform(1 - amount, 1 + amount) + rng.normal(0, 6, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))  # type: ignore[return-value]


@cache
def dominant_role(category: str) -> str:
    """The material of the largest filled shape of ``category`` (a snowman's body is ``"white"``)."""
    best, role = -1.0, "main"
    for part in build_parts(category):
        for s in part.shapes:
            x, y = s.points[:, 0], s.points[:, 1]
            area = 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))  # shoelace
            if s.kind == "fill" and area > best:
                best, role = area, s.role
    return role


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return float(np.linalg.norm(np.subtract(a, b, dtype=np.float64))) / 255.0


@dataclass(frozen=True)
class PhotoSpec:
    """Everything that varies between two photos of one class."""

    category: str
    pose: Pose
    geometry_seed: int  # within-class proportions
    detail_seed: int  # texture and background noise fields
    color: str  # key of OBJECT_COLORS: the main colour
    color_rgb: tuple[int, int, int]
    second_color: str
    second_rgb: tuple[int, int, int]
    texture: str  # one of TEXTURES
    texture_angle: float  # degrees
    texture_period: float  # pixels at 64x64
    texture_light: bool  # pattern lighter (True) or darker than the main colour
    background: str  # one of BACKGROUNDS
    bg_color: str  # key of BACKGROUND_TONES
    bg_rgb: tuple[int, int, int]
    bg_rgb2: tuple[int, int, int]  # second background tone (gradient end, floor)
    bg_angle: float  # gradient direction, degrees
    horizon: float  # floor line, fraction of the height
    light_angle: float  # direction the light comes from, degrees
    shading: float  # strength of the per-part shading gradient
    brightness: float
    contrast: float
    shadow: float  # darkness of the ground shadow (0: none)
    noise: float  # std of pixel noise, in [0, 1] units

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SketchSpec:
    """Everything that varies between two sketches of one class: the drawer's pose and hand."""

    category: str
    pose: Pose
    geometry_seed: int
    stroke_seed: int  # per-stroke randomness (wobble phases, drops, overshoots)
    wobble: float  # low-frequency wobble amplitude, pixels at 64x64
    thickness: float  # mean stroke width, pixels at 64x64
    overshoot: float  # typical over/undershoot at stroke ends, pixels at 64x64
    p_missing: float  # chance that a stroke is left out
    p_double: float  # chance that a stroke is traced twice
    stray: str  # one of STRAYS
    ink: int  # darkness of the strokes (0 = black)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_pose(rng: np.random.Generator, rotation: float, scale: tuple[float, float], shift: float) -> Pose:
    """A pose with rotation in ``[-rotation, rotation]`` degrees, the given scale range and shift."""
    return Pose(
        rotation=float(rng.uniform(-rotation, rotation)),
        scale=float(rng.uniform(*scale)),
        shift=(float(rng.uniform(-shift, shift)), float(rng.uniform(-shift, shift))),
        flip=bool(rng.random() < 0.5),
    )


def sample_photo_spec(category: str, rng: np.random.Generator) -> PhotoSpec:
    """One photo instance of ``category``."""
    names = list(OBJECT_COLORS)
    color = names[int(rng.integers(len(names)))]
    second = [n for n in names if n != color][int(rng.integers(len(names) - 1))]
    color_rgb = _jitter_rgb(OBJECT_COLORS[color], rng, 0.08)
    avoid = [OBJECT_COLORS[color]]  # the background must stand out from the main and the dominant material
    if dominant_role(category) in FIXED_ROLES:
        avoid.append(FIXED_ROLES[dominant_role(category)])
    tones = [t for t in BACKGROUND_TONES if all(_distance(BACKGROUND_TONES[t], c) > 0.5 for c in avoid)]
    tones = tones or [t for t in BACKGROUND_TONES if _distance(BACKGROUND_TONES[t], avoid[0]) > 0.5]
    bg = tones[int(rng.integers(len(tones)))]
    bg_rgb = _jitter_rgb(BACKGROUND_TONES[bg], rng, 0.06)
    return PhotoSpec(
        category=category,
        pose=sample_pose(rng, 14.0, (0.72, 1.0), 0.1),
        geometry_seed=int(rng.integers(2**31)),
        detail_seed=int(rng.integers(2**31)),
        color=color,
        color_rgb=color_rgb,
        second_color=second,
        second_rgb=_jitter_rgb(OBJECT_COLORS[second], rng, 0.08),
        texture=TEXTURES[int(rng.choice(len(TEXTURES), p=[0.36, 0.16, 0.16, 0.16, 0.16]))],
        texture_angle=float(rng.uniform(0, 180)),
        texture_period=float(rng.uniform(3.0, 6.0)),
        texture_light=bool(rng.random() < 0.5),
        background=BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))],
        bg_color=bg,
        bg_rgb=bg_rgb,
        bg_rgb2=_jitter_rgb(bg_rgb, rng, 0.25),
        bg_angle=float(rng.uniform(0, 360)),
        horizon=float(rng.uniform(0.6, 0.82)),
        light_angle=float(rng.uniform(0, 360)),
        shading=float(rng.uniform(0.15, 0.45)),
        brightness=float(rng.uniform(0.85, 1.12)),
        contrast=float(rng.uniform(0.8, 1.15)),
        shadow=float(rng.uniform(0.15, 0.45)) if rng.random() < 0.6 else 0.0,
        noise=float(rng.uniform(0.0, 0.03)),
    )


def sample_sketch_spec(category: str, rng: np.random.Generator) -> SketchSpec:
    """One sketch instance of ``category``."""
    return SketchSpec(
        category=category,
        pose=sample_pose(rng, 8.0, (0.78, 1.0), 0.08),
        geometry_seed=int(rng.integers(2**31)),
        stroke_seed=int(rng.integers(2**31)),
        wobble=float(rng.uniform(0.25, 0.9)),
        thickness=float(rng.uniform(0.9, 1.6)),
        overshoot=float(rng.uniform(0.5, 2.0)),
        p_missing=float(rng.uniform(0.0, 0.12)),
        p_double=float(rng.uniform(0.0, 0.25)),
        stray=STRAYS[int(rng.choice(len(STRAYS), p=[0.4, 0.2, 0.2, 0.2]))],
        ink=int(rng.integers(0, 50)),
    )
