"""Run by torchrun in test_ddp_cpu.py: trains the toy task with the engine under DDP (gloo)."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, so `tests.engine.toy` imports

from tests.engine.toy import ToyCfg, ToyDataset, ToyTask  # noqa: E402

from semspace.config import TrainCfg  # noqa: E402
from semspace.engine import Trainer  # noqa: E402
from semspace.engine.distributed import cleanup  # noqa: E402

run_dir, batch = Path(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
task = ToyTask(ToyCfg(dropout=0.0))
cfg = TrainCfg(max_steps=6, batch_size=batch, lr=0.05, optimizer="sgd", scheduler="constant", log_every=2, seed=3)
Trainer(task, cfg, run_dir, dataset=ToyDataset(n=48)).fit()
cleanup()
