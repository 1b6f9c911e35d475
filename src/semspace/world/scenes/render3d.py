"""The ``render3d`` view: a CLEVR-like 3D render of a scene by our own vectorised numpy ray caster.

CSS (TIRG, arXiv:1812.07119) renders its 3D images with CLEVR's Blender pipeline (Johnson et al.,
arXiv:1612.06890); LTT (arXiv:1903.00793) transfers transformations from 2D blobs to those renders. We
need 10k views in under two minutes on two CPU cores, so instead of Blender we cast rays ourselves:

* a perspective pin-hole camera above and in front of the 3x3 grid, looking down at the ground plane
  (per-item jitter of azimuth, elevation, distance and field of view);
* spheres, yaw-rotated cubes and capped cylinders resting on the ground (``raycast.py``);
* Blinn-Phong shading (Lambert diffuse + hemispherical ambient + specular highlight) under one
  directional key light with jittered direction;
* cast shadows by shadow rays, on the ground and on other objects; the light direction is spread over
  the supersamples of each pixel, which softens shadow edges like a small area light;
* a soft contact (ambient-occlusion) darkening of the ground around each object's foot, and a smooth
  spot-light falloff of the ground that serves as the soft studio background;
* anti-aliasing by ``ss x ss`` supersampling (default 2).

Everything is float32 structure-of-arrays numpy; each object's primary rays are restricted to the
screen rectangle of its projected bounding box, and shadow rays are culled by bounding spheres.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from einops import reduce

from semspace.data.palette import CSS_COLORS
from semspace.world.scenes.raycast import Primitive, intersect, normal
from semspace.world.scenes.spec import GRID, SceneSpec

CELL = 2.2  # ground units between neighbouring cell centres
RADIUS = {"small": 0.42, "large": 0.78}  # sphere radius per size; other shapes scale from it
SHAPE_SCALE = {"sphere": (1.0, 2.0), "cube": (0.8, 1.6), "cylinder": (0.88, 1.7)}  # (radius, height) x RADIUS
GROUND_ALBEDO = np.array([0.64, 0.63, 0.61], dtype=np.float32)
AMBIENT, DIFFUSE, SPECULAR, SHININESS = 0.42, 0.72, 0.32, 40.0
GROUND_AMBIENT, GROUND_DIFFUSE = 0.55, 0.6


@dataclass(frozen=True)
class Camera3D:
    """A pin-hole camera: ``eye`` looks at ``target``; ``fov`` is the full field of view in degrees."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    fov: float

    @cached_property
    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit (forward, right, up) vectors of the camera, each ``(3,)``."""
        fwd = np.asarray(self.target, dtype=np.float64) - np.asarray(self.eye, dtype=np.float64)
        fwd /= np.linalg.norm(fwd)
        right = np.array([fwd[1], -fwd[0], 0.0]) / np.hypot(fwd[0], fwd[1])  # fwd x z
        up = np.array([right[1] * fwd[2], -right[0] * fwd[2], right[0] * fwd[1] - right[1] * fwd[0]])  # right x fwd
        return fwd, right, up

    def project(self, points: np.ndarray, res: int) -> np.ndarray:
        """Pixel (row, col) coordinates ``(M, 2)`` of world ``points (M, 3)`` in a ``res x res`` image."""
        fwd, right, up = self.basis
        rel = points - np.asarray(self.eye)  # (M, 3)
        tan = np.tan(np.radians(self.fov) / 2)
        depth = np.maximum(rel @ fwd, 1e-6)  # (M,)
        u, v = (rel @ right) / (depth * tan), (rel @ up) / (depth * tan)  # (M,) in [-1, 1] on screen
        return np.stack([(1 - v) / 2 * res - 0.5, (u + 1) / 2 * res - 0.5], axis=-1)


@dataclass(frozen=True)
class View3D:
    """Everything a render varies besides the scene: camera, light, object placement.

    Args:
        camera: the camera.
        light: unit direction *towards* the key light.
        spread: angular radius (radians) of the light over a pixel's supersamples (soft shadows).
        offsets: per object (canonical order), its (x, y) offset from the cell centre on the ground.
        yaws: per object, rotation about the vertical axis in radians (visible on cubes).
    """

    camera: Camera3D
    light: tuple[float, float, float]
    spread: float = 0.05
    offsets: tuple[tuple[float, float], ...] = ()
    yaws: tuple[float, ...] = ()


def _spherical(az: float, el: float) -> np.ndarray:
    return np.array([np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el), np.sin(el)])


def primitives(scene: SceneSpec, view: View3D) -> list[Primitive]:
    """The solids of ``scene`` placed as ``view`` says (cell (row 0 = far, col 0 = left) -> ground x, y)."""
    prims = []
    for k, o in enumerate(scene.objects):
        row, col = o.row_col
        dx, dy = view.offsets[k] if view.offsets else (0.0, 0.0)
        rs, hs = SHAPE_SCALE[o.shape]
        colour = tuple(np.asarray(CSS_COLORS[o.color], dtype=np.float32) / 255.0)
        x, y = (col - (GRID - 1) / 2) * CELL + dx, ((GRID - 1) / 2 - row) * CELL + dy
        yaw = view.yaws[k] if view.yaws else 0.0
        prims.append(Primitive(o.shape, x, y, RADIUS[o.size] * rs, RADIUS[o.size] * hs, yaw, colour))
    return prims


def sample_view3d(scene: SceneSpec, rng: np.random.Generator | None = None) -> View3D:
    """A jittered view of ``scene`` (camera, light, placement); ``rng=None`` gives the canonical view."""
    j = (lambda lo, hi: float(rng.uniform(lo, hi))) if rng is not None else (lambda lo, hi: (lo + hi) / 2)
    az, el, dist = np.radians(j(-4, 4)), np.radians(j(48, 56)), j(12.0, 13.0)
    target = np.array([j(-0.1, 0.1), j(0.0, 0.2), 0.3])
    camera = Camera3D(tuple(target + dist * _spherical(az, el)), tuple(target), j(38, 40))
    light = _spherical(np.radians(j(-65, -35)), np.radians(j(45, 60)))  # upper left, on the camera side
    offsets, yaws = [], []
    for o in scene.objects:
        reach = RADIUS[o.size] * SHAPE_SCALE[o.shape][0] * (np.sqrt(2) if o.shape == "cube" else 1.0)
        room = max(CELL / 2 - reach - 0.08, 0.0)
        offsets.append((j(-room, room), j(-room, room)))
        yaws.append(j(0, np.pi / 2) if rng is not None else np.pi / 12)
    return View3D(camera, tuple(light), j(0.03, 0.07), tuple(offsets), tuple(yaws))


def _light_dirs(light: np.ndarray, spread: float, ss: int) -> np.ndarray:
    """Light directions ``(ss, ss, 3)``, one per supersample position, spread around ``light``."""
    a = np.cross(light, [0.0, 0.0, 1.0])
    a /= np.linalg.norm(a)
    b = np.cross(light, a)
    off = ((np.arange(ss) + 0.5) / ss - 0.5) * 2 * spread  # (ss,)
    dirs = light + off[:, None, None] * a + off[None, :, None] * b  # (ss, ss, 3)
    return dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)


def _window(cam: Camera3D, points: np.ndarray, res: int, pad: int = 1) -> tuple[slice, slice]:
    """Screen rectangle (rows, cols) covering the projection of ``points (M, 3)``, padded and clipped."""
    rc = cam.project(points, res)  # (M, 2)
    i0, j0 = np.clip(np.floor(rc.min(0)).astype(int) - pad, 0, res)
    i1, j1 = np.clip(np.ceil(rc.max(0)).astype(int) + pad + 1, 0, res)
    return slice(i0, i1), slice(j0, j1)


def _on_ground(points: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Where rays from ``points (M, 3)`` *away from* each light ``dirs (L, 3)`` reach z = 0 -> (L*M, 3)."""
    t = points[None, :, 2:3] / dirs[:, None, 2:3]  # (L, M, 1)
    return (points[None] - t * dirs[:, None]).reshape(-1, 3)


