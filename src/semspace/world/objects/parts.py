"""Primitive parts of the objects world: geometry in an object frame, shared by the photo and sketch views.

An object is a z-ordered list of :class:`Part` s; a part is a named piece of structure (``"handle"``,
``"wheels"``, ``"roof"``) made of :class:`Shape` s. A shape is a polygon (``fill``), a polyline stroke of a
given width (``line``) or a small blob (``dot``), with a *material role* that the photo view turns into a
colour. Coordinates are in an object frame with y pointing down; the renderers normalise every object to
its bounding box, so builders need not care about absolute scale or centring.

The part *names* form the vocabulary behind the class semantics (``attributes.py``): categories that share a
part name (a cup's and a mug's handle, a car's and a truck's wheels) share that attribute, which is what
lets zero-shot methods (SSGN, ``papers/ssgn.md``) transfer from seen to unseen classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ROLES = ("main", "second", "dark", "light", "wood", "metal", "leaf", "flame", "white")

# part name -> (phrase for one, phrase for several with {n}); used by descriptions and captions
PART_PHRASES: dict[str, tuple[str, str]] = {
    "handle": ("a handle", "{n} handles"), "spout": ("a spout", "{n} spouts"), "lid": ("a lid", "{n} lids"),
    "saucer": ("a saucer", "{n} saucers"), "neck": ("a narrow neck", "{n} necks"), "cap": ("a cap", "{n} caps"),
    "rim": ("a rim", "{n} rims"), "label": ("a label", "{n} labels"), "shade": ("a lampshade", "{n} shades"),
    "pole": ("a pole", "{n} poles"), "base": ("a base", "{n} bases"), "seat": ("a seat", "{n} seats"),
    "backrest": ("a backrest", "{n} backrests"), "legs": ("a leg", "{n} legs"), "top": ("a flat top", "{n} tops"),
    "headboard": ("a headboard", "{n} headboards"), "pillow": ("a pillow", "{n} pillows"),
    "face": ("a round face", "{n} faces"), "hands": ("a hand", "{n} hands"), "ticks": ("tick marks", "tick marks"),
    "clapper": ("a clapper", "{n} clappers"), "ring": ("a ring", "{n} rings"), "wick": ("a wick", "{n} wicks"),
    "flame": ("a flame", "{n} flames"), "filament": ("a filament", "{n} filaments"), "roof": ("a roof", "{n} roofs"),
    "door": ("a door", "{n} doors"), "windows": ("a window", "{n} windows"), "chimney": ("a chimney", "{n} chimneys"),
    "battlements": ("battlements", "battlements"), "flag": ("a flag", "{n} flags"), "blades": ("a blade", "{n} blades"),
    "hub": ("a hub", "{n} hubs"), "lights": ("a light", "{n} lights"), "wheels": ("a wheel", "{n} wheels"),
    "cabin": ("a cabin", "{n} cabins"), "frame": ("a frame", "{n} frames"), "handlebar": ("a handlebar", "handlebars"),
    "hull": ("a hull", "{n} hulls"), "mast": ("a mast", "{n} masts"), "sail": ("a sail", "{n} sails"),
    "wings": ("a wing", "{n} wings"), "tail": ("a tail", "{n} tails"), "fins": ("a fin", "{n} fins"),
    "nose": ("a pointed nose", "{n} noses"), "eyes": ("an eye", "{n} eyes"), "head": ("a head", "{n} heads"),
    "beak": ("a beak", "{n} beaks"), "ears": ("an ear", "{n} ears"), "whiskers": ("whiskers", "whiskers"),
    "spiral": ("a spiral", "{n} spirals"), "foot": ("a foot", "{n} feet"), "antennae": ("an antenna", "{n} antennae"),
    "spots": ("spots", "spots"), "trunk": ("a trunk", "{n} trunks"), "crown": ("a leafy crown", "{n} crowns"),
    "tiers": ("a tier of branches", "{n} tiers of branches"), "stem": ("a stem", "{n} stems"),
    "leaves": ("a leaf", "{n} leaves"), "petals": ("a petal", "{n} petals"), "center": ("a round centre", "centres"),
    "arms": ("an arm", "{n} arms"), "pot": ("a pot", "{n} pots"), "cone": ("a cone", "{n} cones"),
    "scoop": ("a scoop", "{n} scoops"), "stick": ("a stick", "{n} sticks"), "knot": ("a knot", "{n} knots"),
    "string": ("a string", "{n} strings"), "teeth": ("teeth", "teeth"), "grip": ("a grip", "{n} grips"),
    "guard": ("a cross guard", "{n} guards"), "bowl": ("a bowl", "{n} bowls"), "tines": ("a tine", "{n} tines"),
    "tip": ("a sharp tip", "{n} tips"), "eraser": ("an eraser", "{n} erasers"), "canopy": ("a canopy", "{n} canopies"),
    "strings": ("strings", "strings"), "hole": ("a hole", "{n} holes"), "bows": ("bows", "bows"),
    "rails": ("a rail", "{n} rails"), "rungs": ("a rung", "{n} rungs"), "posts": ("a post", "{n} posts"),
    "hat": ("a hat", "{n} hats"), "buttons": ("a button", "{n} buttons"), "bridge": ("a bridge", "{n} bridges"),
    "rays": ("a ray", "{n} rays"), "skids": ("skids", "skids"), "scarf": ("a scarf", "{n} scarves"),
}  # fmt: skip
PART_NAMES: tuple[str, ...] = tuple(sorted(PART_PHRASES))
BODY_KINDS = ("round", "oval", "box", "rounded", "triangle", "trapezoid", "dome", "diamond")


@dataclass(frozen=True)
class Shape:
    """One drawable primitive in the object frame (y down)."""

    points: np.ndarray  # (N, 2) float64 polygon / polyline vertices
    kind: str = "fill"  # "fill" closed polygon | "line" stroke of ``width`` | "dot" small blob, inked in sketches
    role: str = "main"  # material, one of ROLES; the photo view maps it to a colour
    width: float = 0.0  # stroke width in object units (kind "line")
    closed: bool = False  # line only: the polyline is a loop (a ring, a tyre)
    double: bool = False  # line only: sketches trace both edges of the stroke (handles, rings)
    sketch: bool = True  # False: a photo-only detail that sketches never trace


@dataclass(frozen=True)
class Part:
    """A named piece of an object's structure, e.g. ``Part("wheels", shapes, count=2)``."""

    name: str  # key of PART_PHRASES, or "body"
    shapes: tuple[Shape, ...]
    count: int = 1
    kind: str | None = None  # body only: one of BODY_KINDS
    label: str | None = None  # description word overriding the vocabulary phrase ("shell" for a turtle's body)


