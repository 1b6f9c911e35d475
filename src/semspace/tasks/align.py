"""Task ``align``: put two domains into one shared space from paired, unmodified views.

This is the alignment stage of "Let's Transfer Transformations of Shared Semantic Representations"
(Vo, Jiang, Hays 2019, arXiv:1903.00793): encoders f_A and f_B (e.g. 2D blob images and 3D renders of the
same scene, or an image and its description) are trained so that paired items are nearest neighbours,
here with the symmetric InfoNCE loss (CLIP, arXiv:2103.00020). The transfer task (composers trained in one
domain, applied in another) builds on the space this learns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from semspace.losses import InfoNceLoss
from semspace.models import create_model
from semspace.models.joint import JointEmbeddingModel
from semspace.tasks.base import Task, TaskCfg, fill_vocabularies
from semspace.tasks.registry import TASKS
from semspace.types import IMAGE, PAIRED_IMAGE


@dataclass
class AlignCfg(TaskCfg):
    domain_a: str = "blobs2d"  # name of domain A (used by reports, the index and the service)
    domain_b: str = "render3d"  # name of domain B
    key_a: str = IMAGE  # batch key holding domain A's inputs
    key_b: str = PAIRED_IMAGE  # batch key holding domain B's inputs (the same content, unmodified)
    encoder_a: str | dict[str, Any] = "tiny_cnn"  # preset name (see `list_models()`) or {"architecture", "cfg"}
    encoder_b: str | dict[str, Any] = "tiny_cnn"  # the same for domain B
    encoder_a_args: dict[str, Any] = field(default_factory=dict)  # preset overrides (text vocab filled from data)
    encoder_b_args: dict[str, Any] = field(default_factory=dict)  # preset overrides for domain B
    embed_dim: int = 64  # dimension of the shared space
    init_temperature: float = 0.07  # InfoNCE temperature at initialisation (learned afterwards)
    kind_a: str = ""  # input kind of domain A (image, sketch, text, features); "" = its encoder's input kind
    kind_b: str = ""  # input kind of domain B


@TASKS.register("align")
class AlignTask(Task):
    """Contrastive alignment of two domains (see module docstring)."""

    Cfg = AlignCfg
    name = "align"
    title = "aligned domains"

    def __init__(self, cfg: AlignCfg) -> None:
        super().__init__(cfg)
        enc_a = create_model(cfg.encoder_a, embed_dim=cfg.embed_dim, **cfg.encoder_a_args)
        enc_b = create_model(cfg.encoder_b, embed_dim=cfg.embed_dim, **cfg.encoder_b_args)
        kinds = {d: k for d, k in ((cfg.domain_a, cfg.kind_a), (cfg.domain_b, cfg.kind_b)) if k}
        self.model = JointEmbeddingModel(
            encoders={cfg.domain_a: enc_a, cfg.domain_b: enc_b}, init_temperature=cfg.init_temperature, kinds=kinds
        )
        self.loss = InfoNceLoss()

    @classmethod
    def resolve_cfg(cls, cfg: AlignCfg, dataset: Any | None = None) -> AlignCfg:
        """Fills a text encoder's vocabulary from the training data (``dataset.vocabulary()``)."""
        encoders = {"encoder_a": (cfg.encoder_a, cfg.encoder_a_args), "encoder_b": (cfg.encoder_b, cfg.encoder_b_args)}
        fill_vocabularies(encoders, dataset, "align")
        return cfg

    def export_cfg(self) -> dict[str, Any]:
        """The cfg with each encoder's full ``{"architecture", "cfg"}`` (checkpoints never depend on presets)."""
        out = super().export_cfg()
        for side in ("a", "b"):
            encoder: Any = self.model.encoders[getattr(self.cfg, f"domain_{side}")]
            out[f"encoder_{side}"] = encoder.to_config()
            out[f"encoder_{side}_args"] = {}
        return out

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        c = self.cfg
        za = self.model.encode(c.domain_a, batch[c.key_a])  # (B, D) unit norm
        zb = self.model.encode(c.domain_b, batch[c.key_b])  # (B, D) unit norm
        loss = self.loss(za, zb, self.model.scale())
        return {"loss": loss, "logit_scale": self.model.scale().detach()}

    @torch.no_grad()
    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        c = self.cfg
        return {
            c.domain_a: self.model.encode(c.domain_a, batch[c.key_a]),
            c.domain_b: self.model.encode(c.domain_b, batch[c.key_b]),
        }
