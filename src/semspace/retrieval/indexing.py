"""Build an index from a trained run and a data spec (``semspace index build``).

``build_index`` embeds every item of a dataset (the gallery of a composed-retrieval dataset: ``dataset.gallery()``)
as **one domain** of the run's task, prepared by that domain's own record (``Task.domains()``: a picture through
its ``PreprocessCfg``, a text as it is, a feature vector as it is; ``retrieval.inputs``), and adds them to that
domain's collection in an ``EmbeddingIndex`` folder. Building again with another domain (or another source) adds a
collection to the same index: photos for sketch queries beside photos for text queries, renders beside their
descriptions. An unchanged item (same content hash in the same domain) is skipped before it is embedded; an
existing index only accepts the model that built it, with the same domain records.

The domain is ``domain=`` when given; otherwise the items' own ``DOMAIN`` when the task embeds it, else the task's
last domain whose kind the items carry (``IMAGE`` -> an image domain, ``SKETCH`` -> a sketch domain, ``TEXT`` -> a
text domain, ``FEATURES`` -> a features domain).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from semspace.config import DataSpec
from semspace.data import create_dataset
from semspace.data.collate import collate_dicts
from semspace.data.domains import DomainSpec
from semspace.data.spec import format_data_spec, parse_data_spec
from semspace.data.transforms import attach_transform
from semspace.errors import ConfigError, DataError
from semspace.index import EmbeddingIndex, ModelInfo
from semspace.retrieval.inputs import batch_inputs, content_hashes, item_record
from semspace.retrieval.runs import load_run, model_info_for
from semspace.tasks import Task
from semspace.types import DOMAIN
from semspace.utils.device import resolve_device
from semspace.world.base import WorldDataset

logger = logging.getLogger(__name__)

FLUSH_EVERY = 2048  # pending vectors added to a trained index at a time
TRAIN_SAMPLE = 32768  # an index that needs training (IVF, PQ) is trained on at most this many first vectors


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
        domain: embed every item as this domain of the task (default: see the module docstring).
        batch_size: items embedded at a time.
        progress: show a progress bar.
        device: where to embed (``"cpu"``, ``"cuda"``, ``"auto"``).
        num_workers: DataLoader worker processes.

    Returns:
        Stats: ``index, data, factory, seen, added, skipped, total, domains`` (items added per domain), ``seconds``.

    Raises:
        CheckpointError: no trained model in ``run_dir``.
        ConfigError: bad spec, unknown dataset or domain, or too few vectors to train the factory.
        DataError: the items hold no input of the domain's kind.
        IndexMismatchError: ``out`` holds an index built with another model or other domain records.
    """
    t0 = time.time()
    spec = parse_data_spec(data_spec) if isinstance(data_spec, str) else data_spec
    task, ckpt = load_run(run_dir)
    dev = resolve_device(device)
    task.to(dev).eval()
    info = model_info_for(ckpt, task)
    source = _gallery(spec)
    if len(source) == 0:
        raise DataError(f"--data {format_data_spec(spec)!r} holds no items")
    target = _choose_domain(task, source, domain, format_data_spec(spec))
    attach_transform(source, target.preprocess if target.kind.is_visual else None)
    index = _open_or_create(out, info, factory, task)
    index.add_domain(target)
    specs = task.domains()
    split = str(getattr(source, "split", spec.args.get("split", "")))
    uri_prefix = f"{'world' if isinstance(source, WorldDataset) else 'data'}:{spec.name}/{split}"
    loader = DataLoader(source, batch_size=batch_size, collate_fn=collate_dicts, num_workers=num_workers)
    vecs: list[np.ndarray] = []
    items: list[dict[str, Any]] = []
    pending: set[str] = set()
    seen = skipped = added = 0
    for batch in tqdm(loader, desc=f"indexing {spec.name} as {target.name}", unit="batch", disable=not progress):
        _check_item_domains(batch, specs, target, domain)
        key, inputs = batch_inputs(batch, target, spec.name)
        seen += len(inputs)
        rows = []
        for i, h in enumerate(content_hashes(batch, key, target)):
            if h in pending or index.has(target.name, h):
                skipped += 1
                continue
            pending.add(h)
            rows.append((i, h))
        if rows:
            idx = [i for i, _ in rows]
            chosen = [inputs[i] for i in idx] if isinstance(inputs, list) else inputs[idx].to(dev)
            with torch.no_grad():
                vecs.append(task.embed(target.name, chosen).float().cpu().numpy())  # (n, D)
            items.extend(item_record(batch, i, key, h, target, uri_prefix) for i, h in rows)
        if len(items) >= (FLUSH_EVERY if index.vectors.is_trained else TRAIN_SAMPLE):
            added += _flush(index, vecs, items)
    added += _flush(index, vecs, items)
    index.add_source(format_data_spec(spec))
    index.save()
    stats = {
        "index": str(out), "data": format_data_spec(spec), "factory": index.manifest.get("factory", factory),
        "seen": seen, "added": added, "skipped": skipped, "total": len(index), "domains": {target.name: added},
        "domain": target.name, "kind": target.kind.value, "seconds": round(time.time() - t0, 2),
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


def _choose_domain(task: Task, source: Any, domain: str | None, name: str) -> DomainSpec:
    """The domain the items are embedded as (module docstring)."""
    specs = task.domains()
    if domain is not None:
        if domain not in specs:
            raise ConfigError(f"--domain {domain!r}: task {task.name!r} embeds {list(specs)}")
        return specs[domain]
    first = source[0]
    own = first.get(DOMAIN)
    if isinstance(own, str) and own in specs and any(k in first for k in specs[own].kind.batch_keys):
        return specs[own]
    fitting = [s for s in specs.values() if any(k in first for k in s.kind.batch_keys)]
    if not fitting:
        raise DataError(
            f"--data {name!r}: its items ({sorted(first)}) hold no input of any domain of task {task.name!r} "
            f"({ {s.name: s.kind.value for s in specs.values()} })"
        )
    exact = [s for s in fitting if s.kind.batch_keys[0] in first]  # a sketch domain for SKETCH items, ...
    return (exact or fitting)[-1]


def _check_item_domains(
    batch: dict[str, Any], specs: dict[str, DomainSpec], target: DomainSpec, forced: str | None
) -> None:
    """Items that name another domain of the task, with another kind or input record, cannot share this build."""
    if forced is not None or not isinstance(batch.get(DOMAIN), list):
        return
    for own in set(batch[DOMAIN]) - {target.name}:
        if own in specs and set(specs[own].differences(target)) - {"name"}:
            raise DataError(
                f"the data mixes domains {target.name!r} and {own!r}, which the task prepares differently; "
                "build each with its own --domain"
            )


def _open_or_create(out: str | os.PathLike[str], info: ModelInfo, factory: str, task: Task) -> EmbeddingIndex:
    root = Path(out)
    if not (root / "manifest.json").exists():
        return EmbeddingIndex.create(root, model_info=info, factory=factory, dim=info.embed_dim, save=False)
    index = EmbeddingIndex.open(root)
    index.check_model(info, task.domains())
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
