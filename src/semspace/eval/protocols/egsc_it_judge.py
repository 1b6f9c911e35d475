"""The semantic-consistency judge of ``egsc_it_translation``, trained once per data set and kept on disk.

EGSC-IT (Ma et al., ICLR 2019, arXiv:1805.11145) scores semantic consistency with a digit classifier trained on real
target-domain images; ours (``egsc_it.small_classifier`` / ``train_classifier``) takes 50-105 s to train on 2 cores,
and every process that evaluated a translator used to train it again. It is a pure function of what ``judge_key``
holds, so it is trained once, saved atomically (``utils.io.atomic_write``: temp + rename) and loaded next time:

* **where**: ``<folder>/<first 24 hex digits of the key's sha256>.pt``; the folder is the protocol's
  ``judge_cache`` argument when it names one (``eval.judge_cache: DIR``; ``false`` keeps the judge in the process
  only), else ``$SEMSPACE_CACHE/egsc_it_judge``, else ``$XDG_CACHE_HOME/semspace/egsc_it_judge``, else
  ``~/.cache/semspace/egsc_it_judge`` (``default_cache_dir``);
* **key** (``judge_key``): the classifier data spec (``{name, args}``, its seed included), the preprocessing the
  images are read with, a fingerprint of the data (the number of items and the bytes and labels of the first
  ``FINGERPRINT_ITEMS``, so a changed generator or folder is retrained, not reused), the training settings (steps,
  seed, batch size, lr, shift), the sha256 of the judge's source code (architecture and training loop), the
  semspace and torch versions and the number of torch threads (a judge trained on another count differs in its last
  bits, and so in a few scores);
* **a file that does not load** (truncated, another format, another key, weights that do not fit) is trained again
  with a warning naming it, and replaced.

The file holds ``{"format", "key", "num_classes", "channels", "state_dict"}`` and is read with
``torch.load(weights_only=True)``: no code is unpickled.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semspace.errors import ConfigError
from semspace.utils.io import atomic_write
from semspace.version import __version__

logger = logging.getLogger(__name__)

FORMAT = 1  # the layout of a judge file
SUBDIR = "egsc_it_judge"
FINGERPRINT_ITEMS = 8  # the first items whose bytes and labels enter the key


def default_cache_dir() -> Path:
    """``$SEMSPACE_CACHE/egsc_it_judge``, else ``$XDG_CACHE_HOME/semspace/egsc_it_judge``, else
    ``~/.cache/semspace/egsc_it_judge`` (an empty variable counts as unset)."""
    if os.environ.get("SEMSPACE_CACHE"):
        return Path(os.environ["SEMSPACE_CACHE"]).expanduser() / SUBDIR
    base = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base.expanduser() / "semspace" / SUBDIR


def resolve_cache_dir(setting: str | os.PathLike[str] | bool | None) -> Path | None:
    """The judge folder for the protocol's ``judge_cache``: None or ``true`` -> ``default_cache_dir()``, ``false``
    -> None (the process keeps it), a path -> that folder.

    Raises:
        ConfigError: ``setting`` is none of these (an empty string, a number).
    """
    if setting is None or setting is True:
        return default_cache_dir()
    if setting is False:
        return None
    if isinstance(setting, str | os.PathLike) and os.fspath(setting).strip():
        return Path(setting).expanduser()
    raise ConfigError(
        f"egsc_it_translation: judge_cache must be a folder, true (the default folder, {default_cache_dir()}) or "
        f"false (no file), got {setting!r}"
    )


def code_digest(parts: Sequence[Callable[..., Any]]) -> str:
    """The sha256 of the source code of ``parts`` (the judge's architecture and training functions); a part whose
    source cannot be read counts by its qualified name, and the semspace version in the key covers it."""
    h = hashlib.sha256()
    for fn in parts:
        try:
            text = inspect.getsource(fn)
        except (OSError, TypeError):
            text = f"{fn.__module__}.{fn.__qualname__}"
        h.update(text.encode("utf-8"))
    return h.hexdigest()


def data_fingerprint(batch: dict[str, Any], n_items: int, image_key: str, label_key: str) -> str:
    """The sha256 of the dataset's length and the bytes of ``batch``'s images ``(B, C, H, W)`` and labels ``(B,)``
    (its first items, as the judge reads them)."""
    h = hashlib.sha256(str(int(n_items)).encode())
    h.update(batch[image_key].detach().float().cpu().contiguous().numpy().tobytes())
    h.update(batch[label_key].detach().long().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def judge_key(*, data: dict[str, Any] | None, preprocess: dict[str, Any], fingerprint: str,
              settings: dict[str, Any], code: str) -> dict[str, Any]:  # fmt: skip
    """What the judge's weights are a function of (module docstring), as canonical JSON-able values."""
    key = {
        "format": FORMAT,
        "data": data,
        "preprocess": preprocess,
        "fingerprint": fingerprint,
        "settings": settings,
        "code": code,
        "semspace": __version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    return dict(json.loads(json.dumps(key, sort_keys=True, default=str)))


def cache_path(folder: Path, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()
    return folder / f"{digest[:24]}.pt"


def load_judge(path: Path, key: dict[str, Any], build: Callable[[int, int], nn.Module]) -> nn.Module | None:
    """The judge saved at ``path`` for ``key``, in eval mode; None when there is no file, and None with a warning
    when the file does not load or holds another key (the caller trains it again and replaces the file)."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"not a judge file of format {FORMAT}")
        if payload.get("key") != key:
            raise ValueError("it holds the judge of another key")
        net = build(int(payload["num_classes"]), int(payload["channels"]))
        net.load_state_dict(payload["state_dict"], strict=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is retrained, never fatal
        logger.warning("egsc_it_translation: the judge cache file %s is unreadable (%s: %s); training the judge "
                       "again and replacing it", path, type(e).__name__, e)  # fmt: skip
        return None
    return net.eval()


def save_judge(path: Path, key: dict[str, Any], net: nn.Module, num_classes: int, channels: int) -> None:
    """Writes the judge atomically; a folder that cannot be written is a warning (the evaluation goes on)."""
    payload = {"format": FORMAT, "key": key, "num_classes": int(num_classes), "channels": int(channels),
               "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()}}  # fmt: skip
    try:
        with atomic_write(path) as tmp:
            torch.save(payload, tmp)
    except OSError as e:
        logger.warning("egsc_it_translation: could not save the judge to %s (%s); it is kept in this process only",
                       path, e)  # fmt: skip
        return
    logger.info("egsc_it_translation: saved the judge to %s", path)
