"""Per-group rows of ``egsc_it_translation``: the scores by the exemplar's colour pair and by the content digit.

EGSC-IT (Ma et al., ICLR 2019, arXiv:1805.11145) reports one semantic-consistency and one SSIM figure; on the
digits the full model's figure averages colour pairs that score 0.93 and pairs that score 0.53-0.64, so the protocol
also reports each group: ``by_pair/<group>/<score>`` and ``by_digit/<digit>/<score>`` with ``items`` (how many),
``semantic_consistency``, ``classifier_acc_real`` (the judge on the group's ground truths: the group's ceiling) and
``ssim``, for whichever of these the data allow.

The exemplar's style is asked of the dataset, item by item (``exemplar_style``), never read from file names:

* ``digit_pairs`` (``describe(i)``): a ``direction: a2b`` exemplar is a domain-B digit, ``"<fg>_on_<bg>"`` of its
  {red, green, blue} colours (``green_on_red``); a ``b2a`` exemplar is ``white_on_black`` or ``black_on_white``;
* ``world_pairs`` (``annotation(i)``, the exemplar view's style): a domain-B exemplar's ink ``fg`` and background
  ``bg`` colours are drawn in HSV, so each is named by its nearest primary hue (``colour_name``: red within 60
  degrees of hue 0, green of 120, blue of 240), which gives up to 9 groups, ``green_on_green`` (two greens of other
  lightness) included; a domain-A exemplar is its polarity;
* any dataset with an ``exemplar_style(index) -> str`` method (a user's own);
* anything else (``two_domain`` folders, exemplars from ``exemplar_data``): no ``by_pair`` rows.

Subset views (``fold=``, ``n=``: ``data.subset``) and in-memory caches are looked through to the dataset they hold.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import Any

import numpy as np

PRIMARIES = ("red", "green", "blue")  # hue 0, 1/3, 2/3


def colour_name(rgb: Sequence[float]) -> str:
    """The primary hue nearest to an ``(r, g, b)`` colour in 0..255: ``red``, ``green`` or ``blue``."""
    r, g, b = (float(c) / 255.0 for c in rgb)
    hue = colorsys.rgb_to_hsv(r, g, b)[0]  # [0, 1)
    return PRIMARIES[int(round(hue * 3)) % 3]


def _unwrap(dataset: Any, index: int) -> tuple[Any, int]:
    """The dataset a subset view or an in-memory cache holds, and the item's index in it."""
    from semspace.data.cache import CachedDataset
    from semspace.data.subset import SubsetView

    while True:
        if isinstance(dataset, SubsetView):
            dataset, index = dataset.base, int(dataset.indices[index])
        elif isinstance(dataset, CachedDataset):
            dataset = dataset.dataset
        else:
            return dataset, int(index)


def exemplar_style(dataset: Any, index: int) -> str | None:
    """The style group of item ``index``'s exemplar (module docstring), or None when the dataset does not say."""
    from semspace.data.datasets.digit_pairs import DigitPairsDataset
    from semspace.world.pairs.dataset import DIRECTIONS, PairDataset

    base, i = _unwrap(dataset, index)
    own = getattr(base, "exemplar_style", None)
    if callable(own):
        return str(own(i))
    if isinstance(base, DigitPairsDataset):
        d = base.describe(i)
        return f"{d['fg']}_on_{d['bg']}" if base.direction == "a2b" else str(d["polarity"])
    if isinstance(base, PairDataset):
        style = base.annotation(i)["views"][DIRECTIONS[base.direction][1]]["style"]
        if style.get("domain") == "a":
            return str(style["polarity"])
        return f"{colour_name(style['fg'])}_on_{colour_name(style['bg'])}"
    return None


def exemplar_styles(dataset: Any, n: int) -> list[str] | None:
    """``exemplar_style`` of the first ``n`` items, or None when the dataset gives none."""
    first = exemplar_style(dataset, 0) if n else None
    if first is None:
        return None
    return [first, *(str(exemplar_style(dataset, i)) for i in range(1, n))]


def group_rows(prefix: str, groups: Sequence[str], scores: dict[str, np.ndarray]) -> dict[str, float]:
    """``{prefix/<group>/items: n, prefix/<group>/<score>: mean}`` for each group (sorted), each score an ``(N,)``
    array of per-item values (1/0 for a correct/wrong judge reading, SSIM)."""
    labels = np.asarray(list(groups))
    out: dict[str, float] = {}
    for g in sorted(set(labels.tolist())):
        sel = labels == g
        out[f"{prefix}/{g}/items"] = float(sel.sum())
        for name, values in scores.items():
            out[f"{prefix}/{g}/{name}"] = float(np.asarray(values, dtype=np.float64)[sel].mean())
    return out


def parse_group_rows(metrics: dict[str, float], prefix: str) -> dict[str, dict[str, float]]:
    """The inverse of ``group_rows``: ``{group: {score: value}}`` from a protocol's flat metrics."""
    out: dict[str, dict[str, float]] = {}
    for k, v in metrics.items():
        parts = k.split("/")
        if len(parts) == 3 and parts[0] == prefix:
            out.setdefault(parts[1], {})[parts[2]] = float(v)
    return out
