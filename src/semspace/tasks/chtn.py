"""Task ``chtn``: Cross-modal Hybrid Transfer Network, image <-> text retrieval with a labelled single-modal source.

Huang, Peng, Yuan, "Cross-modal Hybrid Transfer Network for Cross-modal Retrieval", IJCAI 2017, pp. 1893-1900;
the reference is the authors' Caffe code ``PKU-ICST-MIPL/CHTN_IJCAI2017`` as recorded in ``papers/chtn.md``.
Few image-text pairs (the target), many labelled images (the source): knowledge flows source image -> target
image through the image pathway both domains share (*modal-sharing transfer subnetwork*, Sec. 3.1), image ->
text through the pairwise term, and the *layer-sharing correlation subnetwork* (Sec. 3.2) keeps the cross-modal
correlation. One step reads a target batch (paired image, text, class) and a source batch (image, class) from
two datasets (``data.train`` and ``data.extra.source``)::

    trunk:   f(x) for source and target images, concatenated on the batch (shared weights; ``conv1..pool5``)
    branches (own weights, ``models.chtn.ChtnBranch``):  s = B_src(f(x_s)),  u = B_img(f(x_t)),  v = B_txt(g(t))
    head:    fc10 = H(fc7) with H shared by both modalities (``ChtnCorrelationHead``; layer sharing)

    L = CE(fc8_src(s.fc7), y_s)                                     imagenet_softmax_loss, weight 1
      + MMD(s.fc6_bn, u.fc6_bn) + MMD(s.fc7_bn, u.fc7_bn)             imagenet_wiki_mmd_loss_fc6/7, weight 1 each
      + 1e-3 (Con(u.fc6, v.fc6) + Con(u.fc7, v.fc7))                 fc6/fc7_contrastive_loss, weight 0.001 each
      + CE(H(u.fc7), y_t) + CE(H(v.fc7), y_t)                        wiki_img_softmax_loss, wiki_txt_loss, weight 1

MMD is ``losses.mmd.MmdLoss`` (one Gaussian kernel, ``kernel_num 1, kernel_mul 2.0``, data-driven bandwidth; the
estimator is written there; ``mmd_kernel_num`` > 1 is the multi-kernel option), Con is Caffe's ContrastiveLoss on
matched pairs, ``1/(2N) sum ||u - v||^2`` (``losses.paired_distance``). The common representation is
``softmax(fc10)`` of each modality (``representation``: ``prob``; ``logits`` or ``fc7`` for experiments), and
retrieval is cosine over it (``eval.protocols.xmodal_map``).

Inputs: with ``image_frozen`` (CHTN's setting: a frozen ImageNet trunk) the frozen encoder's features are computed
once (``models.frozen_features``) and the trunk (``mlp_features``: the shared, trained layer above it, the
analogue of an unlocked last group) reads them; raw images (index, search) pass the frozen encoder in the task.
Otherwise the image trunk is any image encoder preset without projection (``small_cnn`` from scratch, or the offline
ImageNet ``efficientnet_lite0``, frozen with ``trunk_unlocked_groups: 0`` as CHTN freezes its AlexNet conv layers,
or with its last groups unlocked), or ``identity_features`` for precomputed image features (the benchmark files);
text is a bag of words (``bow_text``, CHTN's input; its vocabulary is built from the training captions), MiniLM
sentence embeddings (``minilm_text`` with ``embed_dim: 0``) or given features (``identity_features``). Batch
keys are config (``image_key``, ``text_key``, ``source_key``; ``features.img`` reads ``batch["features"]["img"]``).
Without a source stream (or with ``use_source: false``, the no-transfer ablation) the source terms are off and the
run says so once.

Deviations from the authors' code (each measured in ``docs/chtn.md``):

* the world configs use the record's solver (SGD lr 0.01 fixed, momentum 0.9, L2 5e-4, 500 iterations, the
  prototxt's ``lr_mult 1/2``: ``optimizer_groups`` puts biases at ``bias_lr_mult`` = 2x the lr) but widths 512
  instead of 4096 and one batch of 40 pairs + 40 source images per update instead of ``iter_size 16`` x 64: CPU
  budget; the widths are config, the paper's values one ``--set`` away;
* with a trunk trained from scratch (``small_cnn``), the trunk learns from the source classification and the
  target losses (CHTN's AlexNet trunk is pretrained and frozen); on the world this is where the source helps.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from semspace.config import InitSpec, TrainCfg
from semspace.data.domains import DomainSpec
from semspace.errors import ConfigError, DataError
from semspace.losses.mmd import MmdLoss
from semspace.losses.paired_distance import PairedContrastiveLoss
from semspace.models import create_model
from semspace.models.chtn import ChtnBranch, ChtnCorrelationHead
from semspace.models.joint import describe_encoder
from semspace.tasks.base import Task, TaskCfg
from semspace.tasks.cross_modal_inputs import encoder_spec, input_encoder, pair_input, resolve_pair_inputs
from semspace.tasks.registry import TASKS
from semspace.types import IMAGE, LABEL, TEXT

log = logging.getLogger(__name__)

REPRESENTATIONS = ("prob", "logits", "fc7")
# Warm start (CHTN's source branch starts from the ImageNet-trained AlexNet's fc6/fc7, i.e. a network trained on the
# source): a first run of the same task with every target term off trains the shared layer, the source branch and
# its classifier on the labelled source alone; the CHTN run then starts its trunk, its source branch and fc8, and
# its target image branch, from it (``warm_start_init``). Measured in benchmarks/results/chtn.md.
SOURCE_ONLY_WEIGHTS = {"image_ce_weight": 0.0, "text_ce_weight": 0.0, "contrastive_weight": 0.0, "mmd_weight": 0.0}
WARM_START = (("trunk", "trunk"), ("src_branch", "src_branch"), ("src_fc8", "src_fc8"), ("img_branch", "src_branch"))


def warm_start_init(checkpoint: str) -> list[InitSpec]:
    """The ``init:`` of a CHTN run warm-started from the source-only run's ``checkpoint`` (nothing frozen)."""
    return [InitSpec(checkpoint=checkpoint, module=m, source=src, freeze=False) for m, src in WARM_START]


