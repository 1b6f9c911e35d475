"""The last evaluation of a run's ``model.pt``, kept beside it so that ``semspace eval`` need not run it again.

``semspace train`` evaluates its final model with the config's ``eval:`` protocol; it writes the result to
``run_dir/evaluation.json`` with what the numbers are a function of: the sha256 of ``model.pt``'s bytes and the
``eval:`` section. ``semspace eval`` reuses it when both still match (``fresh_evaluation``) and otherwise says why
it recomputes, then writes its own result in the same place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from semspace.utils.hashing import file_sha256
from semspace.utils.io import atomic_write_text

RECORD = "evaluation.json"


def _canonical(section: dict[str, Any] | None) -> Any:
    return json.loads(json.dumps(section or {}, sort_keys=True, default=str))


def write_evaluation(run_dir: str | os.PathLike[str], eval_cfg: dict[str, Any], metrics: dict[str, float],
                     checkpoint: str = "model.pt") -> Path:  # fmt: skip
    """Records ``metrics`` as the evaluation of ``run_dir/checkpoint`` with the ``eval:`` section ``eval_cfg``."""
    run = Path(run_dir)
    record = {
        "checkpoint": checkpoint,
        "checkpoint_sha256": file_sha256(run / checkpoint),
        "eval": _canonical(eval_cfg),
        "metrics": {k: float(v) for k, v in metrics.items()},
    }
    atomic_write_text(run / RECORD, json.dumps(record, indent=2) + "\n")
    return run / RECORD


def fresh_evaluation(
    run_dir: str | os.PathLike[str], eval_cfg: dict[str, Any], checkpoint: str = "model.pt"
) -> tuple[dict[str, float] | None, str]:
    """The recorded metrics of ``run_dir/checkpoint`` under ``eval_cfg`` when still valid, else None; and why.

    Returns:
        ``(metrics, reason)``: the metrics and what matched, or None and what did not (no record, another
        checkpoint, a changed ``model.pt``, another ``eval:`` section).
    """
    path = Path(run_dir) / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        metrics = {str(k): float(v) for k, v in record["metrics"].items()}
    except FileNotFoundError:
        return None, f"no earlier evaluation in {path}"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, f"{path} is unreadable"
    if record.get("checkpoint") != checkpoint:
        return None, f"{path} holds the evaluation of {record.get('checkpoint')}, not {checkpoint}"
    if record.get("checkpoint_sha256") != file_sha256(Path(run_dir) / checkpoint):
        return None, f"{checkpoint} changed since {path} was written"
    if record.get("eval") != _canonical(eval_cfg):
        return None, f"the eval: section (--set, --data) differs from the one of {path}"
    return metrics, f"{path}: same {checkpoint} (sha256) and eval: section"
