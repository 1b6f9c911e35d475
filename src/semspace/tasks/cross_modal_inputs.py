"""The inputs of the image-text pair tasks ``chtn`` and ``dscmr``, shared so both are compared on the same inputs.

Both read labelled image-text pairs through an image trunk and a text encoder named as encoder presets
(``image_trunk``, ``text_encoder`` and their ``*_args``) whose projection their own layers replace
(``input_encoder``), and take the fields of a batch by configurable keys (``image_key``, ``text_key``; a
dotted ``features.img`` reads ``batch["features"]["img"]``, ``pair_input``). ``resolve_pair_inputs`` fills what
the training pairs decide: C (``num_classes``), the bag-of-words vocabulary of ``bow_text`` (the most frequent
``bow_max_words`` training words) and the width of given features (``in_dim`` of ``identity_features`` /
``mlp_features``); pairs that miss a modality are counted and reported, never dropped. DSCMR runs as CHTN's
baseline, so the messages name ``chtn``.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from semspace.errors import ConfigError, DataError
from semspace.models import ENCODERS, create_model, get_model_cfg, list_models
from semspace.tasks.base import batch_value

log = logging.getLogger(__name__)


def encoder_spec(preset: str | dict[str, Any]) -> dict[str, Any]:
    """``{"architecture", "cfg"}`` of a preset name, of a bare architecture name (``bow_text``,
    ``identity_features``: their defaults) or of such a dict."""
    if isinstance(preset, dict):
        return preset
    if preset in list_models():
        return get_model_cfg(preset)
    if ENCODERS.is_registered(preset):
        return {"architecture": preset, "cfg": {}}
    return get_model_cfg(preset)  # the error lists the presets


def input_encoder(preset: str | dict[str, Any], args: dict[str, Any]) -> Any:
    """The encoder of ``preset`` with overrides ``args``, without its projection (``_without_projection``)."""
    return create_model(encoder_spec(preset), **_without_projection(preset, args))


def pair_input(batch: dict[str, Any], key: str) -> Any:
    """``batch[key]`` (dotted keys read ``data.extra`` streams; ``tasks.base.batch_value``); a missing key is a
    ``DataError`` naming what the batch holds."""
    return batch_value(batch, key, task="chtn", hint="image_key/text_key/source_key", error=DataError)


def resolve_pair_inputs(cfg: Any, dataset: Any | None) -> None:
    """Fills ``cfg`` in place from the training pairs (module docstring).

    Args:
        cfg: a ``chtn`` or ``dscmr`` cfg: ``num_classes``, ``image_trunk(_args)``, ``text_encoder(_args)``,
            ``image_key``, ``text_key``, ``bow_max_words``.
        dataset: the training pairs (None: only what the presets alone decide).
    """
    if not cfg.num_classes and dataset is not None:
        cfg.num_classes = _num_classes(dataset)
    if dataset is not None:
        report_missing_modalities(dataset, "chtn")
    for preset, args, key in ((cfg.image_trunk, cfg.image_trunk_args, cfg.image_key),
                              (cfg.text_encoder, cfg.text_encoder_args, cfg.text_key)):  # fmt: skip
        spec = encoder_spec(preset)
        arch = spec["architecture"]
        if arch == "bow_text" and not args.get("vocab") and not spec["cfg"].get("vocab"):
            args["vocab"] = _bow_vocab(dataset, cfg.bow_max_words)
        if arch in ("identity_features", "mlp_features") and "in_dim" not in args and dataset is not None:
            width = getattr(dataset, "feature_dim", None)
            if callable(width) and key.startswith("features."):
                args["in_dim"] = int(width(key.split(".", 1)[1]))


def missing_modality_counts(dataset: Any) -> dict[str, int]:
    """Training pairs that lack a modality, per modality: empty captions (``texts``) and all-zero feature rows
    (``modalities()`` / ``features(m)`` of the feature loaders; a NUS-WIDE image without tags, for example)."""
    out: dict[str, int] = {}
    texts = getattr(dataset, "texts", None)
    if texts is not None:
        out["text"] = sum(1 for t in texts if not str(t).strip())
    feats, mods = getattr(dataset, "features", None), getattr(dataset, "modalities", None)
    if callable(feats) and callable(mods):
        for m in mods():
            out[m] = int((~feats(m).any(axis=1)).sum())  # rows with every feature 0
    return out


def report_missing_modalities(dataset: Any, who: str) -> dict[str, int]:
    """Counts the pairs missing a modality and says so in one line (they are kept: never silently dropped)."""
    counts = missing_modality_counts(dataset)
    if any(counts.values()):
        n = len(dataset)
        parts = ", ".join(f"{v} without {m}" for m, v in counts.items() if v)
        log.warning(
            "%s: %s of the %d training pairs miss a modality (%s: empty caption or all-zero feature row); "
            "they are kept, their missing side embeds as an empty input",
            who,
            parts,
            n,
            "; ".join(counts),
        )
    return counts


def _without_projection(preset: str | dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The overrides ``args`` with ``embed_dim: 0`` for encoders that have a projection (the task's layers replace
    it); ``mlp_features`` keeps its own, the trained layer above given features."""
    spec = encoder_spec(preset)
    out = dict(args)
    if "embed_dim" in spec["cfg"] and spec["architecture"] != "mlp_features":
        out.setdefault("embed_dim", 0)
    return out


def _num_classes(dataset: Any) -> int:
    n = getattr(dataset, "num_classes", None)
    if isinstance(n, int) and n > 0:
        return n
    labels = getattr(dataset, "labels", None)
    if labels is None:
        raise ConfigError("chtn: cannot tell the number of classes of the training data; set task_args.num_classes")
    labels = torch.as_tensor(labels)  # (N,)
    if len(labels) == 0 or int(labels.min()) < 0:
        raise DataError("chtn: the training pairs need class labels 0..C-1 (found unlabelled pairs, label -1)")
    return int(labels.max()) + 1


def _bow_vocab(dataset: Any, max_words: int) -> list[str]:
    from semspace.data.tokenizer import WordTokenizer

    texts = getattr(dataset, "texts", None)
    if texts is None and hasattr(dataset, "vocabulary"):
        return list(dataset.vocabulary())[:max_words]
    if texts is None:
        raise ConfigError("chtn: bow_text needs the training captions (a dataset with texts); or pass its vocab")
    return WordTokenizer.build(list(texts), max_size=max_words).itos[2:]
