"""Placing an object's parts on a canvas: bounding-box normalisation, then a pose (flip, rotation, scale, shift).

Both image views use this, each with its own pose; the result lists every shape in drawing order with its
vertices and stroke width in canvas pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semspace.world.objects.parts import Part, Shape

EXTENT = 1.6  # the longer side of a normalised object, in half-canvas units (the canvas spans [-1, 1])


@dataclass(frozen=True)
class Pose:
    """A similarity transform of the normalised object; ``shift`` is in half-canvas units."""

    rotation: float = 0.0  # degrees, counter-clockwise on screen
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    flip: bool = False  # mirror left-right before rotating


@dataclass(frozen=True)
class Placed:
    """A shape in canvas pixels."""

    shape: Shape
    points: np.ndarray  # (N, 2) float64 pixel coordinates (x, y)
    width: float  # stroke width in pixels (kind "line")
    part: str  # name of the part it belongs to


def object_bounds(parts: list[Part]) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners ``(2,)`` of every vertex, padded by half the stroke widths."""
    lo, hi = np.full(2, np.inf), np.full(2, -np.inf)
    for part in parts:
        for s in part.shapes:
            pad = 0.5 * s.width
            lo = np.minimum(lo, s.points.min(axis=0) - pad)
            hi = np.maximum(hi, s.points.max(axis=0) + pad)
    return lo, hi


def place(parts: list[Part], pose: Pose, canvas: int) -> list[Placed]:
    """Every shape of ``parts`` normalised to ``EXTENT``, posed and mapped to a ``canvas`` x ``canvas`` image."""
    lo, hi = object_bounds(parts)
    centre, norm = 0.5 * (lo + hi), EXTENT / float(max(hi - lo))
    a = np.deg2rad(pose.rotation)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])  # (2, 2) counter-clockwise with y down
    mirror = np.array([-1.0 if pose.flip else 1.0, 1.0])
    half = 0.5 * canvas
    k = norm * pose.scale * half  # object units -> pixels
    offset = half * (1.0 + np.asarray(pose.shift))
    out = []
    for part in parts:
        for s in part.shapes:
            p = (s.points - centre) * mirror @ rot.T  # (N, 2) normalised, posed object frame
            out.append(Placed(s, p * k + offset, s.width * k, part.name))
    return out
