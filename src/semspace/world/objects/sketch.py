"""The sketch view: the parts' visible outlines re-traced as wobbly, hand-drawn strokes on white paper.

Not an edge map of the photo: the sketch is its own instance (own proportions and pose) and its strokes
come from the geometry. Hidden lines are removed with a z-ordered label map; every visible outline run then
becomes a stroke that a drawer would make: low-frequency wobble along the normal, over- or undershoot at the
ends (a closed loop may cross its start or leave a gap), pressure-varying thickness, an occasional stroke
traced twice, occasional missing strokes and sometimes a stray mark (ground line, hatching, scribble). Sketches
in Sketchy / TU-Berlin (``papers/datasets.md``) look like this: sparse, abstract, individually styled.
"""

from __future__ import annotations

import numpy as np
from einops import repeat
from PIL import Image, ImageDraw

from semspace.world.objects.catalog import build_parts
from semspace.world.objects.layout import Placed, place
from semspace.world.objects.parts import Jitter
from semspace.world.objects.spec import SketchSpec


def _resample(pts: np.ndarray, closed: bool, step: float) -> np.ndarray:
    """Points every ``step`` pixels along a polyline (a loop when ``closed``, without repeating the start)."""
    p = np.concatenate([pts, pts[:1]]) if closed else pts
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)  # (N-1,)
    t = np.concatenate([[0.0], np.cumsum(seg)])  # (N,)
    if t[-1] < 1e-6:
        return p[:1]
    q = np.arange(0.0, t[-1], step) if closed else np.linspace(0.0, t[-1], max(2, int(t[-1] / step) + 1))
    return np.stack([np.interp(q, t, p[:, 0]), np.interp(q, t, p[:, 1])], axis=1)  # (M, 2)


def _normals(p: np.ndarray, closed: bool) -> np.ndarray:
    if len(p) < 2:
        return np.zeros_like(p)
    if closed:
        tan = np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0)  # (M, 2)
    else:
        tan = np.gradient(p, axis=0)
    n = np.stack([-tan[:, 1], tan[:, 0]], axis=1)
    return n / (np.linalg.norm(n, axis=1, keepdims=True) + 1e-9)  # (M, 2)


def _label_map(placed: list[Placed], s: int) -> np.ndarray:
    img = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(img)
    for i, pl in enumerate(placed):
        pts = [tuple(p) for p in pl.points]
        if pl.shape.kind == "line":
            draw.line(pts + pts[:1] if pl.shape.closed else pts, fill=min(i + 1, 255), width=max(1, round(pl.width)))
        else:
            draw.polygon(pts, fill=min(i + 1, 255))
    return np.asarray(img)  # (S, S) uint8: 1 + index of the front-most shape, 0 = paper


def _visible_paths(placed: list[Placed], s: int) -> tuple[list[tuple[np.ndarray, bool]], list[np.ndarray]]:
    """Visible outline runs ``(points, closed)`` in drawing order, and the visible dots."""
    labels = _label_map(placed, s)
    paths: list[tuple[np.ndarray, bool]] = []
    dots: list[np.ndarray] = []
    for i, pl in enumerate(placed):
        sh = pl.shape
        if not sh.sketch:
            continue
        if sh.kind == "dot":
            c = np.clip(np.round(pl.points.mean(axis=0)).astype(int), 0, s - 1)
            if labels[c[1], c[0]] <= i + 1:
                dots.append(pl.points)
            continue
        closed = sh.kind == "fill" or sh.closed
        dense = _resample(pl.points, closed, 1.0)
        outlines = [dense]
        if sh.kind == "line" and sh.double and pl.width >= 3:
            off = _normals(dense, closed) * (0.5 * pl.width)
            outlines = [dense + off, dense - off]
        for p in outlines:
            ij = np.clip(np.round(p).astype(int), 0, s - 1)
            vis = labels[ij[:, 1], ij[:, 0]] <= i + 1  # (M,) not covered by a later shape
            paths.extend(_runs(p, vis, closed))
    return paths, dots


def _runs(p: np.ndarray, vis: np.ndarray, closed: bool) -> list[tuple[np.ndarray, bool]]:
    if vis.all():
        return [(p, closed)]
    if closed:  # start at a hidden point so no run wraps around the end
        k = int(np.argmin(vis))
        p, vis = np.roll(p, -k, axis=0), np.roll(vis, -k)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], vis.astype(np.int8), [0]])))
    return [(p[a:b], False) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 4]