class Jitter:
    """Within-class variation of a builder's proportions; with ``rng=None`` every value is nominal."""

    def __init__(self, rng: np.random.Generator | None = None) -> None:
        self.rng = rng

    def __call__(self, x: float, rel: float = 0.08) -> float:
        """``x`` scaled by a factor in ``[1 - rel, 1 + rel]``."""
        return x if self.rng is None else x * (1.0 + rel * float(self.rng.uniform(-1.0, 1.0)))

    def add(self, x: float, d: float) -> float:
        """``x`` shifted by at most ``d``."""
        return x if self.rng is None else x + d * float(self.rng.uniform(-1.0, 1.0))


# ---- geometry ----------------------------------------------------------------------------------
def arc_pts(cx: float, cy: float, rx: float, ry: float, a0: float = 0.0, a1: float = 360.0, n: int = 0) -> np.ndarray:
    """Points on an elliptic arc from ``a0`` to ``a1`` degrees (0 = +x, 90 = down)."""
    n = n or max(6, int(abs(a1 - a0) / 7.5))
    a = np.deg2rad(np.linspace(a0, a1, n, endpoint=abs(a1 - a0) < 360.0))  # (n,)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)  # (n, 2)


def rect_pts(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """The four corners of an axis-aligned rectangle."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)  # (4, 2)


def rrect_pts(x0: float, y0: float, x1: float, y1: float, r: float) -> np.ndarray:
    """A rectangle with rounded corners of radius ``r`` (clipped to half the shorter side)."""
    r = min(r, 0.5 * abs(x1 - x0), 0.5 * abs(y1 - y0))
    corners = [
        (x1 - r, y0 + r, 270, 360),
        (x1 - r, y1 - r, 0, 90),
        (x0 + r, y1 - r, 90, 180),
        (x0 + r, y0 + r, 180, 270),
    ]
    return np.concatenate([arc_pts(cx, cy, r, r, a, b, n=6) for cx, cy, a, b in corners])  # (24, 2)


def bezier_pts(*ctrl: tuple[float, float], n: int = 16) -> np.ndarray:
    """A Bezier curve through its control points (any degree), by de Casteljau's algorithm."""
    p = np.asarray(ctrl, dtype=np.float64)  # (K, 2)
    t = np.linspace(0.0, 1.0, n)[:, None, None]  # (n, 1, 1)
    q = np.broadcast_to(p, (n, *p.shape))  # (n, K, 2)
    while q.shape[1] > 1:
        q = q[:, :-1] * (1.0 - t) + q[:, 1:] * t  # (n, K-1, 2)
    return q[:, 0]  # (n, 2)


def rotate_pts(p: np.ndarray, deg: float, cx: float = 0.0, cy: float = 0.0) -> np.ndarray:
    """``p`` rotated by ``deg`` degrees (clockwise on screen, y down) about ``(cx, cy)``."""
    a = np.deg2rad(deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])  # (2, 2)
    return (p - [cx, cy]) @ rot.T + [cx, cy]  # (N, 2)