@dataclass
class ChtnCfg(TaskCfg):
    image_domain: str = "photo"  # name of the image domain (index collections, search, metric keys)
    text_domain: str = "text"  # name of the text domain
    image_key: str = IMAGE  # batch key of the target images ("features.img": batch["features"]["img"])
    text_key: str = TEXT  # batch key of the target texts
    source_key: str = IMAGE  # batch key of the source images inside the source stream's batch
    source_stream: str = "source"  # name of the data.extra stream holding the labelled single-modal source
    image_frozen: str | dict[str, Any] = ""  # frozen encoder in front of the trunk for raw images ("": none)
    image_frozen_args: dict[str, Any] = field(default_factory=dict)  # its overrides (as frozen_features' encoder_args)
    image_trunk: str | dict[str, Any] = "small_cnn"  # shared image trunk preset (no projection: embed_dim 0)
    image_trunk_args: dict[str, Any] = field(default_factory=dict)  # preset overrides (in_dim filled for features)
    trunk_unlocked_groups: int | None = None  # None: the whole trunk trains; 0: frozen (CHTN); N: last N groups
    text_encoder: str | dict[str, Any] = "bow_text"  # text input: bow_text | minilm_text | identity_features
    text_encoder_args: dict[str, Any] = field(default_factory=dict)  # overrides (bow vocab filled from data)
    bow_max_words: int = 3000  # bow_text: the most frequent training words kept (CHTN's BoW: 3000)
    widths: tuple[int, int] = (4096, 4096)  # fc6, fc7 of every branch (CHTN: 4096, 4096)
    shared_widths: tuple[int, int] = (4096, 4096)  # fc8, fc9 of the correlation head (CHTN: 4096, 4096)
    num_classes: int = 0  # C of fc10, the target classes (0: from the training data)
    num_source_classes: int = 0  # classes of the source classifier fc8 (0: no source, the transfer is off)
    use_source: bool = True  # False: ignore the source stream (the no-transfer ablation)
    layer_sharing: bool = True  # one fc8-fc10 head for both modalities (False: one per modality, ablation)
    source_weight: float = 1.0  # imagenet_softmax_loss
    mmd_weight: float = 1.0  # each of the fc6 and fc7 MMD terms
    contrastive_weight: float = 1e-3  # each of the fc6 and fc7 contrastive terms
    image_ce_weight: float = 1.0  # wiki_img_softmax_loss
    text_ce_weight: float = 1.0  # wiki_txt_loss
    mmd_kernel_num: int = 1  # Gaussian kernels of the MMD (CHTN: 1; DAN's multi-kernel MMD: 5)
    mmd_kernel_mul: float = 2.0  # bandwidth ratio between kernels (CHTN: 2.0)
    image_input_norm: bool = False  # BatchNorm on the trunk output before fc6 (useful on given features)
    text_input_norm: bool = True  # CHTN's BN + Scale on the bag of words
    representation: str = "prob"  # common representation: prob (softmax fc10, CHTN) | logits | fc7
    image_kind: str = ""  # declared input kind of the image domain ("" = its trunk's: image or features)
    bias_lr_mult: float = 2.0  # lr multiplier of biases (the prototxt's ``lr_mult 1/2``: weights 1x, biases 2x)