def render_render3d(
    scene: SceneSpec,
    size: int = 64,
    rng: np.random.Generator | None = None,
    view: View3D | None = None,
    supersample: int = 2,
    return_ids: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Ray-casts ``scene``.

    Args:
        scene: what to render.
        size: image side in pixels.
        rng: jitter of camera, light and placement (ignored when ``view`` is given); None: canonical view.
        view: an explicit view (tests use it to vary one thing at a time).
        supersample: rays per pixel side (2 = 4 rays per pixel).
        return_ids: also return the ``(size, size)`` int map of the object index seen at each pixel
            (canonical order; -1 for ground), sampled at one supersample per pixel.

    Returns:
        ``(size, size, 3)`` uint8 RGB image (and the id map when asked).
    """
    view = view if view is not None else sample_view3d(scene, rng)
    ss = max(int(supersample), 1)
    res = size * ss
    prims, cam = primitives(scene, view), view.camera
    fwd, right, up = (v.tolist() for v in cam.basis)
    ex, ey, ez = (float(v) for v in cam.eye)
    s = ((np.arange(res, dtype=np.float32) + 0.5) / res * 2 - 1) * np.float32(np.tan(np.radians(cam.fov) / 2))  # (R,)
    d = [fwd[c] + s[None, :] * right[c] - s[:, None] * up[c] for c in range(3)]  # 3 x (R, R)
    inv = 1.0 / np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    dx, dy, dz = d[0] * inv, d[1] * inv, d[2] * inv  # (R, R) unit ray directions, float32

    # primary rays: the ground plane everywhere, each solid only inside its screen rectangle
    t_best = np.where(dz < 0, -ez / np.minimum(dz, -1e-6), np.inf).astype(np.float32)  # (R, R)
    ids = np.full((res, res), -1, dtype=np.int16)  # (R, R)
    windows = []
    for k, p in enumerate(prims):
        win = _window(cam, p.corners(), res)
        windows.append(win)
        t = intersect(p, ex, ey, ez, dx[win], dy[win], dz[win])  # (h, w)
        closer = t < t_best[win]
        t_best[win] = np.where(closer, t, t_best[win])
        ids[win] = np.where(closer, k, ids[win])
    hit = np.isfinite(t_best)  # (R, R) false only above the horizon
    t_hit = np.where(hit, t_best, 0.0)
    px, py, pz = ex + t_hit * dx, ey + t_hit * dy, ez + t_hit * dz  # (R, R) hit points

    # surface normals: the ground's (0, 0, 1), overwritten on each solid's pixels
    light = np.asarray(view.light, dtype=np.float64)
    lx, ly, lz = (float(v) for v in light)
    nx, ny, nz = np.zeros_like(px), np.zeros_like(px), np.ones_like(px)
    pix = []  # per solid: (rows, cols) of its pixels
    for k, (p, (wr, wc)) in enumerate(zip(prims, windows, strict=True)):
        r, c = np.nonzero(ids[wr, wc] == k)
        r, c = r + wr.start, c + wc.start
        pix.append((r, c))
        nx[r, c], ny[r, c], nz[r, c] = normal(p, px[r, c], py[r, c], pz[r, c])
    n_dot_l = nx * lx + ny * ly + nz * lz  # (R, R)

    # shadow rays, per solid only where its shadow can fall; light spread over each pixel's supersamples
    dirs = _light_dirs(light, view.spread, ss)  # (ss, ss, 3)
    vis = np.ones((res, res), dtype=np.float32)  # (R, R) 1 = sees the light
    for p in prims:
        corners = p.corners()
        wr, wc = _window(cam, np.concatenate([corners, _on_ground(corners, dirs.reshape(-1, 3))]), res)
        r, c = np.nonzero(hit[wr, wc] & (n_dot_l[wr, wc] > 0) & (vis[wr, wc] > 0))
        r, c = r + wr.start, c + wc.start
        o = (px[r, c] + 2e-3 * nx[r, c], py[r, c] + 2e-3 * ny[r, c], pz[r, c] + 2e-3 * nz[r, c])
        ld = dirs[r % ss, c % ss]  # (M, 3) this supersample's light direction
        cen, rad = p.bounding_sphere()
        rel = (o[0] - cen[0], o[1] - cen[1], o[2] - cen[2])
        b = rel[0] * ld[:, 0] + rel[1] * ld[:, 1] + rel[2] * ld[:, 2]  # (M,)
        disc = b * b - (rel[0] ** 2 + rel[1] ** 2 + rel[2] ** 2 - rad * rad)
        cand = np.flatnonzero((disc > 0) & (np.sqrt(np.maximum(disc, 0.0)) > b))  # rays that may reach p
        if cand.size:
            t = intersect(p, *(x[cand] for x in o), *(ld[cand, a] for a in range(3)))
            blocked = cand[np.isfinite(t)]
            vis[r[blocked], c[blocked]] = 0.0

    # ground: ambient + Lambert (the normal is up), soft contact darkening and a spot-light falloff
    ao = np.ones_like(px)  # (R, R)
    for p in prims:
        reach = 3.0 * p.radius + p.reach
        wr, wc = _window(
            cam, np.array([[p.x + sx * reach, p.y + sy * reach, 0.0] for sx in (-1, 1) for sy in (-1, 1)]), res
        )
        foot = p.radius * (0.35 if p.kind == "sphere" else 1.0)
        gap = np.maximum(np.hypot(px[wr, wc] - p.x, py[wr, wc] - p.y) - foot, 0.0)
        ao[wr, wc] *= 1.0 - 0.4 * np.exp(-((gap / (0.55 * p.radius)) ** 2))
    falloff = np.clip(1.0 - 0.35 * (px * px + py * py) / 81.0, 0.55, 1.0)  # (R, R)
    shade = (GROUND_AMBIENT + GROUND_DIFFUSE * lz * vis) * ao * falloff  # (R, R)
    img = shade[..., None] * GROUND_ALBEDO  # (R, R, 3)
    img[~hit] = GROUND_ALBEDO * 0.55  # backdrop above the horizon (not reached by the default cameras)

    # solids: hemispherical ambient + Lambert + Blinn-Phong highlight, all in shadow where the light is blocked
    for p, (r, c) in zip(prims, pix, strict=True):
        n = (nx[r, c], ny[r, c], nz[r, c])
        diffuse = np.maximum(n_dot_l[r, c], 0.0) * vis[r, c]  # (M,)
        hx, hy, hz = lx - dx[r, c], ly - dy[r, c], lz - dz[r, c]  # half vector
        n_dot_h = np.maximum(n[0] * hx + n[1] * hy + n[2] * hz, 0.0) / np.sqrt(hx * hx + hy * hy + hz * hz)
        spec = SPECULAR * vis[r, c] * (n_dot_l[r, c] > 0) * n_dot_h**SHININESS  # (M,)
        o_shade = AMBIENT * (0.6 + 0.4 * n[2]) + DIFFUSE * diffuse  # (M,)
        img[r, c] = o_shade[:, None] * np.asarray(p.color, dtype=np.float32) + spec[:, None]

    img = reduce(img, "(h a) (w b) c -> h w c", "mean", a=ss, b=ss)  # (H, W, 3) box-filter the supersamples
    out = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    if return_ids:
        return out, ids[ss // 2 :: ss, ss // 2 :: ss].astype(np.int64)
    return out
