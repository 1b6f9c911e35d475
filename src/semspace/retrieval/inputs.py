"""Raw inputs of each input kind -> model inputs, content hashes, records and thumbnails (by kind, never by name).

For a domain's ``DomainSpec`` (``data.domains``):

* ``image`` / ``sketch``: a picture (path, stream or ``PIL.Image``) goes through ``build_transform(preprocess)``
  into ``(1, C, H, W)``; dataset items hold it under ``IMAGE`` (or ``SKETCH``); its content hash is the sha256
  of the file's bytes, or of the uint8 model-input image for rendered items; it gets a thumbnail;
* ``text``: a string, kept as it is (the task's text encoder tokenises); items hold it under ``TEXT``; hash of
  the UTF-8 text; no thumbnail (the text is the item's caption);
* ``features``: a float vector ``(F,)`` (list, numpy or torch) -> ``(1, F)``; items hold it under ``FEATURES``;
  hash of its float32 bytes; no thumbnail.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import torch
from PIL import Image

from semspace.data.domains import DomainSpec, InputKind
from semspace.data.images import load_image
from semspace.data.transforms import build_transform, denormalize, to_pil
from semspace.errors import DataError
from semspace.index.thumbnails import thumbnail_png
from semspace.types import INDEX, KEY, LABEL, PATH, TEXT
from semspace.utils.hashing import file_sha256

RawQuery = str | os.PathLike[str] | BinaryIO | Image.Image | np.ndarray | torch.Tensor | list[float]


def query_input(spec: DomainSpec, raw: RawQuery) -> Any:
    """One raw query of ``spec``'s kind -> a batch of one model input.

    Raises:
        DataError: the input does not fit the kind (not a readable image, not a string, wrong vector width).
    """
    if spec.kind.is_visual:
        assert spec.preprocess is not None
        pre = spec.preprocess
        if isinstance(raw, Image.Image):
            image = raw
        elif isinstance(raw, str | os.PathLike) or hasattr(raw, "read"):
            image = load_image(cast(Any, raw), background=pre.background, channels=pre.channels)
        else:
            raise DataError(f"domain {spec.name!r} takes a picture (a path, a file or a PIL image), got {type(raw)}")
        return build_transform(pre)(image)[None]  # (1, C, H, W)
    if spec.kind is InputKind.TEXT:
        if not isinstance(raw, str):
            raise DataError(f"domain {spec.name!r} takes text; got {type(raw).__name__}")
        return [raw]
    x = torch.as_tensor(np.asarray(raw, dtype=np.float32)).reshape(1, -1)  # (1, F)
    if x.shape[1] != spec.feature_dim or not bool(torch.isfinite(x).all()):
        raise DataError(
            f"domain {spec.name!r} takes finite feature vectors of width {spec.feature_dim}, got {x.shape[1]}"
        )
    return x


def content_hashes(batch: dict[str, Any], key: str, spec: DomainSpec) -> Iterator[str]:
    """One content hash per item: file bytes (items from disk), else the input itself (see module docstring)."""
    paths = batch.get(PATH)
    values = batch[key]
    for i in range(len(values)):
        yield file_sha256(paths[i]) if paths is not None and paths[i] else input_hash(spec, values[i])


def input_hash(spec: DomainSpec, value: Any) -> str:
    """The content hash of one model input of ``spec``'s kind: a picture ``(C, H, W)`` as the uint8 image it was
    made from, a text as UTF-8, a feature vector ``(F,)`` as float32 bytes (module docstring)."""
    if spec.kind.is_visual:
        assert spec.preprocess is not None
        u8 = (denormalize(value.float().cpu(), spec.preprocess) * 255.0).round().to(torch.uint8)  # (C, H, W)
        h = hashlib.sha256(str(tuple(u8.shape)).encode())
        h.update(u8.numpy().tobytes())
        return h.hexdigest()
    if spec.kind is InputKind.TEXT:
        return hashlib.sha256(b"text\0" + str(value).encode("utf-8")).hexdigest()
    v = torch.as_tensor(value).detach().float().cpu().numpy().reshape(-1)  # (F,)
    return hashlib.sha256(b"features\0" + v.astype(np.float32).tobytes()).hexdigest()


def query_hashes(spec: DomainSpec, raw: RawQuery, x: Any) -> set[str]:
    """Every content hash an indexed copy of this query could have: its file's bytes (a path) and its model input
    ``x`` (a batch of one from ``query_input``), so a query finds its own item whether that was indexed from a
    file or rendered."""
    out = {input_hash(spec, x[0])}
    if isinstance(raw, str | os.PathLike) and spec.kind is not InputKind.TEXT and Path(raw).is_file():
        out.add(file_sha256(raw))
    elif isinstance(raw, io.BytesIO) and spec.kind is not InputKind.TEXT:  # an upload's bytes: as its file would
        out.add(hashlib.sha256(raw.getvalue()).hexdigest())
    return out


def item_record(batch: dict[str, Any], i: int, key: str, h: str, spec: DomainSpec, prefix: str,
                thumbnail: bool = True) -> dict[str, Any]:  # fmt: skip
    """The index item of row ``i`` of a batch embedded as ``spec`` (with a PNG thumbnail for pictures, unless
    ``thumbnail`` is False: the index has one for this content already, and reading the file again is most of an
    item's cost here)."""
    path = batch[PATH][i] if PATH in batch and batch[PATH][i] else None
    label = batch[KEY][i] if KEY in batch else (str(int(batch[LABEL][i])) if LABEL in batch else "")
    uri = str(Path(path).resolve()) if path is not None else f"{prefix}/{int(batch[INDEX][i])}"
    caption = batch[TEXT][i] if TEXT in batch and isinstance(batch[TEXT][i], str) else ""
    thumb = None
    if spec.kind.is_visual and thumbnail:
        assert spec.preprocess is not None
        pre = spec.preprocess
        img = (
            load_image(path, background=pre.background)
            if path is not None
            else to_pil(batch[key][i].float().cpu(), pre)
        )
        thumb = thumbnail_png(img)  # small PNG bytes: pending items stay cheap until they are added
    return {"domain": spec.name, "uri": uri, "label": str(label), "caption": caption, "content_hash": h,
            "thumbnail": thumb}  # fmt: skip


def domain_mismatches(task: Any, x: Any, expected: str) -> list[str | None]:
    """For each picture of ``x (B, C, H, W)`` (model input): the domain it looks like when that is not
    ``expected``, else None. Uses the task's ``guess_domain`` (a translation task's training colour statistics);
    a task without it, or without statistics, never objects."""
    guess = getattr(task, "guess_domain", None)
    if guess is None:
        return [None] * len(x)
    return [got if got is not None and got != expected else None for got in guess(x)]
