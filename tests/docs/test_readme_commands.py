"""The README and the method pages run as written: every command of their ```bash blocks, in order, in a copy.

The copy is a temporary folder holding the project's ``configs/`` (the real files, not the link), where each config
the pages train is replaced by a tiny version of itself (same file name and model, a few steps, a few items:
``TINY``), so that each command runs unchanged, as a reader types it, with the virtualenv's ``bin`` first on
``PATH`` (what ``source .venv/bin/activate`` does). Commands run one by one through ``bash -c`` in the order of the
pages (README.md first, then the method pages, which rely on ``make demo``'s files); a non-zero exit fails the test,
naming the page, line and command. A command that repeats one already run (same text) is not run again.

What does not run as written is listed with its reason: ``REPLACED`` (the quick form of a long command, which
writes the same files) and ``SKIPPED`` (the test suite itself, benchmarks, a server that runs until stopped).
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from .fences import COMMAND_INFO, Command, commands, fenced_blocks

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("README.md", "docs/chtn.md", "docs/ssgn.md", "docs/egsc_it.md", "docs/transfer.md")
COMMAND_TIMEOUT_S = 600

REPLACED = {  # command as written -> (what runs, why)
    "make demo": (
        "semspace demo --quick --out runs/demo",
        "the full demo takes 4-7 minutes; --quick writes the same files (world, run, index, queries, sketches) "
        "that later commands use, in about a minute",
    ),
}
SKIPPED = {  # command as written -> why it is not run
    "make test": "the test suite, which runs this test",
    "semspace serve --index runs/demo/index": "a server that runs until it is stopped; tests/service starts "
    "`semspace serve` as a real process",
    "semspace bench chtn": "a benchmark (6 min); test_readme_numbers.py checks its results against the README",
    "python benchmarks/ssgn.py": "a benchmark (9 min); test_readme_numbers.py checks its results against the README",
}

_TRANSFER = {
    "task_args.target_encoder": "tiny_cnn",
    "task_args.text_encoder": "tiny_lstm_text",
    "task_args.embed_dim": 32,
    "data.train.args.n": 48,
    "train.max_steps": 3,
    "train.batch_size": 8,
    "train.warmup_steps": 0,
    "train.num_workers": 0,
    "eval.num_workers": 0,
    "eval.data.args.n": 16,
}
_EGSC_IT = {"train.max_steps": 3, "train.log_every": 1, "train.ckpt_every": 1000}
_EGSC_IT_EVAL = {"eval.n_exemplars": 2, "eval.classifier_steps": 3}
# each config the pages train -> dotted key -> tiny value (a key the config has, or one of NEW_KEYS)
TINY: dict[str, dict[str, Any]] = {
    "transfer/world_2d_to_3d.yaml": {**_TRANSFER, "task_args.source_encoder": "tiny_cnn"},
    "transfer/world_text_to_3d.yaml": {**_TRANSFER, "task_args.source_encoder": "tiny_lstm_text"},
    "chtn/world.yaml": {
        "data.train.args.data.args.pairs_per_class": 4,
        "data.extra.source.args.data.args.n_per_class": 1,
        "data.extra.source.batch_size": 8,
        "train.batch_size": 8,
        "train.max_steps": 3,
        "eval.data.args.data.args.pairs_per_class": 2,
    },
    "ssgn/world.yaml": {
        "data.train.args.sketches.args.n": 51,
        "data.train.args.photos.args.n": 51,
        "train.batch_size": 16,
        "train.max_steps": 3,
        "train.warmup_steps": 0,
        "eval.sketches.args.n": 17,
        "eval.photos.args.n": 34,
        "eval.generalized_photos.args.n": 51,
    },
    "egsc_it/digits_stage1.yaml": _EGSC_IT,
    "egsc_it/digits_stage2.yaml": {**_EGSC_IT, **_EGSC_IT_EVAL, "eval.data.args.n": 16},
    "egsc_it/folders_stage1.yaml": _EGSC_IT,
    "egsc_it/folders_stage2.yaml": {**_EGSC_IT, "eval.n_exemplars": 2},
}
NEW_KEYS = {"eval.classifier_steps", "eval.data.args.n"}  # options the protocol or dataset takes with a default


def page_commands() -> list[Command]:
    """The commands of every ```bash block of ``PAGES``, in order."""
    blocks = [b for page in PAGES for b in fenced_blocks(ROOT / page, page) if b.info == COMMAND_INFO]
    return [c for b in blocks for c in commands(b)]


def test_every_fence_says_what_it_is() -> None:
    """Command blocks are ```bash; output examples, layouts and config carry another info string (text, yaml)."""
    unlabelled = [f"{b.doc}:{b.line}" for page in PAGES for b in fenced_blocks(ROOT / page, page) if not b.info]
    assert not unlabelled, f"fences without an info string (```bash for commands, ```text otherwise): {unlabelled}"


def test_replaced_and_skipped_commands_are_on_the_pages() -> None:
    """The lists above name commands the pages hold (a renamed command must not leave a stale entry)."""
    written = {_normal(c.text) for c in page_commands()}
    assert set(REPLACED) | set(SKIPPED) <= written, sorted((set(REPLACED) | set(SKIPPED)) - written)


def test_every_config_the_pages_train_has_a_tiny_version(tmp_path: Path) -> None:
    """A command that trains another config would run it at full size: TINY must name it (and its keys exist)."""
    named = {m for c in page_commands() for m in re.findall(r"--config configs/(\S+)", c.text)}
    assert named <= set(TINY), f"configs the pages train without a tiny version in TINY: {sorted(named - set(TINY))}"
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    write_tiny_configs(tmp_path / "configs")


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_every_page_command_runs_as_written(tmp_path: Path) -> None:
    project = tmp_path / "semspace"
    shutil.copytree(ROOT / "configs", project / "configs")  # the link's target: real files
    write_tiny_configs(project / "configs")
    env = {**os.environ, "PATH": f"{_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}", "CUDA_VISIBLE_DEVICES": ""}
    done: set[str] = set()
    print("\nwall s   CPU s  command")  # pytest -s shows where the time goes
    for command in page_commands():
        text = _normal(command.text)
        if text in SKIPPED or text in done:
            continue
        done.add(text)
        print(run_command(command, REPLACED.get(text, (command.text, ""))[0], project, env), flush=True)


def run_command(command: Command, run: str, project: Path, env: dict[str, str]) -> str:
    """Runs ``run`` (``command`` or its replacement) in ``project``; fails the test, naming the page, line and
    command, on a non-zero exit or a timeout. Returns a line with its wall and CPU seconds."""
    t0, cpu0 = time.perf_counter(), _children_cpu()
    try:
        result = subprocess.run(["bash", "-c", run], cwd=project, env=env, capture_output=True, text=True,
                                timeout=COMMAND_TIMEOUT_S, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"{command.where()}: still running after {COMMAND_TIMEOUT_S} s:\n  {run}")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        pytest.fail(f"{command.where()}: exit {result.returncode} from\n  {run}\n{tail}")
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    return f"{wall:6.1f} {cpu:7.1f}  {command.where()} {run.splitlines()[0][:80]}"


def write_tiny_configs(folder: Path) -> None:
    """Rewrites each config of ``TINY`` in ``folder`` with its tiny values (the other fields as they are)."""
    for rel, values in TINY.items():
        path = folder / rel
        cfg = yaml.safe_load(path.read_text())
        for dotted, value in values.items():
            *parents, leaf = dotted.split(".")
            node = cfg
            for key in parents:
                node = node[key]
            assert leaf in node or dotted in NEW_KEYS, f"{rel} has no {dotted}: update TINY"
            node[leaf] = value
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def _bin_dir() -> Path:
    """The virtualenv's ``bin`` (``.venv/bin`` under ``make``): the one running the tests, which holds ``semspace``."""
    folder = Path(sys.executable).parent
    assert (folder / "semspace").exists(), f"no semspace command in {folder}: install the project (make setup)"
    return folder


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _normal(text: str) -> str:
    return " ".join(text.split())
