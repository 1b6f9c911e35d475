"""Run by torchrun in test_ddp_cpu.py: trains the toy task with the engine under DDP (gloo)."""

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, so `tests.engine.toy` imports

from tests.engine.toy import BalancedTask, ToyCfg, ToyClassDataset, ToyDataset, ToyTask  # noqa: E402

from semspace.config import TrainCfg  # noqa: E402
from semspace.engine import Trainer  # noqa: E402
from semspace.engine.distributed import cleanup  # noqa: E402

run_dir, batch = Path(sys.argv[1]), int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else "plain"  # "balanced": the task's ClassBalancedSampler
torch.manual_seed(0)
cfg = TrainCfg(max_steps=6, batch_size=batch, lr=0.05, optimizer="sgd", scheduler="constant", log_every=2, seed=3)
if mode == "balanced":
    task = BalancedTask(ToyCfg(dropout=0.0))
    Trainer(task, cfg, run_dir, dataset=ToyClassDataset(n=60)).fit()
    rank = task.sampler_args["rank"]
    record = {"sampler_args": task.sampler_args, "seen": [s["train"] for s in task.seen]}
    (run_dir / f"seen_rank{rank}.json").write_text(json.dumps(record))
else:
    task = ToyTask(ToyCfg(dropout=0.0))
    Trainer(task, cfg, run_dir, dataset=ToyDataset(n=48)).fit()
cleanup()
