"""Every task trains under ``torchrun --nproc_per_node 2`` (gloo) like one process with the global batch, and the
embedding loop shards a dataset over the ranks (issue 19; STYLE D.16).

Each task's tiny run (``ddp_task_worker.py``: its own config, shrunk) is trained once in this process with batch 8
and once by 2 gloo ranks with batch 4 each; the per-step rows of ``metrics.jsonl`` (the loss and every logged term,
averaged over the ranks) and the final model's buffers (running statistics, counters) must agree. What differs by
nature between the two runs is held fixed (``ddp_task_worker.exact``; ``docs/engine.md``). Tolerance: 1e-4
relative, 1e-5 absolute; what is left is float summation order (the same items, summed in another order and
split over two processes), measured at most 2e-7 relative on the losses over the 4 steps. The parameters are not
compared one by one: Adam moves a parameter whose gradient is zero up to rounding (a convolution's bias before an
instance norm) by up to the learning rate either way, while the losses show that the models compute the same.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from semspace.engine.logging import read_metrics
from semspace.tasks import load_task

from .ddp_task_worker import STEPS, TASKS, embedding_cases, train_task

WORKER = Path(__file__).with_name("ddp_task_worker.py")
BATCH = 4  # per rank; the one-process run reads 2 * BATCH
SKIP = {"time", "steps_per_s", "data_wait", "split"}  # the clock and the row kind, not the training


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _torchrun(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo", SEMSPACE_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "--tee", "3", str(WORKER), *args]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-4000:]


def _curve(run_dir: Path) -> list[dict[str, Any]]:
    rows = [r for r in read_metrics(run_dir) if r["split"] == "train"]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    return [{k: v for k, v in r.items() if k not in SKIP} for r in rows]


@pytest.fixture(scope="module")
def stage1(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A stage-1 EGSC-IT run (one step) for ``egsc_it`` to load."""
    run = tmp_path_factory.mktemp("egsc") / "stage1"
    train_task("egsc_it_mask_ae", run, BATCH, "-")
    return str(run / "model.pt")


@pytest.mark.ddp
@pytest.mark.parametrize("task", TASKS)
def test_two_gloo_ranks_train_every_task_like_one_process(task: str, stage1: str, tmp_path: Path) -> None:
    train_task(task, tmp_path / "one", 2 * BATCH, stage1)
    _torchrun("train", task, str(tmp_path / "ddp"), str(BATCH), stage1)
    one, ddp = _curve(tmp_path / "one"), _curve(tmp_path / "ddp")
    for a, b in zip(one, ddp, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-5), (task, a["step"], k, a[k], b[k])
    b1, b2 = (dict(load_task(tmp_path / r / "model.pt")[0].named_buffers()) for r in ("one", "ddp"))
    assert b1.keys() == b2.keys()
    for k in b1:  # running statistics and counters: the global batch's, on every rank
        torch.testing.assert_close(b1[k], b2[k], rtol=1e-5, atol=1e-6, msg=lambda m, k=k: f"{task}: {k}: {m}")


@pytest.mark.ddp
def test_embedding_is_sharded_over_ranks_and_gathered_in_dataset_order(tmp_path: Path) -> None:
    """``embed_dataset`` and ``forward_dataset`` under 2 ranks: each rank reads its contiguous share only (7 items:
    3 + 4; 1 item: 0 + 1) and both get every item's embedding and fields in dataset order, as one process does; an
    item that cannot be read on one rank is the error of both."""
    one = embedding_cases()
    _torchrun("embed", str(tmp_path))
    ranks = [torch.load(tmp_path / f"embed_rank{r}.pt", weights_only=False) for r in (0, 1)]
    for loop in ("embed", "forward"):
        assert one.pop(f"error_{loop}") == "item 5 cannot be read"
        assert all(got[f"error_{loop}"] == "item 5 cannot be read" for got in ranks)
    shares = {7: ([0, 1, 2], [3, 4, 5, 6]), 1: ([], [0])}
    for case, (z, fields, read) in one.items():
        n = int(case.split("_")[1])
        assert read == list(range(n))
        for r, got in enumerate(ranks):
            z_r, fields_r, read_r = got[case]
            assert read_r == shares[n][r], (case, r)
            if isinstance(z, dict):
                assert z.keys() == z_r.keys() and all(torch.equal(z[d], z_r[d]) for d in z), (case, r)
            else:
                assert torch.equal(z, z_r), (case, r)
            assert json.dumps({k: list(map(str, v)) for k, v in fields.items()}) == json.dumps(
                {k: list(map(str, v)) for k, v in fields_r.items()}
            ), (case, r)
