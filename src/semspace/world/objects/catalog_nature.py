"""Categories from nature and the kitchen: animals, plants and food.

Shared parts: eyes, head, tail, legs, wings, fins, antennae (animals); stem, leaves, trunk (plants); stick and
spiral (lollipop, snail).
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
    eyes,
    highlight,
    leaf_pts,
    legs,
    line,
    poly,
    rect,
    rotate_pts,
    rrect,
    spiral_pts,
    union_outline,
)


@register_category("fish", "animal")
def fish(j: Jitter) -> list[Part]:
    rx, ry = j(0.62), j(0.38)
    return [
        Part("tail", (poly([[0.42, 0.0], [0.95, -0.45], [0.82, 0.0], [0.95, 0.45]], "second"),)),
        Part("fins", (poly([[-0.3, -ry + 0.05], [0.02, -ry - 0.3], [0.25, -ry + 0.08]], "second"),
                      poly([[-0.05, ry - 0.05], [0.15, ry + 0.2], [0.25, ry - 0.1]], "second")), count=2),
        Part("body", (ellipse(-0.1, 0, rx, ry), line(arc_pts(-0.38, 0, 0.12, 0.25, -60, 60), 0.03)), kind="oval"),
        eyes([(-0.1 - 0.68 * rx, -0.08)], 0.06),
    ]  # fmt: skip


@register_category("bird", "animal")
def bird(j: Jitter) -> list[Part]:
    hr, wing = j(0.28), j(-20.0, 0.4)
    return [
        Part("tail", (poly([[0.45, -0.05], [1.0, j(-0.35)], [0.95, 0.08]], "second"),)),
        legs([(-0.05, 0.4, -0.1, 0.78), (0.15, 0.4, 0.12, 0.78)], 0.04, "flame"),
        Part("body", (ellipse(0.05, 0.08, 0.58, 0.38),), kind="oval"),
        Part("head", (circle(-0.5, -0.35, hr),)),
        Part(
            "beak", (poly([[-0.5 - hr + 0.04, -0.42], [-0.5 - hr - 0.24, -0.3], [-0.5 - hr + 0.04, -0.24]], "flame"),)
        ),
        Part("wings", (poly(rotate_pts(leaf_pts(-0.25, 0.0, 0.55, 0.05, 0.2), wing, -0.25, 0.0), "second"),)),
        eyes([(-0.56, -0.42)], 0.05),
    ]


@register_category("cat", "animal")
def cat(j: Jitter) -> list[Part]:
    hr, ear = j(0.4), j(-1.0, 0.05)
    whiskers = tuple(bar(sx * 0.12, -0.33, sx * 0.62, -0.33 + dy, 0.02) for sx in (-1, 1) for dy in (-0.1, 0.0, 0.1))
    return [
        Part("tail", (line(bezier_pts((0.3, 0.78), (1.0, 0.85), (0.95, 0.1), n=16), 0.11, "main", double=True),)),
        Part("body", (ellipse(0, 0.38, 0.48, 0.52),), kind="oval"),
        Part("ears", tuple(poly([[-0.38 * s, -0.55], [-0.3 * s, ear], [-0.05 * s, -0.75]]) for s in (1, -1)), count=2),
        Part("head", (circle(0, -0.45, hr),)),
        eyes([(-0.15, -0.52), (0.15, -0.52)], 0.06),
        Part("whiskers", whiskers),
    ]  # fmt: skip


@register_category("turtle", "animal")
def turtle(j: Jitter) -> list[Part]:
    rx, ry = j(0.7), j(0.6)
    pattern = (
        line(arc_pts(0, 0.05, 0.36 * rx / 0.7, 0.3, 180, 360), 0.03),
        bar(-0.3, -0.15, -0.5, 0.05, 0.03),
        bar(0.3, -0.15, 0.5, 0.05, 0.03),
        bar(0, -0.25, 0, -0.55, 0.03),
    )
    return [
        Part("legs", (rrect(-0.62, -0.05, -0.32, 0.32, 0.1, "second"), rrect(0.32, -0.05, 0.62, 0.32, 0.1, "second")),
             count=2),
        Part("tail", (poly([[0.6, -0.02], [0.95, 0.06], [0.6, 0.1]], "second"),)),
        Part("head", (poly([[-rx + 0.1, -0.05], [-rx - 0.1, -0.12], [-rx - 0.1, 0.06], [-rx + 0.1, 0.08]], "second"),
                      ellipse(-rx - 0.14, -0.1, 0.22, 0.17, "second"))),
        Part("body", (dome(0, 0.05, rx, ry), *pattern), kind="dome", label="shell"),
        Part("rim", (rect(-rx - 0.02, 0.02, rx + 0.02, 0.12, "second"),)),
        eyes([(-rx - 0.24, -0.14)], 0.04),
    ]  # fmt: skip


@register_category("snail", "animal")
def snail(j: Jitter) -> list[Part]:
    r, feel = j(0.55), j(-0.55)
    return [
        Part("foot", (rrect(-0.95, 0.3, 0.85, 0.55, 0.12, "second"),)),
        Part("head", (ellipse(-0.8, 0.1, 0.16, 0.3, "second"),)),
        Part("antennae", (bar(-0.86, -0.15, -1.0, feel, 0.03), bar(-0.74, -0.15, -0.68, feel, 0.03),
                          dot(-1.0, feel, 0.05), dot(-0.68, feel, 0.05)), count=2),
        Part("body", (circle(0.1, -0.1, r),), kind="round", label="shell"),
        Part("spiral", (line(spiral_pts(0.1, -0.1, 0.05, r - 0.12, 2.2), 0.045),)),
    ]  # fmt: skip


@register_category("butterfly", "animal")
def butterfly(j: Jitter) -> list[Part]:
    up, low = j(0.5), j(0.32)
    wings = tuple(
        poly(rotate_pts(arc_pts(sx * 0.42, cy, rx, ry), sx * tilt, sx * 0.42, cy))
        for sx in (-1, 1)
        for cy, rx, ry, tilt in ((-0.32, 0.48, up * 0.75, -25), (0.42, 0.34, low * 0.85, 20))
    )
    return [
        Part("wings", wings, count=4),
        Part("spots", (circle(-0.5, -0.35, 0.1, "second"), circle(0.5, -0.35, 0.1, "second"),
                       circle(-0.33, 0.4, 0.07, "second"), circle(0.33, 0.4, 0.07, "second"))),
        Part("body", (ellipse(0, 0.05, 0.08, 0.55, "dark"),), kind="oval"),
        Part("antennae", (line(bezier_pts((0, -0.45), (-0.05, -0.8), (-0.3, -0.95)), 0.03),
                          line(bezier_pts((0, -0.45), (0.05, -0.8), (0.3, -0.95)), 0.03)), count=2),
    ]  # fmt: skip


@register_category("tree", "plant")
def tree(j: Jitter) -> list[Part]:
    w = j(0.75)
    blobs = [
        (0, -0.55, 0.42),
        (-w + 0.35, -0.3, 0.35),
        (w - 0.35, -0.3, 0.35),
        (-0.25, -0.05, 0.35),
        (0.25, -0.05, 0.35),
    ]
    return [
        Part("trunk", (poly([[-0.13, 0.95], [-0.09, 0.0], [0.09, 0.0], [0.13, 0.95]], "wood"),)),
        Part("crown", (poly(union_outline(blobs)),)),
    ]


@register_category("pine_tree", "plant")
def pine_tree(j: Jitter) -> list[Part]:
    w = j(0.78)
    tiers = tuple(poly([[-w + 0.15 * k, 0.65 - 0.45 * k], [0, -0.1 - 0.42 * k], [w - 0.15 * k, 0.65 - 0.45 * k]])
                  for k in range(3))  # fmt: skip
    return [Part("trunk", (rect(-0.1, 0.55, 0.1, 0.95, "wood"),)), Part("tiers", tiers, count=3)]


@register_category("flower", "plant")
def flower(j: Jitter) -> list[Part]:
    cy, pl = -0.45, j(0.28)
    petals = tuple(poly(rotate_pts(leaf_pts(0, cy, 0, cy - 2 * pl, 0.14), 60 * k, 0, cy)) for k in range(6))
    return [
        Part("stem", (line(bezier_pts((0, 0.95), (0.12, 0.4), (0, cy)), 0.06, "leaf"),)),
        Part("leaves", (poly(leaf_pts(0.06, 0.55, 0.5, 0.3, 0.12), "leaf"), poly(leaf_pts(0.04, 0.3, -0.4, 0.1, 0.11),
                                                                              "leaf")), count=2),
        Part("petals", petals, count=6),
        Part("center", (circle(0, cy, j(0.14), "second"),)),
    ]  # fmt: skip


@register_category("mushroom", "plant")
def mushroom(j: Jitter) -> list[Part]:
    rx, sw = j(0.85), j(0.2)
    return [
        Part("stem", (poly([[-sw, -0.05], [sw, -0.05], [sw + 0.08, 0.9], [-sw - 0.08, 0.9]], "white"),)),
        Part("body", (dome(0, 0.0, rx, j(0.75)), ellipse(0, 0.0, rx, 0.09, "second")), kind="dome", label="cap"),
        Part("spots", (circle(-0.4, -0.3, 0.11, "white"), circle(0.08, -0.5, 0.12, "white"),
                       circle(0.45, -0.22, 0.09, "white"))),
    ]  # fmt: skip


def _arm(y: float, h: float) -> np.ndarray:
    """A cactus arm leaving the trunk to +x at height ``y`` and rising by ``h``."""
    bend = arc_pts(0.52, y + 0.1, 0.1, 0.1, 90, 0, n=6)
    top = arc_pts(0.52, y - h, 0.1, 0.1, 0, -180, n=8)
    return np.concatenate([[[0.15, y + 0.2]], bend, top, [[0.42, y], [0.15, y]]])  # (17, 2)


@register_category("cactus", "plant")
def cactus(j: Jitter) -> list[Part]:
    ribs = (line([[-0.08, -0.75], [-0.08, 0.5]], 0.02), line([[0.08, -0.75], [0.08, 0.5]], 0.02))
    return [
        Part("arms", (poly(_arm(j(0.0), j(0.45)) * [-1, 1]), poly(_arm(j(-0.25), j(0.35)))), count=2),
        Part("body", (rrect(-0.22, -0.9, 0.22, 0.6, 0.22), *ribs), kind="rounded"),
        Part("pot", (poly([[-0.45, 0.58], [0.45, 0.58], [0.35, 0.98], [-0.35, 0.98]], "second"),
                     rect(-0.5, 0.52, 0.5, 0.64, "second"))),
    ]  # fmt: skip


def _stem_and_leaf(top: float, j: Jitter) -> list[Part]:
    return [
        Part("stem", (line(bezier_pts((0, top + 0.1), (0.02, top - 0.15), (0.1, top - 0.3)), 0.06, "wood"),)),
        Part("leaves", (poly(leaf_pts(0.04, top - 0.12, j(0.45), top - 0.3, 0.1), "leaf"),)),
    ]


@register_category("apple", "food")
def apple(j: Jitter) -> list[Part]:
    a = np.deg2rad(np.arange(0, 360, 6))
    r = 1.0 - 0.22 * np.exp(-((((a - 1.5 * np.pi + np.pi) % (2 * np.pi) - np.pi) / 0.35) ** 2))  # dent at the top
    rx, ry = j(0.75), j(0.68)
    body = np.stack([rx * r * np.cos(a), 0.1 + ry * r * np.sin(a)], axis=1)
    return [*_stem_and_leaf(0.1 - 0.78 * ry, j), Part("body", (poly(body),), kind="round")]


@register_category("pear", "food")
def pear(j: Jitter) -> list[Part]:
    w, top = j(0.6), j(0.28)
    body = union_outline([(0, 0.45, w), (0, -0.15, 0.42 * w / 0.6), (0, -0.5, top)])
    return [*_stem_and_leaf(-0.5 - top, j), Part("body", (poly(body),), kind="oval")]


@register_category("ice_cream", "food")
def ice_cream(j: Jitter) -> list[Part]:
    w, r = j(0.42), j(0.42)
    waffle = tuple(bar(x0, -0.05, x1, 0.7, 0.025) for x0, x1 in ((-0.2, 0.15), (0.2, -0.15), (-0.38, 0.0), (0.38, 0.0)))
    return [
        Part("cone", (poly([[-w, -0.05], [w, -0.05], [0, 0.98]], "wood"), *waffle)),
        Part("scoop", (circle(0, -0.25, r), circle(0, -0.25 - r - 0.2, j(0.34), "second")), count=2),
    ]


@register_category("lollipop", "food")
def lollipop(j: Jitter) -> list[Part]:
    r = j(0.52)
    return [
        Part("stick", (bar(0, 0.0, 0, 0.98, 0.07, "white"),)),
        Part("body", (circle(0, -0.4, r),), kind="round", label="candy"),
        Part("spiral", (line(spiral_pts(0, -0.4, 0.03, r - 0.08, 2.5, j.add(0.0, 3.0)), 0.07, "second"),)),
    ]


@register_category("balloon", "other")
def balloon(j: Jitter) -> list[Part]:
    ry = j(0.6)
    t = np.linspace(0, 1, 20)
    string = np.stack([0.07 * np.sin(t * 3 * np.pi + j.add(0.0, 1.0)), 0.4 + 0.58 * t], axis=1)
    return [
        Part("string", (line(string, 0.025),)),
        Part("knot", (poly([[-0.08, 0.42], [0.08, 0.42], [0, 0.3]]),)),
        Part("body", (ellipse(0, -0.3 + (0.6 - ry), j(0.5), ry), highlight(-0.2, -0.6, 0.07, 0.14)), kind="oval"),
    ]
