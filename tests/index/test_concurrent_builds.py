"""Two ``semspace index build`` processes on one index at once: the writer lock makes them take turns.

Each round starts two real builds at the same moment, of the same source or of two different sources, then runs
``index info`` and a search: every round must end with a valid index holding exactly the union of what both builds
reported, with no traceback. Before the lock, one such pair in nine left a manifest naming a deleted generation,
and a build of 20 new files could be lost silently behind a concurrent one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semspace.cli.main import main
from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.index import EmbeddingIndex
from semspace.index.layout import LOCK
from semspace.index.locking import WriterLock

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 20
TINY = ["data.train.args.n=32", "data.train.args.size=32", "train.max_steps=2", "train.batch_size=16",
        "train.num_workers=0", "train.eval_every=0", "train.log_every=5", "eval={}", "task_args.encoder_a=tiny_cnn",
        "task_args.encoder_b=tiny_cnn", "task_args.embed_dim=16"]  # fmt: skip
SEMSPACE = [sys.executable, "-m", "semspace"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("concurrent") / "run"
    train(load_run_cfg(ROOT / "configs" / "align" / "world_2d_3d.yaml", TINY), run_dir)
    return run_dir


def _pictures(folder: Path, n: int, seed: int) -> set[str]:
    """``n`` small random pictures; their resolved paths (the uris an index gives them)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(folder / f"s{seed}-{i}.png")
    return {str((folder / f"s{seed}-{i}.png").resolve()) for i in range(n)}


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


class _Build:
    """A ``semspace index build --json`` process; its stderr is read as it comes (to see it wait)."""

    def __init__(self, run: Path, source: Path, index: Path) -> None:
        args = [*SEMSPACE, "index", "build", "--run-dir", str(run), "--data", f"folder:{source}", "--out",
                str(index), "--json"]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        self.err: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    @property
    def waiting(self) -> bool:
        return any("waiting for the build started by PID" in line for line in list(self.err))

    def finish(self) -> tuple[dict, str]:  # type: ignore[type-arg]
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self.proc.wait(timeout=240)
        self.reader.join(timeout=10)
        err = "".join(self.err)
        assert "Traceback" not in err, err
        assert self.proc.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1]), err


def _until(condition: Callable[[], bool], seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_two_builds_at_once_take_turns_and_keep_the_union(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "idx"
    expected: set[str] = set()
    waited = 0
    for r in range(ROUNDS):
        if r % 2 == 0:  # the same source, grown by one picture: both sync it, the second finds it in line
            shared = tmp_path / "shared"
            new = _pictures(shared, 1 + r // 10, seed=1000 + r)
            sources = (shared, shared)
        else:  # two different sources of 2 and 3 new pictures
            a, b = tmp_path / f"a{r}", tmp_path / f"b{r}"
            new = _pictures(a, 2, seed=r) | _pictures(b, 3, seed=500 + r)
            sources = (a, b)
        if r % 4 < 2:  # started together, free to race from the start (creating the index, in round 0)
            builds = [_Build(run, s, index) for s in sources]
        else:  # both queued behind a writer, then let go at once: they race for the lock itself
            with WriterLock(index, what="build"):
                builds = [_Build(run, s, index) for s in sources]
                _until(lambda pair=tuple(builds): all(b.waiting for b in pair))
        (first, err1), (second, err2) = (b.finish() for b in builds)
        waited += sum("waiting for the build started by PID" in e for e in (err1, err2))
        expected |= new
        # what both reported: every new picture was added by exactly one of them, and nothing was removed
        added = first["added"] + second["added"]
        assert added == len(new), (r, first, second)
        assert first["removed"] == second["removed"] == 0
        assert max(first["total"], second["total"]) == len(expected), (r, first, second)
        # index info and a search, as a user would run them next
        assert main(["index", "info", "--index", str(index), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["ntotal"] == len(expected) and not info["unfinished_build"]
        (generation,) = [p.name for p in index.iterdir() if p.name.startswith("gen-")]
        assert info["generation"] == generation  # one generation left, the one the manifest names
        uris = {it["uri"] for it in EmbeddingIndex.open(index).iter_items()}
        assert uris == expected, (r, sorted(expected - uris), sorted(uris - expected))
        query = sorted(new)[0]
        assert main(["search", "--index", str(index), "--image", query, "--keep-query", "-k", "1", "--json"]) == 0
        hits = json.loads(capsys.readouterr().out)["hits"]
        assert hits[0]["uri"] == query  # the picture finds itself
    assert waited >= ROUNDS  # two builds waited in each forced round (a free round may add more)


def test_no_wait_exits_2_naming_the_holder(run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    _pictures(photos, 2, seed=7)
    index = tmp_path / "idx"
    with WriterLock(index, create=True, what="build"):
        args = [*SEMSPACE, "index", "build", "--run-dir", str(run), "--data", f"folder:{photos}", "--out",
                str(index), "--no-wait"]  # fmt: skip
        done = subprocess.run(args, capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(rf"being written by the build started by PID {os.getpid()} at ", lines[0])
    assert not (index / "manifest.json").exists()


def test_a_lock_left_by_a_killed_writer_is_taken_over(run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    uris = _pictures(photos, 2, seed=8)
    index = tmp_path / "idx"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from semspace.index.locking import WriterLock; "
         "WriterLock(sys.argv[1], create=True).acquire(); print('locked', flush=True); time.sleep(600)", str(index)],
        stdout=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    assert json.loads((index / LOCK).read_text())["pid"] == holder.pid
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    start = time.monotonic()
    stats, err = _Build(run, photos, index).finish()
    assert stats["added"] == 2 and "waiting" not in err and time.monotonic() - start < 120
    assert {it["uri"] for it in EmbeddingIndex.open(index).iter_items()} == uris
    assert json.loads((index / LOCK).read_text())["pid"] != holder.pid  # the stale holder line was replaced
