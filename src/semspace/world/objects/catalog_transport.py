"""Categories that move: vehicles on wheels, boats and aircraft (side views).

Shared parts: wheels (car, truck, bus, wagon, train, bicycle), cabin and windows, hull, tail and wings, blades.
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
    dot,
    ellipse,
    flame,
    line,
    poly,
    rect,
    ring,
    rrect,
    wheels,
    windows,
)


@register_category("car", "vehicle")
def car(j: Jitter) -> list[Part]:
    top, r = j(-0.5), j(0.22)
    cabin = [[-0.52, -0.04], [0.5, -0.04], [j(0.3), top], [j(-0.33), top]]
    panes = (poly([[-0.42, -0.08], [-0.04, -0.08], [-0.04, top + 0.07], [-0.28, top + 0.07]], "light"),
             poly([[0.04, -0.08], [0.41, -0.08], [0.25, top + 0.07], [0.04, top + 0.07]], "light"))  # fmt: skip
    return [
        Part("cabin", (poly(cabin),)),
        Part("windows", panes, count=2),
        Part("body", (rrect(-0.95, -0.05, 0.95, j(0.36), 0.14),), kind="rounded"),
        wheels([-0.55, 0.55], 0.36, r),
    ]


@register_category("truck", "vehicle")
def truck(j: Jitter) -> list[Part]:
    top, cab = j(-0.65), j(0.34)
    return [
        Part("body", (rect(-0.98, top, 0.3, 0.3),), kind="box"),
        Part("cabin", (poly([[cab, 0.3], [cab, -0.35], [0.7, -0.35], [0.97, -0.05], [0.97, 0.3]], "second"),)),
        Part("windows", (poly([[cab + 0.08, -0.28], [0.66, -0.28], [0.85, -0.06], [cab + 0.08, -0.06]], "light"),)),
        wheels([-0.68, -0.28, 0.64], 0.3, j(0.18)),
    ]


@register_category("bus", "vehicle")
def bus(j: Jitter) -> list[Part]:
    top, wy = j(-0.6), j(-0.1)
    panes = [(-0.86 + 0.36 * k, top + 0.15, -0.6 + 0.36 * k, wy) for k in range(4)]
    return [
        Part("body", (rrect(-0.98, top, 0.98, 0.35, 0.12), rect(-0.98, 0.05, 0.98, 0.12, "second")), kind="rounded"),
        windows(panes),
        Part("door", (rect(0.6, top + 0.15, 0.84, 0.3, "second"), bar(0.72, top + 0.15, 0.72, 0.3, 0.02, "dark"))),
        wheels([-0.6, 0.52], 0.35, j(0.2)),
    ]


@register_category("bicycle", "vehicle")
def bicycle(j: Jitter) -> list[Part]:
    r, hy = j(0.38), j(-0.25)
    frame = (line([[-0.6, 0.3], [-0.05, 0.3], [0.4, hy], [-0.2, hy], [-0.6, 0.3]], 0.06, "main"),
             bar(-0.05, 0.3, -0.2, hy, 0.06, "main"), bar(0.4, hy, 0.6, 0.3, 0.06, "main"))  # fmt: skip
    tyres = tuple(s for x in (-0.6, 0.6) for s in (ring(x, 0.3, r, 0.07, "dark", double=False), dot(x, 0.3, 0.05)))
    return [
        Part("wheels", tyres, count=2),
        Part("frame", frame),
        Part("seat", (bar(-0.2, hy, -0.24, hy - 0.17, 0.05, "dark"), ellipse(-0.26, hy - 0.2, 0.15, 0.05, "dark"))),
        Part("handlebar", (bar(0.4, hy, 0.35, hy - 0.2, 0.05, "dark"), line([[0.22, hy - 0.2], [0.45, hy - 0.22],
                                                                                [0.5, hy - 0.14]], 0.05, "dark"))),
    ]  # fmt: skip


@register_category("wagon", "vehicle")
def wagon(j: Jitter) -> list[Part]:
    top, reach = j(-0.25), j(0.98)
    return [
        Part(
            "handle",
            (bar(0.6, 0.0, reach, -0.7, 0.06, "dark"), bar(reach - 0.1, -0.7, reach + 0.1, -0.7, 0.07, "dark")),
        ),
        Part("body", (rect(-0.75, top, 0.62, 0.2),), kind="box"),
        Part("rim", (rect(-0.8, top - 0.08, 0.67, top + 0.02, "second"),)),
        wheels([-0.48, 0.38], 0.26, j(0.2)),
    ]


@register_category("train", "vehicle")
def train(j: Jitter) -> list[Part]:
    stack, roof = j(-0.65), j(-0.7)
    return [
        Part("chimney", (poly([[-0.6, -0.2], [-0.32, -0.2], [-0.24, stack], [-0.68, stack]], "dark"),)),
        Part("cabin", (rect(0.2, roof + 0.08, 0.9, 0.3, "second"), rect(0.12, roof, 0.98, roof + 0.1, "dark"))),
        windows([(0.38, roof + 0.22, 0.72, -0.2)]),
        Part("body", (rrect(-0.95, -0.25, 0.25, 0.3, 0.15), rect(-0.98, -0.1, -0.9, 0.15, "dark")), kind="rounded"),
        wheels([-0.7, -0.25, 0.52], 0.38, j(0.2)),
    ]


@register_category("boat", "vehicle")
def boat(j: Jitter) -> list[Part]:
    top = j(-0.4)
    return [
        Part("chimney", (rect(0.05, top - 0.3, 0.24, top + 0.05, "dark"),)),
        Part("cabin", (rect(-0.45, top, 0.35, 0.1, "second"),)),
        windows([(-0.35, top + 0.1, -0.15, top + 0.3), (-0.05, top + 0.1, 0.15, top + 0.3)], round_=True),
        Part("hull", (poly([[-1.0, 0.05], [1.0, 0.05], [j(0.7), 0.52], [-0.75, 0.52]]),)),
    ]


@register_category("sailboat", "vehicle")
def sailboat(j: Jitter) -> list[Part]:
    top, boom = j(-0.95), j(0.72)
    sails = (poly([[0.06, top + 0.05], [0.06, -0.02], [boom, -0.02]], "white"),
             poly([[-0.06, top + 0.2], [-0.06, -0.02], [-0.55, -0.02]], "second"))  # fmt: skip
    return [
        Part("mast", (bar(0, top, 0, 0.1, 0.05, "wood"),)),
        Part("sail", sails, count=2),
        Part("flag", (poly([[0, top], [0.22, top + 0.05], [0, top + 0.1]], "second"),)),
        Part("hull", (poly([[-0.85, 0.05], [0.85, 0.05], [0.6, 0.42], [-0.6, 0.42]]),)),
    ]


@register_category("airplane", "vehicle")
def airplane(j: Jitter) -> list[Part]:
    fin, span = j(-0.6), j(0.62)
    body = np.concatenate([arc_pts(-0.8, 0.0, 0.22, 0.18, 90, 270, n=12), [[0.75, -0.18], [1.0, -0.08], [0.9, 0.18]]])
    return [
        Part("tail", (poly([[0.55, -0.1], [0.92, -0.1], [1.0, fin], [0.82, fin]], "second"),)),
        Part("wings", (poly([[-0.1, -0.05], [0.2, -0.05], [0.05, -0.4], [-0.12, -0.4]], "second"),)),
        Part("body", (poly(body),), kind="oval"),
        windows([(-0.62 + 0.24 * k, -0.09, -0.5 + 0.24 * k, 0.03) for k in range(5)], round_=True),
        Part("wings", (poly([[-0.2, 0.05], [0.25, 0.05], [0.0, span], [-0.25, span]], "second"),)),
    ]


@register_category("rocket", "vehicle")
def rocket(j: Jitter) -> list[Part]:
    w, bottom = j(0.25), j(0.62)
    nose = np.concatenate([bezier_pts((-w, -0.35), (-w, -0.75), (0, -0.98), n=10),
                           bezier_pts((0, -0.98), (w, -0.75), (w, -0.35), n=10)])  # fmt: skip
    return [
        Part("fins", (poly([[-w, 0.2], [-w - 0.32, bottom + 0.1], [-w, bottom]], "second"),
                      poly([[w, 0.2], [w + 0.32, bottom + 0.1], [w, bottom]], "second")), count=2),
        flame(0, bottom + 0.08, j(0.13), down=True),
        Part("body", (rrect(-w, -0.36, w, bottom, 0.05),), kind="box"),
        Part("nose", (poly(nose, "second"),)),
        windows([(-0.12, -0.2, 0.12, 0.04)], round_=True),
    ]  # fmt: skip


@register_category("helicopter", "vehicle")
def helicopter(j: Jitter) -> list[Part]:
    rotor, boom = j(0.9), j(1.0)
    return [
        Part("tail", (poly([[0.2, -0.12], [boom, -0.2], [boom, -0.08], [0.2, 0.08]]),
                      poly([[boom - 0.1, -0.18], [boom, -0.45], [boom + 0.06, -0.1]], "second"))),
        Part("blades", (bar(-0.1, -0.62, -0.1, -0.36, 0.06, "dark"), bar(-0.1 - rotor, -0.62, -0.1 + rotor, -0.62, 0.06,
                                                                         "dark")), count=2),
        Part("skids", (bar(-0.45, 0.35, -0.45, 0.58, 0.04, "dark"), bar(0.1, 0.35, 0.1, 0.58, 0.04, "dark"),
                       line([[-0.8, 0.58], [0.4, 0.58], [0.5, 0.5]], 0.05, "dark"))),
        Part("body", (ellipse(-0.15, 0.0, 0.55, 0.4),), kind="oval"),
        Part("windows", (poly(np.concatenate([arc_pts(-0.15, 0.0, 0.5, 0.34, 180, 265, n=12), [[-0.15, 0.0]]]),
                              "light"),)),
    ]  # fmt: skip
