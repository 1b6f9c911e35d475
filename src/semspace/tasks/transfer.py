"""Task ``transfer``: transferred transformations of a shared semantic space (LTT, on TIRG).

"Let's Transfer Transformations of Shared Semantic Representations" (Vo, Jiang, Hays 2019,
arXiv:1903.00793): a composer T(e, t) that applies a modification text t to an embedding e is learned in a
*source* domain where modification triplets are cheap (2D blob images, or text descriptions) and applied in
a *target* domain that has none (3D renders, photos), which works because both domains share one space.

Per batch (a scene seen in the source view with its modification, and the same source scene in the target
view), the loss is

    L = L_compose(N(T(f_s(x), g(t))), N(f_s(y)))  +  lambda * L_align(f_s(x), f_t(x'))

* f_s, f_t: the source and target encoders (one encoder when ``share_encoder``), g: the modification text
  encoder, T: a registered composer (TIRG's gated residual, arXiv:1812.07119, or a baseline), N: TIRG's
  NormalizationLayer ``s * z / ||z||`` (``L2Norm``, s learnable, init 4);
* L_compose: TIRG's soft triplet loss (CSS) or batch-based classification (Fashion200k), on *source-domain*
  triplets (x, t, y) only;
* L_align: symmetric InfoNCE on paired, unmodified views (x in the source view, x' the same scene in the
  target view), which places both domains in one space. The exact LTT alignment loss is not recovered
  (papers/ltt.md, [N]); InfoNCE is our deliberate choice, as in the ``align`` task.

The composer sees unit-norm image embeddings scaled by sqrt(D) (``composer_input_scale``; 0 = sqrt(D)), not the
authors' raw CNN features: alignment is on unit vectors, so f_s and f_t agree in direction but not necessarily in
norm, and a composer fed raw features would see another input distribution in the target domain. Only TIRG's
gated image term ``w_g * gate * e`` sees the scale (both branches start with a BatchNorm): sqrt(D) gives
coordinates of unit size, the magnitude of features its (w_g, w_r) = (1, 10) init was set for; fed unit vectors,
the image term is 1/sqrt(D) of that next to the residual.

With ``source_domain == target_domain`` the same task trains in-domain (the upper bound: target triplets
available) and the alignment term is off.

Deviations from the authors' TIRG code (google/tirg), measured at demo scale in ``docs/transfer.md``
(``benchmarks/results/tirg_deviations.md``: 1000 steps, 500 test queries):

* the sqrt(D)-scaled unit input above (TIRG composes raw CNN features). Against unit vectors, over seeds 0-2:
  R@1 equal within seed noise (3D->3D 0.643 vs 0.669), R@5 / R@10 higher with sqrt(D) on every seed (0.971 vs
  0.925, 0.991 vs 0.965);
* AdamW, lr 1e-3, 100 warm-up steps, cosine decay, weight decay 1e-4 (``configs/transfer/``) in place of their SGD
  (lr 1e-2, momentum 0.9, weight decay 1e-6): 3D->3D R@1 0.660 vs 0.536 with their optimizer at 1000 steps;
* no weight decay on 1-d parameters (biases, norms, TIRG's w_g/w_r, the scale s; ``tasks.base.param_groups``),
  where their SGD decays every parameter: no measurable difference (AdamW decaying everything: 0.664 vs 0.660);
* the soft-triplet loss uses autograd, the true gradient, twice their hand-written backward
  (``tests/losses/test_soft_triplet_gradient.py``); the world configs train with ``batch_classification``.

At test time (``eval_forward`` / ``compose``): query = N(T(f_q(x), g(t))) for a query image of any domain
the task embeds, gallery = f_t(y); retrieval by cosine similarity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from semspace.data.domains import DomainSpec, InputKind
from semspace.errors import ConfigError
from semspace.losses import InfoNceLoss, SoftTripletLoss, create_loss
from semspace.models import L2Norm, create_model
from semspace.models.composition import create_composer
from semspace.models.joint import describe_domains
from semspace.tasks.base import Task, TaskCfg, fill_vocabularies
from semspace.tasks.registry import TASKS
from semspace.types import IMAGE, MOD_TEXT, PAIRED_IMAGE, TARGET_IMAGE, TARGET_LABEL, TARGET_TEXT, TEXT


@dataclass
class TransferCfg(TaskCfg):
    source_domain: str = "blobs2d"  # the domain whose modification triplets train the composer
    target_domain: str = "render3d"  # the domain searched at test time (no triplets from it unless in-domain)
    source_encoder: str | dict[str, Any] = "small_cnn"  # preset name or {"architecture", "cfg"} for f_s
    target_encoder: str | dict[str, Any] = "small_cnn"  # preset for f_t (ignored with share_encoder)
    text_encoder: str | dict[str, Any] = "lstm_text"  # preset for g, the modification text encoder
    source_encoder_args: dict[str, Any] = field(default_factory=dict)  # preset overrides (vocab filled from data)
    target_encoder_args: dict[str, Any] = field(default_factory=dict)  # preset overrides for f_t
    text_encoder_args: dict[str, Any] = field(default_factory=dict)  # preset overrides for g
    share_encoder: bool = False  # one image encoder for both domains (both must be image domains)
    composer: str = "tirg"  # registered composer: tirg | concat | image_only | text_only
    composer_args: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the composer
    loss: str = "soft_triplet"  # composition loss: soft_triplet (TIRG on CSS) | batch_classification
    align_weight: float = 1.0  # lambda of the alignment term (unused in-domain)
    embed_dim: int = 512  # dimension of the shared space (TIRG: 512)
    init_norm_scale: float = 4.0  # initial s of TIRG's NormalizationLayer
    composer_input_scale: float = 0.0  # the composer sees unit image embeddings times this (0: sqrt(embed_dim))
    init_temperature: float = 0.07  # InfoNCE temperature at initialisation (learned afterwards)
    domain_kinds: dict[str, str] = field(default_factory=dict)  # declared input kinds, e.g. {"drawings": "sketch"}


@TASKS.register("transfer")
class TransferTask(Task):
    """A TIRG composer learned in one domain and applied in another of the same space (module docstring)."""

    Cfg = TransferCfg
    name = "transfer"
    title = "composed retrieval (TIRG, transferred)"

    def __init__(self, cfg: TransferCfg) -> None:
        super().__init__(cfg)
        f_s = create_model(cfg.source_encoder, embed_dim=cfg.embed_dim, **cfg.source_encoder_args)
        encoders: dict[str, nn.Module] = {cfg.source_domain: f_s}
        if cfg.share_encoder and not self.in_domain:
            encoders[cfg.target_domain] = f_s
        elif not self.in_domain:
            encoders[cfg.target_domain] = create_model(
                cfg.target_encoder, embed_dim=cfg.embed_dim, **cfg.target_encoder_args
            )
        self._specs = describe_domains(encoders, cfg.domain_kinds)
        self._check_kinds()
        self.encoders = nn.ModuleDict(encoders)
        self.text_encoder: Any = create_model(cfg.text_encoder, embed_dim=cfg.embed_dim, **cfg.text_encoder_args)
        self.composer = create_composer(cfg.composer, dim=cfg.embed_dim, **cfg.composer_args)
        self.norm = L2Norm(init_scale=cfg.init_norm_scale)
        self.compose_loss = create_loss(cfg.loss)
        self.align_loss = InfoNceLoss()
        self.logit_scale = nn.Parameter(torch.tensor(1.0 / cfg.init_temperature).log())
        self.preprocess_cfg()  # the image domains share one preprocessing (training batches hold both views)

    @property
    def in_domain(self) -> bool:
        """True when the composer is trained on the target domain itself (the upper bound)."""
        return self.cfg.source_domain == self.cfg.target_domain

    # ---- configuration ----------------------------------------------------------------------------
    @classmethod
    def resolve_cfg(cls, cfg: TransferCfg, dataset: Any | None = None) -> TransferCfg:
        """Fills every text encoder's vocabulary from the training data (``dataset.vocabulary()``)."""
        sides = ("source", "target", "text")
        fill_vocabularies(
            {
                f"{side}_encoder": (getattr(cfg, f"{side}_encoder"), getattr(cfg, f"{side}_encoder_args"))
                for side in sides
            },
            dataset,
            "transfer",
        )
        return cfg

    def export_cfg(self) -> dict[str, Any]:
        """The cfg with each encoder's full ``{"architecture", "cfg"}`` (checkpoints never depend on presets)."""
        out = super().export_cfg()
        c = self.cfg
        sides = {"source": c.source_domain, "target": None if self.in_domain else c.target_domain}
        for side, domain in sides.items():
            if domain is not None:
                out[f"{side}_encoder"] = self.encoders[domain].to_config()  # type: ignore[operator]
                out[f"{side}_encoder_args"] = {}
        out["text_encoder"] = self.text_encoder.to_config()
        out["text_encoder_args"] = {}
        return out

    def _check_kinds(self) -> None:
        """The target domain holds pictures; the source holds pictures or descriptions (LTT's 2D/text sources)."""
        c, specs = self.cfg, self._specs
        if not specs[c.target_domain].kind.is_visual:
            raise ConfigError(
                f"transfer: the target domain {c.target_domain!r} must hold images, it is {specs[c.target_domain].kind}"
            )
        if specs[c.source_domain].kind is InputKind.FEATURES:
            raise ConfigError(f"transfer: source domain {c.source_domain!r} holds feature vectors; it has no triplets")
        if c.share_encoder and not all(s.kind.is_visual for s in specs.values()):
            raise ConfigError("transfer: share_encoder needs two image domains; text and images need own encoders")

    def _text_source(self) -> bool:
        return self._specs[self.cfg.source_domain].kind is InputKind.TEXT

    # ---- training ---------------------------------------------------------------------------------
    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        c = self.cfg
        x, y = (batch[TEXT], batch[TARGET_TEXT]) if self._text_source() else (batch[IMAGE], batch[TARGET_IMAGE])
        z_x = self.embed(c.source_domain, x)  # (B, D) unit norm
        query = self.compose(z_x, batch[MOD_TEXT], normalize=False)  # (B, D) scaled by s
        encoder: Any = self.encoders[c.source_domain]
        target = self.norm(encoder.encode(y))  # (B, D) scaled by s
        out = {"loss_compose": self._compose_loss(query, target, batch.get(TARGET_LABEL))}
        if self.in_domain:
            out["loss"] = out["loss_compose"]
            return out
        z_p = self.embed(c.target_domain, batch[PAIRED_IMAGE])  # (B, D) the same scenes in the target view
        scale = self.logit_scale.exp().clamp(max=100.0)
        out["loss_align"] = self.align_loss(z_x, z_p, scale)
        out["loss"] = out["loss_compose"] + c.align_weight * out["loss_align"]
        out["norm_scale"] = self.norm.scale.detach()
        return out

    def _compose_loss(self, query: torch.Tensor, target: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """TIRG's loss on (composed query, target) pairs; two queries with the same target scene are not
        used as each other's negatives (soft triplet only; TIRG's labels are batch positions)."""
        if isinstance(self.compose_loss, SoftTripletLoss) and labels is not None:
            return self.compose_loss(query, target, labels=labels)
        return self.compose_loss(query, target)

    # ---- using the trained task -------------------------------------------------------------------
    def domains(self) -> dict[str, DomainSpec]:
        """The source and target domains (one when in-domain), with their kinds and preprocessing."""
        return dict(self._specs)

    def embed(self, domain: str, inputs: Any) -> torch.Tensor:
        """Unit-norm ``(B, D)`` embeddings of ``domain`` inputs (images, or strings for a text domain)."""
        self.domain(domain)
        encoder: Any = self.encoders[domain]
        return encoder.encode(inputs, normalize=True)

    def composable_domains(self) -> list[str]:
        """The query domains the composer applies to: every image domain (it transfers across them, LTT)."""
        return [name for name, spec in self._specs.items() if spec.kind.is_visual]

    def compose(self, query: torch.Tensor, texts: list[str], *, normalize: bool = True) -> torch.Tensor:
        """N(T(query, g(texts))): a unit-norm query ``(B, D)`` modified by ``texts``.

        An empty text (after stripping) leaves its query unchanged, so an empty modification is a plain
        image search. With ``normalize=False`` the output keeps TIRG's learned scale s (for the losses).
        """
        texts = [str(t) for t in texts]
        empty = torch.tensor([not t.strip() for t in texts], device=query.device)  # (B,)
        z_t = self.text_encoder.encode(texts)  # (B, D)
        scale = self.cfg.composer_input_scale or math.sqrt(query.shape[-1])
        composed = self.composer(query * scale, z_t)  # (B, D)
        composed = torch.where(empty[:, None], query, composed)  # (B, D)
        out = self.norm(composed)  # (B, D) with norm s
        return F.normalize(out, dim=-1) if normalize else out

    def unknown_words(self, texts: list[str]) -> list[str]:
        seen: dict[str, None] = {}
        for t in texts:
            for w in self.text_encoder.unknown_words(t):
                seen[w] = None
        return list(seen)

    @torch.no_grad()
    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """``{"query": composed source queries, "target": target embeddings}`` of a source-domain batch."""
        c = self.cfg
        x, y = (batch[TEXT], batch[TARGET_TEXT]) if self._text_source() else (batch[IMAGE], batch[TARGET_IMAGE])
        return {
            "query": self.compose(self.embed(c.source_domain, x), batch[MOD_TEXT]),
            "target": self.embed(c.source_domain, y),
        }
