"""Categories of the home: containers, furniture and household things.

Each builder lists its parts in drawing order (back to front); ``j`` varies proportions within the class.
Shared parts (handle, lid, legs, base, pole, ring, blades, hub) give unseen classes meaningful attributes.
"""

from __future__ import annotations

import numpy as np

from semspace.world.objects.categories import register_category
from semspace.world.objects.parts import (
    Jitter,
    Part,
    arc_pts,
    bar,
    bezier_pts,
    circle,
    dome,
    dot,
    ellipse,
    flame,
    leaf_pts,
    legs,
    line,
    poly,
    rect,
    ring,
    rotate_pts,
    rrect,
    side_handle,
)


@register_category("cup", "container")
def cup(j: Jitter) -> list[Part]:
    w, h = j(0.55), j(0.4)
    b = j(0.68) * w
    edge = (w + b) / 2
    return [
        side_handle(edge - 0.1, 0.0, j(0.3), j(0.24), 0.1),
        Part("saucer", (ellipse(0, h + 0.04, j(0.9, 0.05), 0.1, "second"),)),
        Part("body", (poly([[-w, -h], [w, -h], [b, h], [-b, h]]),), kind="trapezoid"),
    ]


@register_category("mug", "container")
def mug(j: Jitter) -> list[Part]:
    w, h = j(0.42), j(0.55)
    return [
        side_handle(w - 0.08, j.add(0.0, 0.05), j(0.34), j(0.32), 0.12),
        Part("body", (rrect(-w, -h, w, h, 0.05), ellipse(0, -h, w, 0.02, "dark")), kind="box"),
    ]


@register_category("teapot", "container")
def teapot(j: Jitter) -> list[Part]:
    rx, ry = j(0.62), j(0.45)
    spout = poly([[-0.45, 0.25], [-0.98, -0.32], [-0.84, -0.38], [-0.35, -0.05]])
    return [
        Part("spout", (spout,)),
        side_handle(rx - 0.12, 0.08, j(0.3), j(0.3), 0.1),
        Part("body", (ellipse(0, 0.1, rx, ry),), kind="oval"),
        Part("lid", (dome(0, 0.1 - ry + 0.06, j(0.3), 0.15, "second"), circle(0, 0.1 - ry - 0.12, 0.07, "second"))),
    ]


@register_category("bottle", "container")
def bottle(j: Jitter) -> list[Part]:
    w, nw = j(0.32), j(0.12)
    body = [[-w, 0.95], [-w, -0.1], [-nw, -0.45], [nw, -0.45], [w, -0.1], [w, 0.95]]
    return [
        Part("neck", (rect(-nw, -0.75, nw, -0.4),)),
        Part("body", (poly(body),), kind="box"),
        Part("label", (rect(-w, j(0.2), w, j(0.6), "white"),)),
        Part("cap", (rect(-nw - 0.03, -0.93, nw + 0.03, -0.72, "second"),)),
    ]


@register_category("vase", "container")
def vase(j: Jitter) -> list[Part]:
    belly, nw, lip = j(0.68), j(0.15), j(0.3)
    right = bezier_pts((0.0, 0.95), (0.3, 0.95), (belly, 0.65), (belly, -0.1), (nw, -0.3), n=24)
    neck = [[-nw, -0.2], [nw, -0.2], [nw, -0.6], [lip, -0.88], [-lip, -0.88], [-nw, -0.6]]
    return [
        Part("neck", (poly(neck),)),
        Part("body", (poly(np.concatenate([right, right[::-1][:-1] * [-1, 1]])),), kind="round"),
        Part("rim", (ellipse(0, -0.88, lip, 0.06, "second"),)),
    ]


@register_category("bucket", "container")
def bucket(j: Jitter) -> list[Part]:
    w, h = j(0.6), j(0.5)
    b = j(0.75) * w
    bail = line(arc_pts(0, -h, w * 0.95, j(0.55), 180, 360), 0.05, "metal")
    return [
        Part("handle", (bail,)),
        Part("body", (poly([[-w, -h], [w, -h], [b, h], [-b, h]]),), kind="trapezoid"),
        Part("rim", (rect(-w - 0.04, -h - 0.07, w + 0.04, -h + 0.06, "second"),)),
    ]


