"""Categories of hand-held and other things: tools, cutlery, toys and figures.

Shared parts: stick (hammer, axe, shovel, spoon, fork, umbrella, lollipop), blade (axe, shovel, sword, scissors),
ring (key, scissors, glasses, bell), grip, head, eyes, arms, legs, buttons, string, tail.
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
    dot,
    ellipse,
    eyes,
    highlight,
    line,
    poly,
    rect,
    ring,
    rotate_pts,
    rrect,
    union_outline,
)


@register_category("key", "tool")
def key(j: Jitter) -> list[Part]:
    r, end = j(0.28), j(0.9)
    return [
        Part("ring", (ring(-0.65, 0, r, 0.12, "main"),)),
        Part("stick", (rect(-0.65 + r - 0.02, -0.07, end, 0.07),), label="shaft"),
        Part("teeth", (rect(end - 0.35, 0.07, end - 0.25, 0.25), rect(end - 0.15, 0.07, end, j(0.3)))),
    ]


@register_category("hammer", "tool")
def hammer(j: Jitter) -> list[Part]:
    w, top = j(0.08), j(-0.85)
    head = [[-0.5, top], [0.3, top], [0.62, top - 0.15], [0.56, top + 0.05], [0.3, top + 0.3], [-0.5, top + 0.3]]
    return [
        Part("stick", (rrect(-w, top + 0.2, w, 0.95, 0.05, "wood"),), label="handle"),
        Part("head", (poly(head, "metal"),)),
    ]


@register_category("axe", "tool")
def axe(j: Jitter) -> list[Part]:
    reach = j(0.85)
    edge = bezier_pts((0.5, -1.08), (reach + 0.05, -0.65), (0.5, -0.12), n=14)
    blade = np.concatenate([[[0.0, -0.82], [0.3, -0.74]], edge, [[0.3, -0.42], [0.0, -0.38]]])
    return [Part("stick", (rrect(-0.07, -0.88, 0.07, 0.95, 0.05, "wood"),), label="handle"),
            Part("blades", (poly(blade, "metal"),))]  # fmt: skip


@register_category("shovel", "tool")
def shovel(j: Jitter) -> list[Part]:
    w, tip = j(0.3), j(0.98)
    blade = np.concatenate([[[-w, 0.2], [w, 0.2]], bezier_pts((w, 0.2), (w + 0.02, 0.75), (0, tip), n=10)[1:],
                            bezier_pts((0, tip), (-w - 0.02, 0.75), (-w, 0.2), n=10)[1:-1]])  # fmt: skip
    return [
        Part("grip", (line([[0, -0.75], [-0.17, -0.97], [0.17, -0.97], [0, -0.75]], 0.05, "dark"),)),
        Part("stick", (bar(0, -0.78, 0, 0.3, 0.08, "wood"),)),
        Part("blades", (poly(blade, "metal"),)),
    ]


@register_category("sword", "tool")
def sword(j: Jitter) -> list[Part]:
    w, guard = j(0.09), j(0.38)
    return [
        Part("blades", (poly([[-w, 0.35], [-w, -0.8], [0, -0.98], [w, -0.8], [w, 0.35]], "metal"),
                        bar(0, 0.3, 0, -0.75, 0.02, "white"))),
        Part("guard", (rrect(-guard, 0.33, guard, 0.45, 0.04, "second"),)),
        Part("grip", (rect(-0.055, 0.45, 0.055, 0.82, "wood"), circle(0, 0.88, 0.08, "second"))),
    ]  # fmt: skip


@register_category("spoon", "tool")
def spoon(j: Jitter) -> list[Part]:
    rx, ry = j(0.28), j(0.42)
    return [
        Part("stick", (poly([[-0.045, -0.2], [0.045, -0.2], [0.09, 0.95], [-0.09, 0.95]]),), label="handle"),
        Part("bowl", (ellipse(0, -0.55, rx, ry), highlight(-0.08, -0.65, 0.08, 0.18))),
    ]


@register_category("fork", "tool")
def fork(j: Jitter) -> list[Part]:
    w, tine = j(0.22), j(-0.95)
    tines = tuple(bar(x, -0.5, x, tine, 0.05, "main") for x in np.linspace(-w + 0.03, w - 0.03, 4))
    neck = [[-w, -0.52], [w, -0.52], [0.06, -0.15], [-0.06, -0.15]]
    return [
        Part("tines", tines, count=4),
        Part("stick", (poly(neck), poly([[-0.045, -0.2], [0.045, -0.2], [0.09, 0.95], [-0.09, 0.95]])), label="handle"),
    ]


@register_category("pencil", "tool")
def pencil(j: Jitter) -> list[Part]:
    w, tip = j(0.15), j(0.5)
    return [
        Part("eraser", (rrect(-w, -0.98, w, -0.76, 0.06, "second"), rect(-w - 0.01, -0.8, w + 0.01, -0.66, "metal"))),
        Part("body", (rect(-w, -0.66, w, tip), bar(-w / 3, -0.66, -w / 3, tip, 0.015, "dark"),
                      bar(w / 3, -0.66, w / 3, tip, 0.015, "dark")), kind="box"),
        Part("tip", (poly([[-w, tip], [w, tip], [0, 0.98]], "wood"),
                     poly([[-0.05, 0.83], [0.05, 0.83], [0, 0.98]], "dark"))),
    ]  # fmt: skip


@register_category("scissors", "tool")
def scissors(j: Jitter) -> list[Part]:
    r, open_ = j(0.2), j(12.0, 0.3)
    blade = np.array([[-0.07, 0.45], [0.05, 0.45], [0.04, -0.95], [-0.03, -0.9]])
    return [
        Part("blades", (poly(rotate_pts(blade, -open_, 0, 0.1), "metal"),
                        poly(rotate_pts(blade * [-1, 1], open_, 0, 0.1), "metal"), dot(0, 0.1, 0.04)), count=2),
        Part("ring", (ring(-0.27, 0.65, r, 0.08, "main"), ring(0.27, 0.65, r, 0.08, "main")), count=2),
    ]  # fmt: skip


@register_category("umbrella", "household")
def umbrella(j: Jitter) -> list[Part]:
    rx, ry = j(0.95), j(0.7)
    xs = np.linspace(rx, -rx, 5)
    scallops = [
        arc_pts((a + b) / 2, -0.25, (a - b) / 2, 0.1, 0, -180, n=8) for a, b in zip(xs[:-1], xs[1:], strict=True)
    ]
    canopy = np.concatenate([arc_pts(0, -0.25, rx, ry, 180, 360, n=24), *scallops])
    ribs = tuple(bar(0, -0.25 - ry, x, -0.3, 0.02, "dark") for x in xs[1:-1])
    return [
        Part("stick", (bar(0, -0.3, 0, 0.7, 0.05, "dark"),)),
        Part("handle", (line(arc_pts(-0.15, 0.7, 0.15, 0.15, 0, 180), 0.06, "dark"),)),
        Part("canopy", (poly(canopy), *ribs, bar(0, -0.25 - ry, 0, -0.35 - ry, 0.04, "dark"))),
    ]  # fmt: skip


@register_category("guitar", "other")
def guitar(j: Jitter) -> list[Part]:
    r1, r2 = j(0.3), j(0.42)
    strings = tuple(bar(x, -0.95, x, 0.72, 0.012, "white") for x in (-0.035, 0.0, 0.035))
    return [
        Part("neck", (rect(-0.07, -0.95, 0.07, 0.0, "wood"), rrect(-0.11, -1.15, 0.11, -0.92, 0.03, "dark"))),
        Part("body", (poly(union_outline([(0, 0.12, r1), (0, 0.15 + r1 + r2 - 0.2, r2)])),), kind="round"),
        Part("hole", (circle(0, 0.3, 0.1, "dark"),)),
        Part("strings", (*strings, rect(-0.13, 0.7, 0.13, 0.76, "dark"))),
    ]


@register_category("kite", "other")
def kite(j: Jitter) -> list[Part]:
    w, bottom = j(0.5), j(0.55)
    tail = bezier_pts((0, bottom), (0.35, 0.72), (0.05, 0.85), (0.45, 0.98), n=20)
    bow = np.array([[-0.08, -0.05], [0.08, 0.05], [0.08, -0.05], [-0.08, 0.05]])  # a bow tie
    bows = tuple(poly(bow + p, "second") for p in tail[[7, 14]])
    return [
        Part("string", (line([[0, -0.2], [-0.45, 0.4], [-0.8, 0.98]], 0.02),)),
        Part("tail", (line(tail, 0.03),)),
        Part("bows", bows),
        Part("body", (poly([[0, -0.95], [w, -0.35], [0, bottom], [-w, -0.35]]), bar(0, -0.95, 0, bottom, 0.03),
                      bar(-w, -0.35, w, -0.35, 0.03)), kind="diamond"),
    ]  # fmt: skip


@register_category("ladder", "tool")
def ladder(j: Jitter) -> list[Part]:
    w = j(0.36)
    rungs = tuple(bar(-w, y, w, y, 0.06, "wood") for y in np.linspace(-0.72, 0.78, 5))
    return [
        Part("rungs", rungs, count=5),
        Part("rails", (bar(-w, -0.98, -w, 0.98, 0.09, "wood"), bar(w, -0.98, w, 0.98, 0.09, "wood")), count=2),
    ]


@register_category("snowman", "other", main_part="hat")
def snowman(j: Jitter) -> list[Part]:
    r1, r2, r3 = j(0.45), j(0.33), j(0.25)
    y2, y3 = 0.55 - r1 - r2 + 0.08, 0.55 - r1 - 2 * r2 - r3 + 0.14
    arms = (bar(-0.2, y2, -0.8, y2 - 0.35, 0.04, "wood"), bar(0.2, y2, 0.8, y2 - 0.35, 0.04, "wood"))
    return [
        Part("arms", arms, count=2),
        Part("body", (circle(0, 0.55, r1, "white"), circle(0, y2, r2, "white")), kind="round"),
        Part("head", (circle(0, y3, r3, "white"),)),
        Part("scarf", (rrect(-r3 - 0.02, y3 + r3 - 0.08, r3 + 0.02, y3 + r3 + 0.04, 0.04),)),
        Part("hat", (rect(-0.17, y3 - r3 - 0.3, 0.17, y3 - r3 + 0.05), rect(-0.3, y3 - r3, 0.3, y3 - r3 + 0.07))),
        eyes([(-0.09, y3 - 0.05), (0.09, y3 - 0.05)], 0.04),
        Part("nose", (poly([[0, y3 + 0.01], [0.3, y3 + 0.05], [0, y3 + 0.09]], "flame"),)),
        Part("buttons", tuple(dot(0, y, 0.04) for y in (y2 - 0.1, y2 + 0.12, 0.45)), count=3),
    ]


@register_category("robot", "other")
def robot(j: Jitter) -> list[Part]:
    hw, bw = j(0.3), j(0.42)
    return [
        Part("antennae", (bar(0, -0.85, 0, -1.0, 0.03, "dark"), dot(0, -1.02, 0.05, "flame"))),
        Part("arms", (rect(-bw - 0.16, -0.35, -bw, 0.2, "metal"), rect(bw, -0.35, bw + 0.16, 0.2, "metal")), count=2),
        Part("legs", (rect(-0.3, 0.3, -0.1, 0.9, "metal"), rect(0.1, 0.3, 0.3, 0.9, "metal")), count=2),
        Part("head", (rrect(-hw, -0.86, hw, -0.45, 0.05),)),
        Part("eyes", (circle(-0.12, -0.68, 0.07, "light"), circle(0.12, -0.68, 0.07, "light")), count=2),
        Part("body", (rect(-bw, -0.42, bw, 0.36), rect(-0.2, -0.3, 0.2, -0.05, "light")), kind="box"),
        Part("buttons", tuple(dot(x, 0.12, 0.05, "flame") for x in (-0.12, 0.12)), count=2),
    ]


@register_category("glasses", "household")
def glasses(j: Jitter) -> list[Part]:
    r, gap = j(0.36), j(0.14)
    cx = gap + r
    return [
        Part("arms", (bar(-cx - r, -0.05, -cx - r - 0.15, -0.15, 0.05), bar(cx + r, -0.05, cx + r + 0.15, -0.15, 0.05)),
             count=2),
        Part("ring", (highlight(-cx, 0, r, r, "light"), highlight(cx, 0, r, r, "light"), ring(-cx, 0, r, 0.09, "main"),
                      ring(cx, 0, r, 0.09, "main")), count=2, label="lens"),
        Part("bridge", (line(arc_pts(0, 0.05, gap + 0.05, 0.12, 200, 340), 0.06, "main"),)),
    ]  # fmt: skip


@register_category("sun", "other")
def sun(j: Jitter) -> list[Part]:
    r, ray = j(0.5), j(0.95)
    rays = tuple(poly(rotate_pts(np.array([[-0.1, -r - 0.08], [0.1, -r - 0.08], [0, -ray]]), 45 * k), "second")
                 for k in range(8))  # fmt: skip
    return [Part("rays", rays, count=8), Part("body", (circle(0, 0, r),), kind="round")]
