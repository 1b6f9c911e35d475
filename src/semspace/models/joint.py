"""JointEmbeddingModel: one encoder per domain, all mapping into one shared space (DESIGN: the shared space).

Every domain's encoder follows the encoder contract (``encode(x, normalize) -> (B, D)``) with the same D;
the joint model adds a learnable logit scale (CLIP, arXiv:2103.00020) for contrastive training, and owns the
domains' records (``domain_specs()``, ``data.domains.DomainSpec``): each domain's input kind (the encoder's
``input_kind``, or a declared kind such as ``sketch`` for an image encoder of drawings) and how its raw inputs
become model inputs. ``describe_domains`` builds the same records for tasks that keep their encoders elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from semspace.data.domains import DomainSpec, InputKind, parse_kind, vocab_sha256
from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError


def describe_encoder(name: str, encoder: nn.Module, kind: str | None = None) -> DomainSpec:
    """The record of domain ``name`` embedded by ``encoder`` (kind: ``kind`` or the encoder's ``input_kind``).

    Raises:
        ConfigError: the kind does not fit the encoder (an image or sketch domain needs an encoder with a
            ``preprocess_cfg``; a text or features domain an encoder of that input kind).
    """
    enc: Any = encoder
    own = str(getattr(enc, "input_kind", "") or "")
    resolved = parse_kind(kind or own, f"domain {name!r}")
    expected = {InputKind.IMAGE: "image", InputKind.SKETCH: "image", InputKind.TEXT: "text"}.get(resolved, "features")
    if own and own != expected:
        raise ConfigError(f"domain {name!r} is declared {resolved.value} but its encoder takes {own} inputs")
    dim = int(enc.output_dim)
    if resolved.is_visual:
        pre = getattr(enc, "preprocess_cfg", None)
        if not isinstance(pre, PreprocessCfg):
            raise ConfigError(f"domain {name!r} ({resolved.value}): its encoder has no preprocess_cfg")
        return DomainSpec(name, resolved, dim, preprocess=pre)
    if resolved is InputKind.TEXT:
        vocab = list(getattr(getattr(enc, "cfg", None), "vocab", None) or [])
        text: dict[str, Any] = {"architecture": str(getattr(enc, "architecture", type(enc).__name__))}
        if vocab:
            text.update(vocab_size=len(vocab), vocab_sha256=vocab_sha256(vocab))
        return DomainSpec(name, resolved, dim, text_encoder=text)
    return DomainSpec(name, resolved, dim, feature_dim=int(enc.cfg.in_dim))


def describe_domains(
    encoders: Mapping[str, nn.Module], kinds: Mapping[str, str] | None = None
) -> dict[str, DomainSpec]:
    """``{domain: DomainSpec}`` for encoders keyed by domain name, with optional declared kinds."""
    kinds = dict(kinds or {})
    unknown = sorted(set(kinds) - set(encoders))
    if unknown:
        raise ConfigError(f"kinds given for domains {unknown} that have no encoder; domains: {list(encoders)}")
    return {name: describe_encoder(name, enc, kinds.get(name) or None) for name, enc in encoders.items()}


class JointEmbeddingModel(nn.Module):
    """Domain name -> encoder, plus a shared logit scale.

    Args:
        encoders: one encoder per domain (keys are domain names such as "blobs2d", "render3d", "text").
        init_temperature: initial softmax temperature T (the logit scale starts at 1/T).
        kinds: declared input kinds of some domains (``{"drawings": "sketch"}``); the others take their
            encoder's ``input_kind``.
    """

    def __init__(
        self, *, encoders: dict[str, nn.Module], init_temperature: float = 0.07, kinds: Mapping[str, str] | None = None
    ) -> None:
        super().__init__()
        self._specs = describe_domains(encoders, kinds)
        dims = {name: getattr(enc, "output_dim", None) for name, enc in encoders.items()}
        if len(set(dims.values())) != 1:
            raise ValueError(f"all encoders of a shared space need the same output_dim, got {dims}")
        self.encoders = nn.ModuleDict(encoders)
        self.embed_dim = int(next(iter(dims.values())))  # type: ignore[arg-type]
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))

    @property
    def domains(self) -> list[str]:
        return list(self.encoders.keys())

    def domain_specs(self) -> dict[str, DomainSpec]:
        """``{domain: DomainSpec}``: each domain's input kind, preprocessing and embedding width."""
        return dict(self._specs)

    def encode(self, domain: str, x: Any, normalize: bool = True) -> torch.Tensor:
        """Embeds inputs of ``domain``: (B, ...) -> (B, D)."""
        if domain not in self.encoders:
            raise KeyError(f"no encoder for domain {domain!r}; this model has {self.domains}")
        return self.encoders[domain].encode(x, normalize=normalize)  # type: ignore[operator]

    def scale(self) -> torch.Tensor:
        """exp(logit_scale), clamped at 100 as in CLIP."""
        return self.logit_scale.exp().clamp(max=100.0)

    def forward(self, **inputs: Any) -> dict[str, torch.Tensor]:
        """``forward(blobs2d=x, text=t)`` -> ``{"blobs2d_features": (B, D), ..., "logit_scale": ()}``."""
        out = {f"{d}_features": self.encode(d, x) for d, x in inputs.items() if x is not None}
        out["logit_scale"] = self.scale()
        return out
