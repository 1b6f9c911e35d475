"""Score a trained run with the protocol of its config (``semspace eval``).

The run's task is rebuilt from its checkpoint (``tasks.load_task``) and handed to the protocol named in the
run's ``eval:`` section; protocols use only the task's public contract (``domains()``, ``embed``, and the
capabilities they need, such as ``compose`` for composed retrieval). Each result is recorded beside the checkpoint
(``evaluation.json``), and a fresh record (same checkpoint sha256, same ``eval:`` section: ``semspace train``'s
final evaluation, say) is reused instead of evaluating again when asked (``reuse``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from semspace.config import RunCfg, apply_overrides, from_dict
from semspace.data.registry import DATASETS
from semspace.errors import CheckpointError, ConfigError
from semspace.eval.embedding import progress_bars
from semspace.eval.protocols.build import protocol_from_cfg
from semspace.eval.protocols.registry import PROTOCOLS
from semspace.eval.record import fresh_evaluation, write_evaluation
from semspace.models.checkpoint import load_checkpoint
from semspace.retrieval.runs import query_device
from semspace.tasks import load_task


def evaluate(
    run_dir: str | Path,
    *,
    overrides: list[str] | None = None,
    checkpoint: str = "model.pt",
    data: Any = None,
    reuse: bool = False,
    note: Callable[[str], None] | None = None,
    progress: bool = False,
    device: str = "auto",
) -> dict[str, float]:
    """Evaluates a trained run with the protocol named in its config (``eval:``), after dotted overrides.

    With ``reuse``, the run's recorded evaluation (``run_dir/evaluation.json``, ``eval/record.py``: written by
    ``semspace train`` and by every evaluation) is returned when it is of the same checkpoint bytes (sha256) and the
    same ``eval:`` section; ``note`` is told whether it was reused, or why it is recomputed. ``progress`` shows the
    protocol's embedding progress bars (``eval.embedding.progress_bars``). The model is loaded onto ``device``
    (``auto``: CUDA when ``torch.cuda.is_available()``, else the CPU; ``cpu``, ``cuda``, ``cuda:N``), checked first.

    ``data`` (a ``DataSpec``: ``semspace eval --data``) replaces the protocol's evaluation data: ``eval.data`` for
    most protocols; a protocol that reads several datasets says how one spec maps onto them with a
    ``data_overrides(name, args) -> {eval key: {"name", "args"} | None}`` static method (``zs_sbir``: the sketches
    and the photos of one benchmark).

    Raises:
        CheckpointError: the run has no ``checkpoint`` (a killed run: re-running ``train`` resumes it).
        ConfigError: the run has no ``eval`` section, the overrides are invalid, or ``device`` is CUDA where there
            is none.

    Example:
        >>> evaluate("runs/align", overrides=["eval.data.args.n=2000"])
    """
    dev = query_device(device)  # an absent CUDA is one line before anything is read
    run = Path(run_dir)
    path = run / checkpoint
    if not run.is_dir():
        raise CheckpointError(f"run folder {run} does not exist; train one with semspace train --run-dir {run} ...")
    if not path.is_file() and (run / "last.pt").is_file():
        raise CheckpointError(
            f"{path} does not exist but {run / 'last.pt'} does: the run did not finish; run the same "
            "semspace train command again to resume it"
        )
    if not path.is_file():
        raise CheckpointError(
            f"{run} holds no trained model ({checkpoint} is missing); train one with semspace train --run-dir {run}"
        )
    ckpt = load_checkpoint(path)
    raw = apply_overrides(ckpt.get("run_cfg") or {}, overrides or [])
    if data is not None:
        raw["eval"] = {**(raw.get("eval") or {}), **eval_data_section((raw.get("eval") or {}).get("protocol"), data)}
    run_cfg = from_dict(RunCfg, raw)
    check_eval_section(run_cfg.eval)  # before the model is loaded or any data is rendered
    protocol = protocol_from_cfg(run_cfg.eval)
    if protocol is None:
        raise ConfigError(f"{path}: the run has no 'eval' section; add one with --set eval.protocol=NAME ...")
    say = note or (lambda _: None)
    why = "asked to recompute"
    if reuse:
        metrics, why = fresh_evaluation(run, run_cfg.eval, checkpoint)
        if metrics is not None:
            say(f"reused the evaluation of {checkpoint} ({why}); --recompute runs it again")
            return metrics
    task, _ = load_task(path, dev)
    with progress_bars(progress):
        metrics = protocol(task)
    say(f"evaluated {checkpoint}: {why}")  # after the evaluation: a failure stays one line
    try:
        write_evaluation(run, run_cfg.eval, metrics, checkpoint)
    except OSError as exc:  # a read-only run folder: the numbers stand, only the record is missing
        say(f"could not record the evaluation in {run}: {exc}")
    return metrics


def eval_data_section(protocol: str | None, data: Any) -> dict[str, Any]:
    """The ``eval:`` keys that point protocol ``protocol`` at the dataset of ``data`` (``DataSpec``)."""
    if not protocol:
        raise ConfigError("--data: the run has no eval.protocol; add one with --set eval.protocol=NAME ...")
    cls = PROTOCOLS.get(protocol)
    hook = getattr(cls, "data_overrides", None)
    if hook is None:
        return {"data": {"name": data.name, "args": dict(data.args)}}
    return dict(hook(data.name, dict(data.args)))


def check_eval_section(section: dict[str, Any]) -> None:
    """Checks what the protocols share in an ``eval:`` section: the dataset of ``data`` (``{"name", "args"}``) and
    the Recall@K cut-offs ``ks``; the protocol's name and arguments are checked when it is built.

    Raises:
        UnknownNameError: ``eval.data.name`` is not a registered dataset.
        ConfigError: its arguments are not accepted, or ``ks`` is not a list of integers >= 1.
    """
    data = section.get("data")
    if isinstance(data, dict) and "name" in data:
        DATASETS.check(data["name"], "eval.data.name")
        args = data.get("args") or {}
        if not isinstance(args, dict):
            raise ConfigError(f"eval.data.args: expected a mapping, got {args!r}")
        DATASETS.check_args(data["name"], args, "eval.data.args")
    ks = section.get("ks")
    if ks is not None and (
        not isinstance(ks, list | tuple) or not ks or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 1
                                                               for k in ks)
    ):  # fmt: skip
        raise ConfigError(f"eval.ks: got {ks!r}; expected a list of integers >= 1 (Recall@K cut-offs, e.g. [1, 5, 10])")