def _extend(p: np.ndarray, amount: float, at_start: bool) -> np.ndarray:
    """Over- (``amount`` > 0, along the end tangent) or undershoot (< 0, trimmed) one end of a polyline."""
    if len(p) < 3:
        return p
    if amount < 0:
        cut = min(int(-amount), len(p) // 3)
        return p[cut:] if at_start else p[: len(p) - cut]
    end, prev = (p[0], p[min(2, len(p) - 1)]) if at_start else (p[-1], p[max(-3, -len(p))])
    d = (end - prev) / (np.linalg.norm(end - prev) + 1e-9)
    extra = end + d * np.linspace(1.0, amount, max(1, int(amount)))[:, None]  # (E, 2)
    return np.concatenate([extra[::-1], p]) if at_start else np.concatenate([p, extra])


def _stylise(p: np.ndarray, closed: bool, spec: SketchSpec, k: float, rng: np.random.Generator) -> np.ndarray:
    """One hand-drawn version of a dense path: start point, over/undershoot, wobble and a small slip."""
    if closed:
        p = np.roll(p, -int(rng.integers(len(p))), axis=0)
        frac = float(np.clip(rng.normal(0.04, 0.05), -0.07, 0.14)) * min(1.0, spec.overshoot)
        extra = int(round(abs(frac) * len(p)))
        p = np.concatenate([p, p[:extra]]) if frac > 0 else p[: len(p) - extra]
    else:
        p = _extend(p, float(rng.uniform(-0.6, 1.4)) * spec.overshoot * k, True)
        p = _extend(p, float(rng.uniform(-0.6, 1.4)) * spec.overshoot * k, False)
    t = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])  # (M,) arc length
    amp = spec.wobble * k * min(1.0, t[-1] / (12.0 * k))
    disp = np.zeros_like(t)
    for _ in range(3):
        lam = rng.uniform(12.0, 50.0) * k
        disp += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * t / lam + rng.uniform(0, 2 * np.pi))
    p = p + _normals(p, False) * (amp * disp / 1.6)[:, None]
    a = np.deg2rad(rng.normal(0.0, 1.5))
    c = p.mean(axis=0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (p - c) @ rot.T + c + rng.normal(0.0, 0.35 * k, 2)


def _draw_stroke(draw: ImageDraw.ImageDraw, p: np.ndarray, width: float, ink: int, rng: np.random.Generator) -> None:
    """Draws ``p`` in chunks whose width follows a smooth pressure curve, thinner at both ends."""
    p = p[::2] if len(p) > 8 else p
    n = len(p)
    if n < 2:
        return
    u = np.linspace(0.0, 1.0, n)
    pressure = 0.8 + 0.3 * np.sin(2 * np.pi * u * rng.uniform(0.5, 1.5) + rng.uniform(0, 2 * np.pi))
    pressure *= np.clip(np.minimum(u, 1 - u) * n / 3.0, 0.55, 1.0)
    for a in range(0, n - 1, 5):
        b = min(n, a + 6)
        w = max(1, int(round(width * float(pressure[a:b].mean()))))
        draw.line([tuple(q) for q in p[a:b]], fill=ink, width=w, joint="curve")


def _strays(kind: str, allp: np.ndarray, k: float, rng: np.random.Generator) -> list[np.ndarray]:
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    c = 0.5 * (lo + hi)
    if kind == "ground":
        y = hi[1] + rng.uniform(1.0, 4.0) * k
        half = 0.5 * (hi[0] - lo[0]) * rng.uniform(0.6, 1.1)
        return [np.stack([np.linspace(c[0] - half, c[0] + half, 24), np.full(24, y)], axis=1)]
    if kind == "hatching":
        o = c + (hi - lo) * rng.uniform(-0.2, 0.2, 2)
        d, n = np.array([1.0, -1.0]) / np.sqrt(2), np.array([1.0, 1.0]) / np.sqrt(2)
        ln = rng.uniform(5.0, 9.0) * k
        return [np.stack([o + n * j * 2.6 * k - d * ln / 2, o + n * j * 2.6 * k + d * ln / 2]) for j in range(-2, 2)]
    if kind == "scribble":
        ang = rng.uniform(0, 2 * np.pi)
        o = c + 0.55 * (hi - lo) * np.array([np.cos(ang), np.sin(ang)])
        r, a0 = rng.uniform(3.0, 8.0) * k, rng.uniform(0, 360)
        a = np.deg2rad(np.linspace(a0, a0 + rng.uniform(60, 160), 16))
        return [np.stack([o[0] + r * np.cos(a), o[1] + r * np.sin(a)], axis=1)]
    return []


def render_sketch(spec: SketchSpec, size: int = 64) -> np.ndarray:
    """The sketch of ``spec`` as an ``(size, size, 3)`` uint8 array: dark strokes on white."""
    s, k = 2 * size, 2 * size / 64.0  # canvas side, pixels per 64-grid pixel
    rng = np.random.default_rng(spec.stroke_seed)
    placed = place(build_parts(spec.category, Jitter(np.random.default_rng(spec.geometry_seed))), spec.pose, s)
    paths, dots = _visible_paths(placed, s)
    longest = max((len(p) for p, _ in paths), default=0)
    paths += [(q, False) for q in _strays(spec.stray, np.concatenate([pl.points for pl in placed]), k, rng)]
    img = Image.new("L", (s, s), 255)
    draw = ImageDraw.Draw(img)
    for p, closed in paths:
        if len(p) < 0.3 * longest and rng.random() < spec.p_missing:  # drawers skip details, not contours
            continue
        width = spec.thickness * k * rng.uniform(0.75, 1.25)
        ink = min(255, spec.ink + int(rng.integers(0, 30)))
        if len(p) > 1:
            p = _resample(p, False, 1.0) if not closed else p
        _draw_stroke(draw, _stylise(p, closed, spec, k, rng), width, ink, rng)
        if rng.random() < spec.p_double:
            _draw_stroke(draw, _stylise(p, closed, spec, k, rng), 0.7 * width, min(255, ink + 40), rng)
    for d in dots:
        c, r = d.mean(axis=0) + rng.normal(0, 0.3 * k, 2), max(1.2 * k, float(np.ptp(d[:, 0])) / 2)
        draw.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], fill=spec.ink)
    out = np.asarray(img.reduce(2))  # (size, size) anti-aliased by 2x2 box filter
    return repeat(out, "h w -> h w c", c=3).copy()
