"""Categories that stand outdoors: buildings and street furniture.

Shared parts: roof, door, windows, chimney (house, boat, train), pole (lamp, fan, tent, traffic light, mailbox),
flag (tower, sailboat, mailbox), blades and hub (windmill, fan), rails (fence, ladder).
"""

from __future__ import annotations

import numpy as np

from semspace.world.objects.categories import register_category
from semspace.world.objects.parts import (
    Jitter,
    Part,
    arc_pts,
    bar,
    circle,
    dome,
    dot,
    poly,
    rect,
    rotate_pts,
    rrect,
    windows,
)


def _arched(x0: float, x1: float, bottom: float, top: float) -> np.ndarray:
    """A door or window with a round top: straight sides from ``bottom`` up to ``top``, then a half circle."""
    r = 0.5 * (x1 - x0)
    return np.concatenate([[[x0, bottom]], arc_pts(x0 + r, top, r, r, 180, 360, n=12), [[x1, bottom]]])


@register_category("house", "building")
def house(j: Jitter) -> list[Part]:
    w, eave, peak = j(0.7), j(-0.2), j(-0.9)
    panes = [(-w + 0.15, 0.0, -w + 0.42, 0.27), (w - 0.42, 0.0, w - 0.15, 0.27)]
    mullions = tuple(b for a, _, c, _ in panes for b in (bar((a + c) / 2, 0.0, (a + c) / 2, 0.27, 0.025),
                                                        bar(a, 0.135, c, 0.135, 0.025)))  # fmt: skip
    return [
        Part("chimney", (rect(0.35 * w / 0.7, -0.85, 0.55 * w / 0.7, -0.35, "second"),)),
        Part("body", (rect(-w, eave, w, 0.8),), kind="box"),
        Part("roof", (poly([[-w - 0.18, eave + 0.04], [0, peak], [w + 0.18, eave + 0.04]], "second"),)),
        Part("door", (rect(-0.15, 0.3, 0.15, 0.8, "wood"), dot(0.08, 0.57, 0.03))),
        Part("windows", (*windows(panes).shapes, *mullions), count=2),
    ]


@register_category("tower", "building")
def tower(j: Jitter) -> list[Part]:
    w, top = j(0.42), j(-0.55)
    xs = np.linspace(-w - 0.1, w + 0.1, 6)
    levels = [-0.95 if k % 2 == 0 else -0.8 for k in range(5)]  # merlons and gaps
    merlons = [[xs[0], top]] + [p for k in range(5) for p in ([xs[k], levels[k]], [xs[k + 1], levels[k]])]
    return [
        Part("flag", (bar(0, -0.95, 0, -1.35, 0.03, "dark"), poly([[0, -1.35], [0.32, -1.27], [0, -1.19]], "second"))),
        Part("body", (rect(-w, top, w, 0.95),), kind="box"),
        Part("battlements", (poly(merlons + [[xs[-1], top]], "second"),)),
        Part("door", (poly(_arched(-0.17, 0.17, 0.95, 0.62), "wood"),)),
        Part("windows", (poly(_arched(-0.07, 0.07, j(-0.05), -0.3), "dark"), poly(_arched(-0.07, 0.07, 0.38, 0.15),
                                                                                   "dark")), count=2),
    ]  # fmt: skip


@register_category("tent", "building")
def tent(j: Jitter) -> list[Part]:
    w, door = j(0.95), j(0.3)
    return [
        Part("pole", (bar(0, -0.95, 0, -0.5, 0.05, "wood"),)),
        Part("body", (poly([[-w, 0.7], [0, -0.65], [w, 0.7]]),), kind="triangle"),
        Part("door", (poly([[-door, 0.7], [0, j(0.0)], [door, 0.7]], "dark"),)),
    ]


@register_category("windmill", "building")
def windmill(j: Jitter) -> list[Part]:
    hub_y, length, phase = -0.4, j(0.85), j.add(45.0, 20.0)
    blades = tuple(poly(rotate_pts(np.array([[-0.08, -0.1], [0.08, -0.1], [0.09, -length], [-0.09, -length]]) +
                                   [0, hub_y], phase + 90 * k, 0, hub_y), "second") for k in range(4))  # fmt: skip
    return [
        Part("body", (poly([[-0.25, -0.35], [0.25, -0.35], [j(0.42), 0.95], [-0.42, 0.95]]),), kind="trapezoid"),
        Part("roof", (dome(0, -0.33, 0.3, 0.25, "second"),)),
        Part("door", (poly(_arched(-0.12, 0.12, 0.95, 0.7), "wood"),)),
        Part("blades", blades, count=4),
        Part("hub", (circle(0, hub_y, 0.07, "dark"),)),
    ]


@register_category("traffic_light", "building")
def traffic_light(j: Jitter) -> list[Part]:
    w, r = j(0.3), j(0.14)
    lamps = tuple(circle(0, y, r, role) for y, role in ((-0.65, "flame"), (-0.3, "light"), (0.05, "leaf")))
    return [
        Part("pole", (bar(0, 0.3, 0, 0.98, 0.08, "metal"),)),
        Part("body", (rrect(-w, -0.95, w, 0.3, 0.1),), kind="rounded"),
        Part("lights", lamps, count=3),
    ]


@register_category("mailbox", "building")
def mailbox(j: Jitter) -> list[Part]:
    w, flag = j(0.75), j(-0.6)
    body = np.concatenate([[[-w, 0.25]], arc_pts(0, -0.2, w, j(0.3), 180, 360, n=20), [[w, 0.25]]])
    return [
        Part("pole", (bar(0, 0.2, 0, 0.98, 0.1, "wood"),)),
        Part("body", (poly(body), rect(-w, -0.2, -w + 0.08, 0.25, "dark")), kind="dome"),
        Part("flag", (bar(0.45, 0.0, 0.45, flag, 0.05, "second"), rect(0.45, flag, 0.7, flag + 0.16, "second"))),
    ]


@register_category("fence", "building")
def fence(j: Jitter) -> list[Part]:
    w, tip = j(0.14), j(0.2)
    posts = tuple(poly([[x - w, 0.85], [x - w, -0.45], [x, -0.45 - tip], [x + w, -0.45], [x + w, 0.85]])
                  for x in (-0.75, -0.25, 0.25, 0.75))  # fmt: skip
    rails = (rect(-1.0, -0.3, 1.0, -0.16, "second"), rect(-1.0, 0.35, 1.0, 0.49, "second"))
    return [Part("rails", rails, count=2), Part("posts", posts, count=4)]
