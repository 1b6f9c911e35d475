"""Two gloo processes with per-rank batch B train exactly like one process with batch 2B (STYLE D.16)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from semspace.models.checkpoint import load_checkpoint

WORKER = Path(__file__).with_name("ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(run_dir: Path, nproc: int, batch: int, *mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    env["GLOO_SOCKET_IFNAME"] = "lo"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc)]
    cmd += ["--master_addr", "127.0.0.1", "--master_port", str(_free_port()), "--tee", "3"]  # ranks' output
    if nproc == 1:
        cmd = [sys.executable]
    proc = subprocess.run([*cmd, str(WORKER), str(run_dir), str(batch), *mode], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return load_checkpoint(run_dir / "model.pt")["state_dict"]


@pytest.mark.ddp
def test_two_gloo_ranks_match_one_process(tmp_path: Path) -> None:
    single = _run(tmp_path / "single", 1, 8)
    ddp = _run(tmp_path / "ddp", 2, 4)
    assert single.keys() == ddp.keys()
    for k in single:
        assert torch.allclose(single[k], ddp[k], atol=1e-5), k
    assert (tmp_path / "ddp" / "metrics.jsonl").exists()  # written once, by rank 0


@pytest.mark.ddp
def test_task_sampler_is_sharded_over_ranks(tmp_path: Path) -> None:
    """Task.train_sampler gets the world size and rank: each rank trains on its own share of the P x K batches."""
    import json

    import numpy as np

    from semspace.data.samplers import ClassBalancedSampler

    from .toy import BalancedTask, ToyClassDataset

    _run(tmp_path, 2, 8, "balanced")
    labels = ToyClassDataset(n=60).classes
    for rank in (0, 1):
        record = json.loads((tmp_path / f"seen_rank{rank}.json").read_text())
        assert record["sampler_args"] == {"stream": "train", "seed": 3, "num_replicas": 2, "rank": rank}
        expected: list[list[int]] = []
        for epoch in range(3):  # 60 // 12 = 5 -> 4 global batches per epoch (2 ranks), 2 each: 3 epochs
            s = ClassBalancedSampler(labels, BalancedTask.P, BalancedTask.K, seed=3, num_replicas=2, rank=rank)
            s.set_epoch(epoch)
            expected += list(s)
        assert record["seen"] == expected[:6]
        assert all(len(set(np.asarray(labels)[b])) == BalancedTask.P for b in record["seen"])
