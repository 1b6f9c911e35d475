"""The one training engine: trainer, data streams, checkpoints and resume, distributed set-up, optimizers, logging."""

from semspace.engine.distributed import DistInfo as DistInfo
from semspace.engine.distributed import init_distributed_device as init_distributed_device
from semspace.engine.distributed import is_primary as is_primary
from semspace.engine.distributed import world_info_from_env as world_info_from_env
from semspace.engine.trainer import NonFiniteLossError as NonFiniteLossError
from semspace.engine.trainer import Trainer as Trainer

__all__ = [
    "DistInfo",
    "NonFiniteLossError",
    "Trainer",
    "init_distributed_device",
    "is_primary",
    "world_info_from_env",
]
