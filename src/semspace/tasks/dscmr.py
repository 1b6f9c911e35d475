"""Task ``dscmr``: Deep Supervised Cross-Modal Retrieval, the baseline CHTN is compared with.

Zhen, Hu, Wang, Peng, CVPR 2019 (code ``penghu-cs/DSCMR``, ``model.py::IDCM_NN``, recalled [R]): per modality
one ``Linear -> ReLU`` (``ImgNN``, ``TextNN``, 2048 wide), then a linear layer *shared* by both modalities to the
common space (1024) and a shared linear classifier to the C labels; trained with ``losses.dscmr.DscmrLoss``
(label space + common space + modality invariance, alpha 1e-3, beta 1e-1); the common representation is the
shared layer's output, compared by cosine. Here the inputs come through the same image trunk and text encoder
as the ``chtn`` task (``image_trunk``, ``text_encoder``), so both are compared on the same inputs; DSCMR has no
source set.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from semspace.data.domains import DomainSpec
from semspace.losses.dscmr import DscmrLoss
from semspace.models.joint import describe_encoder
from semspace.tasks.base import Task, TaskCfg
from semspace.tasks.cross_modal_inputs import input_encoder, pair_input, resolve_pair_inputs
from semspace.tasks.registry import TASKS
from semspace.types import IMAGE, LABEL, TEXT


@dataclass
class DscmrCfg(TaskCfg):
    image_domain: str = "photo"  # name of the image domain
    text_domain: str = "text"  # name of the text domain
    image_key: str = IMAGE  # batch key of the images ("features.img" for feature files)
    text_key: str = TEXT  # batch key of the texts
    image_trunk: str | dict[str, Any] = "small_cnn"  # the same trunk presets as chtn
    image_trunk_args: dict[str, Any] = field(default_factory=dict)
    trunk_unlocked_groups: int | None = None  # None: trains; 0: frozen
    text_encoder: str | dict[str, Any] = "bow_text"
    text_encoder_args: dict[str, Any] = field(default_factory=dict)
    bow_max_words: int = 3000
    hidden_dim: int = 2048  # ImgNN / TextNN width (DSCMR: 2048)
    common_dim: int = 1024  # shared common-space layer (DSCMR: 1024)
    num_classes: int = 0  # 0: from the training data
    # BatchNorm1d on each modality's input (the trunk's and the text encoder's output) before ImgNN / TextNN: puts
    # given features of unlike scales (SIFT counts and LDA topic proportions, VGG fc7 and Sentence-CNN) on one
    # scale, as chtn's image_input_norm / text_input_norm do; batch statistics in training, running ones at eval.
    # Off by default (DSCMR's code feeds the features as given; earlier runs and checkpoints are unchanged).
    input_norm: bool = False
    alpha: float = 1e-3  # common-space term weight (DSCMR: 1e-3)
    beta: float = 1e-1  # modality-invariance term weight (DSCMR: 1e-1)


@TASKS.register("dscmr")
class DscmrTask(Task):
    """DSCMR (module docstring)."""

    Cfg = DscmrCfg
    name = "dscmr"
    title = "image-text retrieval (DSCMR)"

    def __init__(self, cfg: DscmrCfg) -> None:
        super().__init__(cfg)
        trunk: Any = input_encoder(cfg.image_trunk, cfg.image_trunk_args)
        if cfg.trunk_unlocked_groups is not None:
            trunk.lock(cfg.trunk_unlocked_groups)
        text: Any = input_encoder(cfg.text_encoder, cfg.text_encoder_args)
        self.trunk, self.text_encoder = trunk, text
        norm = nn.BatchNorm1d if cfg.input_norm else (lambda _: nn.Identity())
        self.img_norm, self.txt_norm = norm(trunk.output_dim), norm(text.output_dim)  # Identity: no weights
        self.img_net = nn.Sequential(nn.Linear(trunk.output_dim, cfg.hidden_dim), nn.ReLU())
        self.txt_net = nn.Sequential(nn.Linear(text.output_dim, cfg.hidden_dim), nn.ReLU())
        self.common = nn.Linear(cfg.hidden_dim, cfg.common_dim)  # shared by both modalities
        self.classifier = nn.Linear(cfg.common_dim, cfg.num_classes)  # shared
        self.loss = DscmrLoss(alpha=cfg.alpha, beta=cfg.beta)
        self._specs = {
            d: dataclasses.replace(describe_encoder(d, enc), embed_dim=cfg.common_dim)
            for d, enc in ((cfg.image_domain, trunk), (cfg.text_domain, text))
        }

    @classmethod
    def resolve_cfg(cls, cfg: DscmrCfg, dataset: Any | None = None) -> DscmrCfg:
        """Fills C, the bag-of-words vocabulary and feature widths as ``chtn`` does (``tasks.cross_modal_inputs``)."""
        resolve_pair_inputs(cfg, dataset)
        return cfg

    def export_cfg(self) -> dict[str, Any]:
        out = super().export_cfg()
        out["image_trunk"], out["image_trunk_args"] = self.trunk.to_config(), {}
        out["text_encoder"], out["text_encoder_args"] = self.text_encoder.to_config(), {}
        return out

    def features(self, domain: str, x: Any) -> torch.Tensor:
        """Common-space features ``(B, common_dim)`` of one domain's inputs."""
        if domain == self.cfg.image_domain:
            return self.common(self.img_net(self.img_norm(self.trunk.encode(x))))  # (B, D)
        return self.common(self.txt_net(self.txt_norm(self.text_encoder.encode(x))))  # (B, D)

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        c = self.cfg
        u = self.features(c.image_domain, pair_input(batch, c.image_key))  # (B, D)
        v = self.features(c.text_domain, pair_input(batch, c.text_key))  # (B, D)
        out = self.loss(u, v, self.classifier(u), self.classifier(v), batch[LABEL].long(), output_dict=True)
        assert isinstance(out, dict)
        return out

    def domains(self) -> dict[str, DomainSpec]:
        return dict(self._specs)

    def embed(self, domain: str, inputs: Any) -> torch.Tensor:
        self.domain(domain)
        return F.normalize(self.features(domain, inputs), dim=-1)

    @torch.no_grad()
    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        c = self.cfg
        return {
            c.image_domain: self.embed(c.image_domain, pair_input(batch, c.image_key)),
            c.text_domain: self.embed(c.text_domain, pair_input(batch, c.text_key)),
        }
