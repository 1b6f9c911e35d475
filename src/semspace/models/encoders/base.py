"""The one encoder contract shared by every domain (STYLE B.7), and the cfg plumbing behind it.

An encoder is an ``nn.Module`` with

* ``input_kind`` in {"image", "text", "features"} (what the encoder takes; a domain's kind, ``data.domains.InputKind``,
  adds ``sketch`` for image encoders of drawings): image encoders take float ``(B, C, H, W)`` tensors made by
  ``data.transforms.build_transform(encoder.preprocess_cfg)``; text encoders take ``list[str]`` and own their
  tokenisation; feature encoders take float ``(B, F)``;
* ``encode(x, normalize=False) -> (B, D)`` (``forward`` is the same), ``output_dim == D``;
* ``lock(unlocked_groups=0, freeze_norm_stats=True)``: freezes all but the last ``unlocked_groups`` groups of
  the tower (open_clip's ``lock_image_tower``); the projection to the shared space always stays trainable;
* ``cfg`` (its dataclass) and ``to_config() -> {"architecture", "cfg"}``, which ``create_model`` rebuilds.
"""

from __future__ import annotations

import importlib.util
from dataclasses import is_dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from semspace.config import from_dict, to_dict
from semspace.errors import ConfigError


def merge_cfg(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``overrides``; a dict override of a dict field is merged into it (one level deeper).

    So ``preprocess={"size": 64}`` changes the size and keeps the preset's mean and std.
    """
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_cfg(out[key], value)
        else:
            out[key] = value
    return out


def resolve_cfg(cfg_class: type, cfg: Any = None, overrides: dict[str, Any] | None = None, where: str = "") -> Any:
    """Builds ``cfg_class`` from ``None`` (defaults), a dict or an instance, plus keyword overrides.

    Unknown keys raise ``ConfigError`` naming the key and the valid keys (``semspace.config.from_dict``).
    """
    if cfg is None:
        base: dict[str, Any] = {}
    elif isinstance(cfg, dict):
        base = cfg
    elif is_dataclass(cfg) and isinstance(cfg, cfg_class):
        if not overrides:
            return cfg
        base = to_dict(cfg)
    else:
        raise ConfigError(f"{where or cfg_class.__name__}: expected a {cfg_class.__name__} or a dict, got {cfg!r}")
    return from_dict(cfg_class, merge_cfg(base, overrides or {}), where)


class BaseEncoder(nn.Module):
    """Base class of all encoders (see the module docstring for the contract).

    Subclasses set ``cfg_class`` and ``input_kind``, build their layers from ``self.cfg``, set
    ``self.output_dim`` and implement ``embed(x) -> (B, D)``; ``lock_groups()`` lists the tower's groups from
    input to output (empty: nothing to lock). ``requires`` names the optional import packages they need.

    Args:
        cfg: the architecture's cfg dataclass, a dict of its fields, or None for the defaults.
        **overrides: fields that replace those of ``cfg``.
    """

    architecture: ClassVar[str] = ""  # set by register_encoder
    cfg_class: ClassVar[type]
    input_kind: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()  # importable modules this encoder needs (optional extras)
    output_dim: int
    cfg: Any

    def __init__(self, cfg: Any = None, **overrides: Any) -> None:
        super().__init__()
        self.cfg = resolve_cfg(self.cfg_class, cfg, overrides, where=self.architecture or type(self).__name__)
        self._frozen_norms: list[nn.Module] = []

    @classmethod
    def missing_requirements(cls) -> list[str]:
        """The modules of ``requires`` that cannot be imported here (empty: the encoder can be built)."""
        return [m for m in cls.requires if importlib.util.find_spec(m) is None]

    def embed(self, x: Any) -> torch.Tensor:
        """Unnormalised embeddings ``(B, D)`` of a batch of inputs."""
        raise NotImplementedError

    def encode(self, x: Any, normalize: bool = False) -> torch.Tensor:
        """Embeds a batch into the shared space.

        Args:
            x: a batch of this encoder's ``input_kind``.
            normalize: L2-normalise each row (unit norm).

        Returns:
            ``(B, output_dim)`` float tensor.
        """
        fast = self.__dict__.get("_fast_embed")  # set by models.inference_fast.prepare_for_inference (a loaded run)
        z = fast(x) if fast is not None else self.embed(x)  # (B, D)
        return F.normalize(z, dim=-1) if normalize else z

    def forward(self, x: Any, normalize: bool = False) -> torch.Tensor:
        return self.encode(x, normalize=normalize)

    def lock_groups(self) -> list[nn.Module]:
        """The tower's parameter groups, ordered from input to output (used by ``lock``)."""
        return []

    def lock(self, unlocked_groups: int = 0, freeze_norm_stats: bool = True) -> BaseEncoder:
        """Freezes all but the last ``unlocked_groups`` tower groups; the projection stays trainable.

        Calling it again first unfreezes the whole tower, so ``lock(n)`` always means the same state.

        Args:
            unlocked_groups: how many groups at the output end keep training (0: the whole tower is frozen).
            freeze_norm_stats: keep the BatchNorm layers of frozen groups in eval mode (running statistics fixed),
                even after ``model.train()``.

        Returns:
            self, for chaining.
        """
        if unlocked_groups < 0:
            raise ConfigError(f"lock(unlocked_groups={unlocked_groups}): expected a count >= 0")
        groups = self.lock_groups()
        self._frozen_norms = []
        for group in groups:
            group.requires_grad_(True)
        n_frozen = max(len(groups) - unlocked_groups, 0)
        for group in groups[:n_frozen]:
            group.requires_grad_(False)
            if freeze_norm_stats:
                self._frozen_norms.extend(m for m in group.modules() if isinstance(m, _BatchNorm))
        return self.train(self.training)

    def train(self, mode: bool = True) -> BaseEncoder:
        super().train(mode)
        for m in self._frozen_norms:
            m.eval()
        return self

    def to_config(self) -> dict[str, Any]:
        """``{"architecture": name, "cfg": {...}}``: ``create_model(encoder.to_config())`` rebuilds it."""
        return {"architecture": self.architecture, "cfg": to_dict(self.cfg)}

    def num_params(self, trainable: bool = False) -> int:
        """Number of parameters (only those with ``requires_grad`` when ``trainable``)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable)
