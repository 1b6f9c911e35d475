"""Build an index from a trained run and a data spec, and search it (``semspace index build`` / ``search``).

``build_index`` embeds every item of a dataset with the run's task (the gallery of a composed-retrieval
dataset: ``dataset.gallery()``), with the run's own preprocessing (``task.preprocess_cfg()``), and appends
them to an ``EmbeddingIndex`` folder: an unchanged item (same content hash in the same domain) is skipped
before it is embedded, and an existing index only accepts the model that built it. ``Searcher`` loads an
index and its model once and answers image, text, item and composed (image + modification text) queries;
the composed query is the transferred transformation of LTT (arXiv:1903.00793): ``T(f(x), g(t))``
searched against the gallery embeddings.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from semspace.config import DataSpec
from semspace.data import create_dataset
from semspace.data.collate import collate_dicts
from semspace.data.images import load_image
from semspace.data.preprocess import PreprocessCfg
from semspace.data.spec import format_data_spec, parse_data_spec
from semspace.data.transforms import attach_transform, denormalize, to_pil
from semspace.errors import CheckpointError, ConfigError, DataError
from semspace.index import EmbeddingIndex, ModelInfo
from semspace.index.embedding_index import thumbnail_png
from semspace.tasks import Task, load_task
from semspace.types import DOMAIN, IMAGE, INDEX, KEY, LABEL, PATH, TEXT, Domain
from semspace.utils.device import resolve_device
from semspace.version import __version__
from semspace.world.base import WorldDataset

logger = logging.getLogger(__name__)

TEXT_DOMAIN = Domain.TEXT.value  # the domain whose inputs are strings
FLUSH_EVERY = 2048  # pending vectors added to a trained index at a time
TRAIN_SAMPLE = 32768  # an index that needs training (IVF, PQ) is trained on at most this many first vectors


# ---- runs and models -----------------------------------------------------------------------------------------
def checkpoint_path(run_dir: str | os.PathLike[str]) -> Path:
    """``run_dir/model.pt`` (or ``run_dir`` itself when it is a checkpoint file).

    Raises:
        CheckpointError: there is no such checkpoint (the message says how to make one).
    """
    p = Path(run_dir)
    ckpt = p if p.is_file() else p / "model.pt"
    if not ckpt.is_file():
        raise CheckpointError(
            f"no model.pt in {p}; pass the folder of a trained run (semspace train --config CONFIG --run-dir {p})"
        )
    return ckpt


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def model_info_for(checkpoint: str | os.PathLike[str], task: Task) -> ModelInfo:
    """The ``ModelInfo`` that identifies ``task`` loaded from ``checkpoint`` (sha256 of its bytes)."""
    cfg = task.preprocess_cfg()
    return ModelInfo(
        checkpoint=str(Path(checkpoint).resolve()),
        checkpoint_sha256=file_sha256(checkpoint),
        task=task.name,
        embed_dim=_embed_dim(task),
        preprocess=cfg.to_dict() if cfg is not None else {},
        semspace_version=__version__,
    )


def _embed_dim(task: Task) -> int:
    dim = getattr(task.cfg, "embed_dim", None) or getattr(getattr(task, "model", None), "embed_dim", None)
    if dim is not None:
        return int(dim)
    cfg = require_preprocess(task)
    with torch.no_grad():
        z = task.embed(image_domains(task)[-1], torch.zeros(1, cfg.channels, cfg.size, cfg.size))  # (1, D)
    return int(z.shape[-1])


def require_preprocess(task: Task) -> PreprocessCfg:
    cfg = task.preprocess_cfg()
    if cfg is None:
        raise ConfigError(f"task {task.name!r} has no image preprocessing (preprocess_cfg); it cannot embed images")
    return cfg


def image_domains(task: Task) -> list[str]:
    domains = [d for d in task.embedding_domains() if d != TEXT_DOMAIN]
    if not domains:
        raise ConfigError(f"task {task.name!r} embeds no image domain; it has {task.embedding_domains()}")
    return domains


# ---- building ------------------------------------------------------------------------------------------------
def build_index(
    run_dir: str | os.PathLike[str],
    data_spec: str | DataSpec,
    out: str | os.PathLike[str],
    *,
    factory: str = "Flat",
    domain: str | None = None,
    batch_size: int = 128,
    progress: bool = False,
    device: str = "cpu",
    num_workers: int = 0,
) -> dict[str, Any]:
    """Embeds a dataset with a trained run and adds it to the index folder ``out`` (created if needed).

    Args:
        run_dir: a trained run folder holding ``model.pt`` (or the checkpoint file itself).
        data_spec: ``"folder:photos/"``, ``"world_scenes:split=test,n=200"`` (see ``data.spec``) or a DataSpec.
        out: the index folder; an existing index is extended (the same model is required).
        factory: faiss factory string for a new index (``"Flat"``, ``"IVF256,Flat"``, ``"HNSW32"``); IVF and PQ
            indexes are trained on the first ``TRAIN_SAMPLE`` new vectors.
        domain: embed every item as this domain (default: the item's ``domain`` when the task embeds it,
            else the task's last embedding domain).
        batch_size: images embedded at a time.
        progress: show a progress bar.
        device: where to embed (``"cpu"``, ``"cuda"``, ``"auto"``).
        num_workers: DataLoader worker processes.

    Returns:
        Stats: ``index, data, factory, seen, added, skipped, total, domains`` (items added per domain), ``seconds``.

    Raises:
        CheckpointError: no trained model in ``run_dir``.
        ConfigError: bad spec, unknown dataset or domain, or too few vectors to train the factory.
        IndexMismatchError: ``out`` holds an index built with another model.
    """
    t0 = time.time()
    spec = parse_data_spec(data_spec) if isinstance(data_spec, str) else data_spec
    ckpt = checkpoint_path(run_dir)
    task, _ = load_task(ckpt)
    dev = resolve_device(device)
    task.to(dev).eval()
    cfg = require_preprocess(task)
    info = model_info_for(ckpt, task)
    domains = task.embedding_domains()
    if domain is not None and domain not in image_domains(task):
        raise ConfigError(f"--domain {domain!r}: task {task.name!r} embeds images of {image_domains(task)}")
    source = _gallery(spec)
    attach_transform(source, cfg)
    index = _open_or_create(out, info, factory)
    split = str(getattr(source, "split", spec.args.get("split", "")))
    uri_prefix = f"{'world' if isinstance(source, WorldDataset) else 'data'}:{spec.name}/{split}"
    default_domain = image_domains(task)[-1]
    loader = DataLoader(source, batch_size=batch_size, collate_fn=collate_dicts, num_workers=num_workers)
    vecs: list[np.ndarray] = []
    items: list[dict[str, Any]] = []
    pending: set[tuple[str, str]] = set()
    seen = skipped = added = 0
    per_domain: dict[str, int] = {}
    for batch in tqdm(loader, desc=f"indexing {spec.name}", unit="batch", disable=not progress):
        if IMAGE not in batch:
            raise DataError(f"dataset {spec.name!r} items have no {IMAGE!r}; index build embeds images")
        images = batch[IMAGE]  # (B, C, H, W)
        seen += len(images)
        new: dict[str, list[tuple[int, str]]] = {}
        for i, h in enumerate(_content_hashes(batch, cfg)):
            dom = domain or _item_domain(batch, i, domains, default_domain)
            if (dom, h) in pending or index.has(dom, h):
                skipped += 1
                continue
            pending.add((dom, h))
            new.setdefault(dom, []).append((i, h))
        for dom, rows in new.items():
            idx = [i for i, _ in rows]
            with torch.no_grad():
                z = task.embed(dom, images[idx].to(dev)).float().cpu().numpy()  # (n, D)
            vecs.append(z)
            items.extend(_item_record(batch, i, h, dom, cfg, uri_prefix) for i, h in rows)
            per_domain[dom] = per_domain.get(dom, 0) + len(rows)
        if len(items) >= (FLUSH_EVERY if index.vectors.is_trained else TRAIN_SAMPLE):
            added += _flush(index, vecs, items)
    added += _flush(index, vecs, items)
    index.add_source(format_data_spec(spec))
    index.save()
    stats = {
        "index": str(out), "data": format_data_spec(spec), "factory": index.manifest.get("factory", factory),
        "seen": seen, "added": added, "skipped": skipped, "total": len(index), "domains": per_domain,
        "seconds": round(time.time() - t0, 2),
    }  # fmt: skip
    logger.info("index build: %s", stats)
    return stats


def _gallery(spec: DataSpec) -> Any:
    try:
        dataset = create_dataset(spec.name, **spec.args)
    except KeyError as exc:  # the registry lists the available names
        raise ConfigError(f"--data {format_data_spec(spec)!r}: {exc.args[0]}") from None
    gallery = getattr(dataset, "gallery", None)
    return gallery() if callable(gallery) else dataset


def _open_or_create(out: str | os.PathLike[str], info: ModelInfo, factory: str) -> EmbeddingIndex:
    root = Path(out)
    if not (root / "manifest.json").exists():
        return EmbeddingIndex.create(root, model_info=info, factory=factory, dim=info.embed_dim, save=False)
    index = EmbeddingIndex.open(root)
    index.check_model(info)
    if index.manifest.get("factory") != factory:
        logger.warning(
            "%s exists with factory %r; --factory %r is ignored", root, index.manifest.get("factory"), factory
        )
    return index


def _flush(index: EmbeddingIndex, vecs: list[np.ndarray], items: list[dict[str, Any]]) -> int:
    if not items:
        return 0
    ids = index.add(np.concatenate(vecs), items)
    vecs.clear()
    items.clear()
    return sum(1 for i in ids if i >= 0)


def _content_hashes(batch: dict[str, Any], cfg: PreprocessCfg) -> Iterator[str]:
    """sha256 of the file bytes (items from disk) or of the uint8 model-input image (rendered items)."""
    paths = batch.get(PATH)
    images = batch[IMAGE]  # (B, C, H, W)
    for i in range(len(images)):
        if paths is not None and paths[i]:
            yield file_sha256(paths[i])
        else:
            u8 = (denormalize(images[i].float().cpu(), cfg) * 255.0).round().to(torch.uint8)  # (C, H, W)
            h = hashlib.sha256(str(tuple(u8.shape)).encode())
            h.update(u8.numpy().tobytes())
            yield h.hexdigest()


def _item_domain(batch: dict[str, Any], i: int, domains: list[str], default: str) -> str:
    values = batch.get(DOMAIN)
    dom = values[i] if isinstance(values, list) and i < len(values) else None
    return dom if isinstance(dom, str) and dom in domains and dom != TEXT_DOMAIN else default


def _item_record(batch: dict[str, Any], i: int, h: str, dom: str, cfg: PreprocessCfg, prefix: str) -> dict[str, Any]:
    path = batch[PATH][i] if PATH in batch and batch[PATH][i] else None
    label = batch[KEY][i] if KEY in batch else (str(int(batch[LABEL][i])) if LABEL in batch else "")
    if path is not None:
        img = load_image(path, background=cfg.background)
        uri = str(Path(path).resolve())
    else:
        img = to_pil(batch[IMAGE][i].float().cpu(), cfg)
        uri = f"{prefix}/{int(batch[INDEX][i])}"
    caption = batch[TEXT][i] if TEXT in batch and isinstance(batch[TEXT][i], str) else ""
    thumb = thumbnail_png(img)  # small PNG bytes: pending items stay cheap until they are added
    return {"domain": dom, "uri": uri, "label": str(label), "caption": caption, "content_hash": h, "thumbnail": thumb}


# ---- searching -----------------------------------------------------------------------------------------------
