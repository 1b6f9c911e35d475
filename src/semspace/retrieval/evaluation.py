"""Score a trained run with the protocol of its config (``semspace eval``).

The run's task is rebuilt from its checkpoint (``tasks.load_task``) and handed to the protocol named in the
run's ``eval:`` section; protocols use only the task's public contract (``domains()``, ``embed``, and the
capabilities they need, such as ``compose`` for composed retrieval).
"""

from __future__ import annotations

from pathlib import Path

from semspace.config import RunCfg, apply_overrides, from_dict
from semspace.errors import CheckpointError, ConfigError
from semspace.eval.protocols.build import protocol_from_cfg
from semspace.tasks import load_task


def evaluate(
    run_dir: str | Path, *, overrides: list[str] | None = None, checkpoint: str = "model.pt"
) -> dict[str, float]:
    """Evaluates a trained run with the protocol named in its config (``eval:``), after dotted overrides.

    Raises:
        CheckpointError: the run has no ``checkpoint`` (a killed run: re-running ``train`` resumes it).
        ConfigError: the run has no ``eval`` section, or the overrides are invalid.

    Example:
        >>> evaluate("runs/align", overrides=["eval.data.args.n=2000"])
    """
    path = Path(run_dir) / checkpoint
    if not path.is_file() and (Path(run_dir) / "last.pt").is_file():
        raise CheckpointError(
            f"{path} does not exist but {Path(run_dir) / 'last.pt'} does: the run did not finish; run the same "
            "semspace train command again to resume it"
        )
    task, ckpt = load_task(path)
    run_cfg = from_dict(RunCfg, apply_overrides(ckpt.get("run_cfg") or {}, overrides or []))
    protocol = protocol_from_cfg(run_cfg.eval)
    if protocol is None:
        raise ConfigError(f"{path}: the run has no 'eval' section; add one with --set eval.protocol=NAME ...")
    return protocol(task)
