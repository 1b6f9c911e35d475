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


def _run(run_dir: Path, nproc: int, batch: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    env["GLOO_SOCKET_IFNAME"] = "lo"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc)]
    cmd += ["--master_addr", "127.0.0.1", "--master_port", str(_free_port()), "--tee", "3"]  # ranks' output
    if nproc == 1:
        cmd = [sys.executable]
    proc = subprocess.run([*cmd, str(WORKER), str(run_dir), str(batch)], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
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