@TASKS.register("chtn")
class ChtnTask(Task):
    """CHTN (module docstring)."""

    Cfg = ChtnCfg
    name = "chtn"
    title = "image-text retrieval (CHTN)"

    def __init__(self, cfg: ChtnCfg) -> None:
        super().__init__(cfg)
        if cfg.representation not in REPRESENTATIONS:
            raise ConfigError(f"chtn: representation {cfg.representation!r}; expected one of {REPRESENTATIONS}")
        if cfg.num_classes < 2:
            raise ConfigError(f"chtn: num_classes={cfg.num_classes}; train on labelled pairs (or set it, >= 2)")
        if cfg.image_domain == cfg.text_domain:
            raise ConfigError(f"chtn: image_domain and text_domain are both {cfg.image_domain!r}")
        self.frozen: Any = None
        if cfg.image_frozen:
            self.frozen = create_model(encoder_spec(cfg.image_frozen), **{"embed_dim": 0, **cfg.image_frozen_args})
            self.frozen.lock(0)
            self.frozen.eval()
        trunk: Any = input_encoder(cfg.image_trunk, cfg.image_trunk_args)
        if cfg.trunk_unlocked_groups is not None:
            trunk.lock(cfg.trunk_unlocked_groups)
        text: Any = input_encoder(cfg.text_encoder, cfg.text_encoder_args)
        self.trunk, self.text_encoder = trunk, text
        f_img, f_txt = int(trunk.output_dim), int(text.output_dim)
        self.img_branch = ChtnBranch(f_img, cfg.widths, input_norm=cfg.image_input_norm)
        self.txt_branch = ChtnBranch(f_txt, cfg.widths, input_norm=cfg.text_input_norm)
        w7 = self.img_branch.out_dim
        self.head = ChtnCorrelationHead(w7, cfg.shared_widths, cfg.num_classes)
        self.txt_head = None if cfg.layer_sharing else ChtnCorrelationHead(w7, cfg.shared_widths, cfg.num_classes)
        self.src_branch: ChtnBranch | None = None
        self.src_fc8: nn.Linear | None = None
        if cfg.num_source_classes > 0 and cfg.use_source:
            self.src_branch = ChtnBranch(f_img, cfg.widths, input_norm=cfg.image_input_norm)
            self.src_fc8 = nn.Linear(w7, cfg.num_source_classes)
        self.mmd = MmdLoss(kernel_num=cfg.mmd_kernel_num, kernel_mul=cfg.mmd_kernel_mul)
        self.contrastive = PairedContrastiveLoss()
        dim = {"prob": cfg.num_classes, "logits": cfg.num_classes, "fc7": w7}[cfg.representation]
        kinds = {cfg.image_domain: cfg.image_kind or None, cfg.text_domain: None}
        self._specs = {
            d: dataclasses.replace(describe_encoder(d, enc, kinds[d]), embed_dim=dim)
            for d, enc in ((cfg.image_domain, self.frozen or trunk), (cfg.text_domain, text))
        }
        self._said_off = False

    # ---- configuration ----------------------------------------------------------------------------
    @classmethod
    def resolve_cfg(cls, cfg: ChtnCfg, dataset: Any | None = None) -> ChtnCfg:
        """Fills from the training pairs: C (``num_classes``), the bag-of-words vocabulary and the width of given
        features (``identity_features`` / ``mlp_features`` ``in_dim``; ``tasks.cross_modal_inputs``)."""
        resolve_pair_inputs(cfg, dataset)
        return cfg

    def export_cfg(self) -> dict[str, Any]:
        """The cfg with the trunk's and text encoder's full ``{"architecture", "cfg"}``."""
        out = super().export_cfg()
        if self.frozen is not None:
            out["image_frozen"], out["image_frozen_args"] = self.frozen.to_config(), {}
        out["image_trunk"], out["image_trunk_args"] = self.trunk.to_config(), {}
        out["text_encoder"], out["text_encoder_args"] = self.text_encoder.to_config(), {}
        return out

    def backbone_prefixes(self) -> tuple[str, ...]:
        return ("trunk.",)

    def optimizer_groups(self, train_cfg: TrainCfg) -> dict[str, list[dict[str, Any]]]:
        """The engine's groups with Caffe's per-parameter ``lr_mult 1/2`` of the prototxt: every bias (a 1-d
        parameter of a Linear or conv layer) learns at ``bias_lr_mult`` times the lr (2x), weights at 1x; weight decay
        stays on the weight matrices only (the engine's rule; Caffe's AlexNet prototxts set ``decay_mult 0`` on
        biases)."""
        groups = super().optimizer_groups(train_cfg)["main"]
        if self.cfg.bias_lr_mult == 1.0:
            return {"main": groups}
        layers = (nn.Linear, nn.Conv1d, nn.Conv2d)
        biases = {id(m.bias) for m in self.modules() if isinstance(m, layers) and m.bias is not None}
        out: list[dict[str, Any]] = []
        for g in groups:
            split = ([p for p in g["params"] if id(p) not in biases], [p for p in g["params"] if id(p) in biases])
            for params, mult in zip(split, (1.0, self.cfg.bias_lr_mult), strict=True):
                if params:
                    out.append({**g, "params": params, "lr_mult": g.get("lr_mult", 1.0) * mult})
        return {"main": out}

    # ---- forward pieces ---------------------------------------------------------------------------
    def _head(self, modality: str) -> ChtnCorrelationHead:
        if modality == "text" and self.txt_head is not None:
            return self.txt_head
        return self.head

    def train(self, mode: bool = True) -> ChtnTask:
        super().train(mode)
        if self.frozen is not None:
            self.frozen.eval()  # frozen: its BatchNorm statistics never move
        return self

    def encode_images(self, x: Any) -> torch.Tensor:
        """The shared trunk's ``(B, F)``; with ``image_frozen``, raw images pass the frozen encoder first, while
        ``(B, F0)`` feature rows (``frozen_features`` of the same encoder) enter the trunk directly."""
        if self.frozen is not None and not (isinstance(x, torch.Tensor) and x.ndim == 2):
            with torch.no_grad():
                x = self.frozen.encode(x)  # (B, 3, H, W) -> (B, F0)
        return self.trunk.encode(x)

    def image_branch(self, x: Any) -> dict[str, torch.Tensor]:
        return self.img_branch(self.encode_images(x))  # (B, F) -> taps

    def text_branch(self, t: Any) -> dict[str, torch.Tensor]:
        return self.txt_branch(self.text_encoder.encode(t))  # (B, V) -> taps

    def represent(self, modality: str, taps: dict[str, torch.Tensor]) -> torch.Tensor:
        """The common representation ``(B, D)`` of one modality from its branch taps (``representation``)."""
        if self.cfg.representation == "fc7":
            return taps["fc7"]
        logits = self._head(modality)(taps["fc7"])  # (B, C)
        return logits.softmax(dim=-1) if self.cfg.representation == "prob" else logits

    # ---- training ---------------------------------------------------------------------------------
    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        c = self.cfg
        x_t, txt, y_t = pair_input(batch, c.image_key), pair_input(batch, c.text_key), batch[LABEL].long()
        self._check_labels(y_t, c.num_classes, "target")
        source = batch.get(c.source_stream) if (c.use_source and self.src_branch is not None) else None
        if source is None:
            self._say_off(batch)
            u = self.image_branch(x_t)
        else:
            x_s, y_s = pair_input(source, c.source_key), source[LABEL].long()
            self._check_labels(y_s, c.num_source_classes, "source")
            feats = self.encode_images(_cat(x_s, x_t))  # (Bs + Bt, F): one trunk pass, as the prototxt's Concat
            n_s = len(y_s)
            assert self.src_branch is not None and self.src_fc8 is not None
            s, u = self.src_branch(feats[:n_s]), self.img_branch(feats[n_s:])
        v = self.text_branch(txt)
        out: dict[str, torch.Tensor] = {}
        out["loss_img_ce"] = F.cross_entropy(self._head("image")(u["fc7"]), y_t)
        out["loss_txt_ce"] = F.cross_entropy(self._head("text")(v["fc7"]), y_t)
        out["loss_con6"] = self.contrastive(u["fc6"], v["fc6"])
        out["loss_con7"] = self.contrastive(u["fc7"], v["fc7"])
        loss = (c.image_ce_weight * out["loss_img_ce"] + c.text_ce_weight * out["loss_txt_ce"]
                + c.contrastive_weight * (out["loss_con6"] + out["loss_con7"]))  # fmt: skip
        if source is not None:
            assert self.src_fc8 is not None
            out["loss_src_ce"] = F.cross_entropy(self.src_fc8(s["fc7"]), y_s)
            out["loss_mmd6"] = self.mmd(s["fc6_bn"], u["fc6_bn"])
            out["loss_mmd7"] = self.mmd(s["fc7_bn"], u["fc7_bn"])
            loss = loss + c.source_weight * out["loss_src_ce"] + c.mmd_weight * (out["loss_mmd6"] + out["loss_mmd7"])
        out["loss"] = loss
        return out

    def _say_off(self, batch: dict[str, Any]) -> None:
        if self._said_off:
            return
        c = self.cfg
        level = logging.WARNING  # the config asks for the source but none comes: likely a mistake
        if not c.use_source:
            why, level = "use_source is false", logging.INFO  # asked for (the no-transfer baseline): no warning
        elif self.src_branch is None:
            why = "task_args.num_source_classes is 0 (no labelled source)"
        else:
            why = f"the batch has no {c.source_stream!r} stream (data.extra.{c.source_stream})"
        log.log(level, "chtn: the modal-sharing transfer is off (%s): training on the target pairs only", why)
        self._said_off = True

    @staticmethod
    def _check_labels(y: torch.Tensor, n: int, which: str) -> None:
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= n):
            raise DataError(
                f"chtn: {which} labels span {int(y.min())}..{int(y.max())}; expected class ids in 0..{n - 1} "
                f"({'num_classes' if which == 'target' else 'num_source_classes'} = {n})"
            )

    # ---- using the trained task -------------------------------------------------------------------
    def domains(self) -> dict[str, DomainSpec]:
        """The image and the text domain; both embed into the common representation (C-dim for ``prob``)."""
        return dict(self._specs)

    def embed(self, domain: str, inputs: Any) -> torch.Tensor:
        """Unit-norm common representations ``(B, D)`` (cosine over softmax(fc10) ranks as CHTN's evaluation)."""
        self.domain(domain)
        if domain == self.cfg.image_domain:
            z = self.represent("image", self.image_branch(inputs))
        else:
            z = self.represent("text", self.text_branch(inputs))
        return F.normalize(z, dim=-1)

    @torch.no_grad()
    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """``{image_domain: (B, D), text_domain: (B, D)}`` of a batch of pairs."""
        c = self.cfg
        return {
            c.image_domain: self.embed(c.image_domain, pair_input(batch, c.image_key)),
            c.text_domain: self.embed(c.text_domain, pair_input(batch, c.text_key)),
        }


def _cat(a: Any, b: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return torch.cat([a, b])  # (Bs + Bt, ...)
    return list(a) + list(b)
