"""``--device``, the option of every command that loads a model (eval, index build, search, classify, translate).

Its spelling is checked while the command line is parsed, without torch (``knobs.parse_device``: auto, cpu, cuda,
cuda:N; anything else is a usage error, exit 2); whether CUDA is there is decided when the command runs
(``utils.device.resolve_device``: ``auto`` is CUDA when ``torch.cuda.is_available()``, else the CPU; ``cuda``
without CUDA is one error line naming ``--device cpu``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from semspace.knobs import parse_device

DEVICE_HELP = "where the model runs: auto (CUDA when torch.cuda.is_available(), else the CPU), cpu, cuda or cuda:N"


def _check_device(value: str) -> str:
    try:
        return parse_device(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


DeviceOption = Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda|cuda:N", callback=_check_device,
                                           help=DEVICE_HELP)]  # fmt: skip