@register_category("jar", "container")
def jar(j: Jitter) -> list[Part]:
    w = j(0.5)
    return [
        Part("body", (rrect(-w, -0.5, w, j(0.8), 0.15),), kind="rounded"),
        Part("label", (rect(-w, -0.1, w, j(0.4), "white"),)),
        Part("lid", (rrect(-w - 0.05, j(-0.75), w + 0.05, -0.48, 0.05, "second"),)),
    ]


@register_category("chair", "furniture")
def chair(j: Jitter) -> list[Part]:
    w, top = j(0.48), j(-1.0)
    seat = poly([[-w - 0.05, -0.1], [w + 0.05, -0.1], [w + 0.17, 0.1], [-w - 0.17, 0.1]])
    posts = tuple(bar(x, top, x, -0.1, 0.08, "main") for x in (-w + 0.04, w - 0.04))
    back = (rect(-w, top, w, top + j(0.45), "main"), *posts)
    return [
        legs([(-w + 0.04, 0.0, -w + 0.04, 0.7), (w - 0.04, 0.0, w - 0.04, 0.7)], 0.07, "second"),
        Part("backrest", back),
        Part("seat", (seat,)),
        legs([(-w - 0.12, 0.1, -w - 0.12, 0.95), (w + 0.12, 0.1, w + 0.12, 0.95)], 0.08, "second"),
    ]


@register_category("table", "furniture")
def table(j: Jitter) -> list[Part]:
    w, hgt = j(0.95, 0.05), j(0.65)
    top = (poly([[-w + 0.2, -0.35], [w - 0.2, -0.35], [w, -0.15], [-w, -0.15]]), rect(-w, -0.15, w, -0.05, "second"))
    return [
        Part("legs", (bar(-w + 0.25, -0.3, -w + 0.25, hgt - 0.15, 0.09, "second"),
                      bar(w - 0.25, -0.3, w - 0.25, hgt - 0.15, 0.09, "second"),
                      bar(-w + 0.1, -0.05, -w + 0.1, hgt, 0.1, "second"),
                      bar(w - 0.1, -0.05, w - 0.1, hgt, 0.1, "second")), count=4),
        Part("top", top),
    ]  # fmt: skip


@register_category("stool", "furniture")
def stool(j: Jitter) -> list[Part]:
    r, foot = j(0.55), j(0.55)
    return [
        legs([(-0.3, -0.3, -foot, 0.9), (0.3, -0.3, foot, 0.9), (0.0, -0.25, 0.0, 0.95)], 0.08, "wood"),
        Part("rungs", (bar(-0.75 * foot, 0.45, 0.75 * foot, 0.45, 0.05, "wood"),)),
        Part("seat", (ellipse(0, -0.25, r, 0.16, "second"), ellipse(0, -0.36, r, 0.16))),
    ]


@register_category("bed", "furniture")
def bed(j: Jitter) -> list[Part]:
    hb = j(-0.75)
    return [
        Part("headboard", (rrect(-1.0, hb, -0.82, 0.55, 0.06, "wood"), rrect(0.84, -0.3, 1.0, 0.55, 0.05, "wood"))),
        legs([(-0.91, 0.5, -0.91, 0.78), (0.92, 0.5, 0.92, 0.78)], 0.08, "wood"),
        Part("body", (rect(-0.85, j(-0.2), 0.86, 0.45), rect(-0.85, 0.32, 0.86, 0.45, "second")), kind="box"),
        Part("pillow", (rrect(-0.8, -0.42, j(-0.35), -0.12, 0.1, "white"),)),
    ]


@register_category("lamp", "household")
def lamp(j: Jitter) -> list[Part]:
    tw, bw = j(0.25), j(0.55)
    return [
        Part("pole", (bar(0, -0.4, 0, 0.8, 0.07, "metal"),)),
        Part("base", (dome(0, 0.95, j(0.42), 0.2, "second"),)),
        Part("shade", (poly([[-tw, -0.95], [tw, -0.95], [bw, j(-0.35)], [-bw, -0.35]]),)),
    ]