# ---- shape constructors --------------------------------------------------------------------------
def poly(pts: Sequence[Sequence[float]] | np.ndarray, role: str = "main") -> Shape:
    """A filled polygon."""
    return Shape(np.asarray(pts, dtype=np.float64), "fill", role)


def ellipse(cx: float, cy: float, rx: float, ry: float, role: str = "main") -> Shape:
    """A filled axis-aligned ellipse."""
    return poly(arc_pts(cx, cy, rx, ry), role)


def circle(cx: float, cy: float, r: float, role: str = "main") -> Shape:
    """A filled circle."""
    return ellipse(cx, cy, r, r, role)


def rect(x0: float, y0: float, x1: float, y1: float, role: str = "main") -> Shape:
    """A filled rectangle."""
    return poly(rect_pts(x0, y0, x1, y1), role)


def rrect(x0: float, y0: float, x1: float, y1: float, r: float, role: str = "main") -> Shape:
    """A filled rectangle with rounded corners."""
    return poly(rrect_pts(x0, y0, x1, y1, r), role)


def dome(cx: float, cy: float, rx: float, ry: float, role: str = "main") -> Shape:
    """Upper half of an ellipse closed by its chord (a mushroom cap, a turtle shell); ``cy`` is the chord."""
    return poly(arc_pts(cx, cy, rx, ry, 180, 360, n=25), role)


def highlight(cx: float, cy: float, rx: float, ry: float, role: str = "white") -> Shape:
    """A glint or tint that photos show and sketches never trace."""
    return Shape(arc_pts(cx, cy, rx, ry, n=24), "fill", role, sketch=False)


def line(
    pts: Sequence[Sequence[float]] | np.ndarray,
    width: float,
    role: str = "dark",
    closed: bool = False,
    double: bool = False,
) -> Shape:
    """A stroke of ``width`` along ``pts`` (a loop when ``closed``; ``double``: sketches trace both edges)."""
    return Shape(np.asarray(pts, dtype=np.float64), "line", role, width, closed, double)


def bar(x0: float, y0: float, x1: float, y1: float, width: float, role: str = "wood") -> Shape:
    """A straight stick from ``(x0, y0)`` to ``(x1, y1)``; sketches draw it as one stroke."""
    return line([[x0, y0], [x1, y1]], width, role)


def ring(cx: float, cy: float, r: float, width: float, role: str = "metal", double: bool = True) -> Shape:
    """A loop stroke (a key ring, a lens rim, a tyre)."""
    return line(arc_pts(cx, cy, r, r), width, role, closed=True, double=double)


def dot(cx: float, cy: float, r: float, role: str = "dark") -> Shape:
    """A small blob (an eye, a button) that sketches ink in."""
    return Shape(arc_pts(cx, cy, r, r, n=12), "dot", role)


# ---- reusable parametric parts -------------------------------------------------------------------
def wheels(xs: Sequence[float], y: float, r: float, hub: float = 0.45) -> Part:
    """Dark tyres with metal hubs centred at ``(x, y)`` for x in ``xs``."""
    shapes = [s for x in xs for s in (circle(x, y, r, "dark"), circle(x, y, r * hub, "metal"))]
    return Part("wheels", tuple(shapes), count=len(xs))


