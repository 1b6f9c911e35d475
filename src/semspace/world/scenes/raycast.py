"""Vectorised ray-primitive intersection for the ``render3d`` view (our own small numpy ray caster).

The scene lives on the ground plane ``z = 0`` (x right, y away from the camera, z up). Primitives are
the three CLEVR shapes (Johnson et al., arXiv:1612.06890): a sphere resting on the ground, a cube
(a box rotated about the vertical axis by ``yaw``) and an upright capped cylinder. Rays come as
structure-of-arrays float32 components ``(ox, oy, oz)``, ``(dx, dy, dz)``, each ``(N,)`` or broadcastable
(a shared camera origin is three scalars); ``intersect`` returns the first hit distance ``t (N,)`` with
``inf`` for a miss, using the standard analytic tests (sphere quadratic, Kay-Kajiya slabs for the box,
quadratic side plus cap plane for the cylinder).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-4  # hits closer than this to the ray origin are ignored (shadow-ray acne)
Arr = np.ndarray
Coord = np.ndarray | float  # a ray origin component: per ray, or one shared camera position


@dataclass(frozen=True)
class Primitive:
    """One solid on the ground plane.

    Args:
        kind: ``"sphere"``, ``"cube"`` or ``"cylinder"``.
        x: centre x on the ground.
        y: centre y on the ground.
        radius: sphere/cylinder radius, or half the cube's side.
        height: total height (sphere: 2 radius, cube: side, cylinder: its height).
        yaw: rotation about the vertical axis in radians (cube only).
        color: linear RGB albedo in [0, 1].
    """

    kind: str
    x: float
    y: float
    radius: float
    height: float
    yaw: float = 0.0
    color: tuple[float, float, float] = (0.5, 0.5, 0.5)

    @property
    def reach(self) -> float:
        """Largest horizontal distance from the centre to the solid (the rotated cube's half-diagonal)."""
        return self.radius * (np.sqrt(2.0) if self.kind == "cube" else 1.0)

    def bounding_sphere(self) -> tuple[np.ndarray, float]:
        """Centre ``(3,)`` and radius of a sphere enclosing the solid."""
        half_h = self.height / 2
        return np.array([self.x, self.y, half_h]), float(np.hypot(self.reach, half_h))

    def corners(self) -> np.ndarray:
        """The 8 corners ``(8, 3)`` of an axis-aligned box enclosing the solid."""
        r = self.reach
        xs, ys, zs = np.meshgrid([self.x - r, self.x + r], [self.y - r, self.y + r], [0.0, self.height])
        return np.stack([xs.ravel(), ys.ravel(), zs.ravel()], axis=-1)  # (8, 3)


def _sphere(p: Primitive, ox: Coord, oy: Coord, oz: Coord, dx: Arr, dy: Arr, dz: Arr) -> Arr:
    cx, cy, cz = ox - p.x, oy - p.y, oz - p.radius  # (N,) origin relative to the centre
    b = cx * dx + cy * dy + cz * dz  # (N,) directions are unit length
    c = cx * cx + cy * cy + cz * cz - p.radius * p.radius
    disc = b * b - c
    t = -b - np.sqrt(np.maximum(disc, 0.0))  # (N,) near root
    return np.where((disc > 0) & (t > EPS), t, np.inf)


def _cube(p: Primitive, ox: Coord, oy: Coord, oz: Coord, dx: Arr, dy: Arr, dz: Arr) -> Arr:
    c, s, h = np.cos(p.yaw), np.sin(p.yaw), p.radius
    rx, ry = ox - p.x, oy - p.y
    lo = (c * rx + s * ry, -s * rx + c * ry, oz - h)  # origin in the cube's frame
    ld = (c * dx + s * dy, -s * dx + c * dy, dz)  # direction in the cube's frame
    t_near, t_far = -np.inf, np.inf
    for o_a, d_a in zip(lo, ld, strict=True):
        inv = 1.0 / np.where(np.abs(d_a) < 1e-9, 1e-9, d_a)  # (N,)
        t1, t2 = (-h - o_a) * inv, (h - o_a) * inv
        t_near = np.maximum(t_near, np.minimum(t1, t2))
        t_far = np.minimum(t_far, np.maximum(t1, t2))
    return np.where((t_near <= t_far) & (t_near > EPS), t_near, np.inf)


def _cylinder(p: Primitive, ox: Coord, oy: Coord, oz: Coord, dx: Arr, dy: Arr, dz: Arr) -> Arr:
    rx, ry, r, top = ox - p.x, oy - p.y, p.radius, p.height
    a = np.maximum(dx * dx + dy * dy, 1e-12)  # (N,)
    b = rx * dx + ry * dy
    disc = b * b - a * (rx * rx + ry * ry - r * r)
    t_side = (-b - np.sqrt(np.maximum(disc, 0.0))) / a  # (N,) entry through the curved side
    z_side = oz + t_side * dz
    t_side = np.where((disc > 0) & (t_side > EPS) & (z_side >= 0) & (z_side <= top), t_side, np.inf)
    t_cap = (top - oz) / np.where(np.abs(dz) < 1e-9, 1e-9, dz)  # (N,) the top disc's plane
    qx, qy = rx + t_cap * dx, ry + t_cap * dy
    t_cap = np.where((t_cap > EPS) & (qx * qx + qy * qy <= r * r), t_cap, np.inf)
    return np.minimum(t_side, t_cap)


_INTERSECT = {"sphere": _sphere, "cube": _cube, "cylinder": _cylinder}


def intersect(p: Primitive, ox: Coord, oy: Coord, oz: Coord, dx: Arr, dy: Arr, dz: Arr) -> Arr:
    """Distance to the first hit of each ray with ``p``; ``inf`` where it misses.

    Args:
        p: the solid.
        ox: ray origin x (and ``oy``, ``oz``), ``(N,)`` or scalar.
        oy: ray origin y.
        oz: ray origin z.
        dx: unit ray direction x (and ``dy``, ``dz``), ``(N,)``.
        dy: unit ray direction y.
        dz: unit ray direction z.
    """
    return _INTERSECT[p.kind](p, ox, oy, oz, dx, dy, dz)


def normal(p: Primitive, px: Arr, py: Arr, pz: Arr) -> tuple[Arr, Arr, Arr]:
    """Outward unit normals at surface points ``(px, py, pz)`` (each ``(M,)``) of ``p``."""
    rx, ry = px - p.x, py - p.y
    if p.kind == "sphere":
        return rx / p.radius, ry / p.radius, (pz - p.radius) / p.radius
    if p.kind == "cylinder":
        cap = pz >= p.height - 1e-3  # (M,) top disc vs curved side
        rho = np.maximum(np.hypot(rx, ry), 1e-9)
        zero = np.zeros_like(px)
        return np.where(cap, zero, rx / rho), np.where(cap, zero, ry / rho), np.where(cap, 1.0, zero)
    c, s, h = np.cos(p.yaw), np.sin(p.yaw), p.radius
    local = np.stack([c * rx + s * ry, -s * rx + c * ry, pz - h])  # (3, M) point in the cube's frame
    axis = np.argmax(np.abs(local), axis=0)  # (M,) the face whose slab the point lies on
    sign = np.sign(np.take_along_axis(local, axis[None], axis=0)[0])  # (M,)
    n = np.zeros_like(local)  # (3, M) local normal
    n[axis, np.arange(local.shape[1])] = sign
    return c * n[0] - s * n[1], s * n[0] + c * n[1], n[2]