@register_category("clock", "household")
def clock(j: Jitter) -> list[Part]:
    ticks = tuple(bar(0.6 * np.cos(a), 0.6 * np.sin(a), 0.7 * np.cos(a), 0.7 * np.sin(a), 0.05) for a in
                  np.deg2rad(np.arange(0, 360, 30)))  # fmt: skip
    ha, ma = np.deg2rad(j.add(-60, 180)), np.deg2rad(j.add(-150, 180))
    hands = (
        bar(0, 0, 0.33 * np.cos(ha), 0.33 * np.sin(ha), 0.07),
        bar(0, 0, 0.52 * np.cos(ma), 0.52 * np.sin(ma), 0.05),
    )
    return [
        Part("body", (circle(0, 0, 0.92),), kind="round"),
        Part("face", (circle(0, 0, j(0.76, 0.05), "white"),)),
        Part("ticks", ticks),
        Part("hands", (*hands, dot(0, 0, 0.06)), count=2),
    ]


@register_category("bell", "household")
def bell(j: Jitter) -> list[Part]:
    lip, waist = j(0.75), j(0.38)
    right = bezier_pts((waist, -0.45), (waist + 0.02, 0.1), (lip, 0.45), n=12)
    bottom = bezier_pts((lip, 0.45), (0.0, 0.62), (-lip, 0.45), n=10)
    left = bezier_pts((-lip, 0.45), (-waist - 0.02, 0.1), (-waist, -0.45), n=12)
    body = np.concatenate([arc_pts(0, -0.45, waist, 0.32, 180, 360, n=16), right, bottom, left])
    return [
        Part("ring", (ring(0, -0.86, 0.13, 0.06),)),
        Part("clapper", (circle(0, 0.62, j(0.13), "dark"),)),
        Part("body", (poly(body),), kind="dome"),
    ]


@register_category("candle", "household")
def candle(j: Jitter) -> list[Part]:
    w, top = j(0.22), j(-0.3)
    return [
        Part("base", (ellipse(0, 0.85, j(0.55), 0.12, "metal"),)),
        Part(
            "body",
            (rect(-w, top, w, 0.85), poly([[-w, top], [-w + 0.1, top], [-w + 0.05, top + 0.25]], "white")),
            kind="box",
        ),
        Part("wick", (bar(0, top, 0, top - 0.14, 0.035, "dark"),)),
        flame(0, top - 0.28, j(0.12)),
    ]


@register_category("light_bulb", "household")
def light_bulb(j: Jitter) -> list[Part]:
    r, nw = j(0.55), j(0.22)
    body = np.concatenate([arc_pts(0, -0.3, r, r, 125, 415, n=40), [[nw, 0.38], [-nw, 0.38]]])
    threads = tuple(bar(-nw, y, nw, y + 0.05, 0.03, "dark") for y in (0.48, 0.6, 0.72))
    zigzag = [[-0.12, 0.35], [-0.12, -0.2], [-0.06, -0.34], [0, -0.2], [0.06, -0.34], [0.12, -0.2], [0.12, 0.35]]
    filament = line(zigzag, 0.03, "dark")
    return [
        Part(
            "base",
            (rect(-nw, 0.36, nw, 0.82, "metal"), *threads, poly([[-0.12, 0.82], [0.12, 0.82], [0, 0.95]], "dark")),
        ),
        Part("body", (poly(body),), kind="round"),
        Part("filament", (filament,)),
    ]


@register_category("fan", "household")
def fan(j: Jitter) -> list[Part]:
    cy, phase = -0.35, j.add(0.0, 60.0)
    blades = tuple(poly(rotate_pts(leaf_pts(0, cy, 0, cy - 0.56, 0.2), phase + 120 * k, 0, cy)) for k in range(3))
    return [
        Part("pole", (bar(0, cy, 0, 0.9, 0.08, "metal"),)),
        Part("base", (dome(0, 0.97, j(0.45), 0.16, "second"),)),
        Part("blades", blades, count=3),
        Part("hub", (circle(0, cy, 0.11, "second"),)),
        Part("ring", (ring(0, cy, j(0.62, 0.04), 0.04, "metal", double=False),)),
    ]