def windows(boxes: Sequence[tuple[float, float, float, float]], round_: bool = False) -> Part:
    """Light panes; ``round_`` gives portholes inscribed in the boxes."""
    shapes = [
        ellipse((a + c) / 2, (b + d) / 2, (c - a) / 2, (d - b) / 2, "light") if round_ else rect(a, b, c, d, "light")
        for a, b, c, d in boxes
    ]
    return Part("windows", tuple(shapes), count=len(boxes))


def side_handle(x: float, y: float, rx: float, ry: float, width: float, role: str = "main") -> Part:
    """A C-shaped handle bulging to +x from the point ``(x, y)`` (a cup's or a teapot's)."""
    return Part("handle", (line(arc_pts(x, y, rx, ry, -80, 80), width, role, double=True),))


def eyes(centres: Sequence[tuple[float, float]], r: float, role: str = "dark") -> Part:
    """Dots at ``centres``."""
    return Part("eyes", tuple(dot(x, y, r, role) for x, y in centres), count=len(centres))


def legs(segments: Sequence[tuple[float, float, float, float]], width: float, role: str = "main") -> Part:
    """Straight legs, one per ``(x0, y0, x1, y1)`` segment."""
    return Part("legs", tuple(bar(*s, width, role) for s in segments), count=len(segments))


def flame(cx: float, cy: float, r: float, down: bool = False) -> Part:
    """A teardrop flame whose round end is centred at ``(cx, cy)``, pointing up (or ``down``)."""
    pts = np.concatenate([arc_pts(cx, cy, r, r, -30, 210, n=18), [[cx, cy - 2.6 * r]]])  # (19, 2)
    inner = np.concatenate([arc_pts(cx, cy + 0.3 * r, 0.5 * r, 0.5 * r, -30, 210, n=10), [[cx, cy - 0.9 * r]]])
    if down:
        pts[:, 1], inner[:, 1] = 2 * cy - pts[:, 1], 2 * cy - inner[:, 1]
    return Part("flame", (poly(pts, "flame"), Shape(inner, "fill", "white", sketch=False)))


def union_outline(circles: Sequence[tuple[float, float, float]], n: int = 72) -> np.ndarray:
    """Outline of a union of circles ``(cx, cy, r)``, for star-shaped blobs (a tree crown, a pear, a guitar)."""
    c = np.asarray(circles, dtype=np.float64)  # (K, 3)
    pts = np.concatenate([arc_pts(x, y, r, r, n=n) for x, y, r in c])  # (K*n, 2)
    d = np.linalg.norm(pts[:, None, :] - c[None, :, :2], axis=-1)  # (K*n, K)
    keep = (d >= c[None, :, 2] - 1e-9).all(axis=1)  # (K*n,) on no circle's inside
    pts = pts[keep]
    centre = c[:, :2].mean(axis=0)
    order = np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))
    return pts[order]  # (M, 2)


def leaf_pts(x0: float, y0: float, x1: float, y1: float, width: float, n: int = 14) -> np.ndarray:
    """A pointed lens from ``(x0, y0)`` to ``(x1, y1)`` with half-width ``width`` (a leaf, a petal)."""
    p0, p1 = np.array([x0, y0]), np.array([x1, y1])
    t = np.linspace(0.0, 1.0, n)[:, None]  # (n, 1)
    d = p1 - p0
    nrm = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-12)
    side = p0 + t * d + nrm * width * np.sin(np.pi * t)  # (n, 2)
    other = p0 + t * d - nrm * width * np.sin(np.pi * t)  # (n, 2)
    return np.concatenate([side, other[::-1][1:-1]])  # (2n-2, 2)


def spiral_pts(cx: float, cy: float, r0: float, r1: float, turns: float, phase: float = 0.0) -> np.ndarray:
    """An Archimedean spiral from radius ``r0`` to ``r1`` over ``turns`` turns."""
    t = np.linspace(0.0, 1.0, max(16, int(40 * turns)))  # (n,)
    a = phase + 2 * np.pi * turns * t
    r = r0 + (r1 - r0) * t
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)  # (n, 2)
