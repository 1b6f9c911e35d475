"""Task ``ssgn``: zero-shot sketch-based image retrieval with the Stacked Semantic-Guided Network and its baselines.

Wang, Deng, Xu, Liu, Gao, Tao, "Stacked Semantic-Guided Network for Zero-Shot Sketch-Based Image Retrieval", 2019
(``papers/ssgn.md``; no official code exists and the paper's equations are not recoverable, so every part below is
a documented design, measured in ``docs/ssgn.md``). Training reads (sketch, same-class photo, class) of the seen
classes (``data/datasets/sbir_pairs.py``); at test an unseen-class sketch is mapped to a *generated photo feature*
and matched by cosine against the real photo features of the gallery::

    taps      t_1..t_L = pool(block_l(x_sketch))             pooled intermediate blocks (fusion_layers, pooling)
    fusion    h = Fuse(t_1..t_L)                             models.ssgn.fusion.MultiLayerFusion (fusion)
    photo     f = Std(avgpool(backbone(x_photo)))            real photo feature, standardised by running stats
    stage 1   c = G1([s_y; z1])                              category level, from the class semantics s_y
    stage 2   g = c + G2([c; h; z2])                         instance level, from stage 1 and the sketch
    L = reg ||g - f||^2 + coarse ||c - f||^2 + cls (CE(W g, y) + CE(W f, y)) + sem CE(cos(R(h), S_seen) / tau, y)

* Backbone: the offline ImageNet EfficientNet-Lite0 **frozen** (``frozen: true``; its taps are memoised per image,
  ``models.ssgn.fusion.FrozenFeatureMemo``, so training is CPU-cheap) and shared by sketches and photos, as the paper
  applies one ImageNet CNN to both; or a ``small_cnn`` trained from scratch (``frozen: false``: the photo
  classification term ``CE(W f, y)`` then trains the photo features, and the regression target is detached).
* Class semantics ``s_y`` (``semantics``): the world's attributes, MiniLM of class names or descriptions, or a
  user's ``npz:PATH`` (``tasks/class_semantics.py``, ``class_aliases`` to look a class up under another name); one
  unit row per class of the label space (``class_names``), which the training data says (its ``class_names``: a
  ``folder:`` of class sub-folders, the benchmark loaders, the world; never guessed).
* Semantics at query time: the test sketch's class is unknown, so its semantics are inferred from the sketch: a
  head ``R(h)`` is trained (``sem`` term) to pick the sketch's class among the seen classes by cosine to their
  semantics, and at test the stage-1 input is ``softmax(cos(R(h), S_q) / tau) S_q`` over the **candidate classes**
  ``query_classes`` (the unseen classes in the zero-shot setting, every class in the generalised one; the standard
  zero-shot assumption that the unseen classes' names are known). ``semantic_query: regress`` feeds ``R(h)``
  itself, ``nearest`` the semantics of the best candidate. Candidates may be any names the semantics can embed
  (``tasks/ssgn_queries.py``: sketch search ranks against the classes an index holds, ``semspace classify``).
* Generalised setting: when the candidates include seen classes, their cosines are lowered by ``gamma`` before the
  softmax (calibrated stacking, Chao et al. 2016), gamma chosen in training on seen classes held out as
  pseudo-unseen by a shadow class-inference path (``tasks/ssgn_calibration.py``); ``seen_bias`` overrides it.
* Not a CVAE: the decoder is a deterministic conditional generator with training noise (``models/ssgn/decoder.py``
  says why); ``method: cvae`` is Yelamarthi et al. 2018's CVAE (KL + regression, conditioned on the sketch only).

``method`` selects the baselines of the benchmark on the same inputs: ``ssgn``; ``single_stage`` (one decoder
``G([s; h; z])``); ``cvae``; ``direct`` (a shared embedding: sketch and photo projections trained with a
class-aware InfoNCE, no generation). Ablations are flags: ``fusion_layers: [-1]`` (no fusion), ``cls_weight: 0``,
``reg_weight: 0`` (and ``coarse_weight: 0``). The task has the ``generate_query`` capability; ``embed(sketch)``
returns the generated photo feature, so an index of photos answers ``semspace search --sketch``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from semspace.data.domains import DomainSpec, InputKind
from semspace.errors import ConfigError, DataError
from semspace.losses.distributed import all_reduce_sum, world_size
from semspace.losses.ssgn import (
    FeatureRegressionLoss,
    GaussianKlLoss,
    LabelInfoNceLoss,
    PrototypeClassificationLoss,
)
from semspace.models import create_model
from semspace.models.ssgn import (
    MEMOS,
    CoarseToFineDecoder,
    CvaeDecoder,
    FrozenFeatureMemo,
    MultiLayerFusion,
    SingleStageDecoder,
    backbone_taps,
    tap_widths,
)
from semspace.tasks.base import Task, TaskCfg
from semspace.tasks.class_semantics import class_semantics
from semspace.tasks.registry import TASKS
from semspace.tasks.ssgn_calibration import GATE_DIMS, SsgnCalibration, validation_classes
from semspace.tasks.ssgn_queries import SsgnQueries
from semspace.types import IMAGE, INDEX, LABEL, SKETCH

log = logging.getLogger(__name__)

METHODS = ("ssgn", "single_stage", "cvae", "direct")
SEMANTIC_QUERIES = ("soft", "nearest", "regress")


@dataclass
class SsgnCfg(TaskCfg):
    method: str = "ssgn"  # ssgn | single_stage | cvae | direct (module docstring)
    sketch_domain: str = "sketch"  # name of the sketch domain (kind sketch)
    photo_domain: str = "photo"  # name of the photo domain (kind image)
    backbone: str | dict[str, Any] = "efficientnet_lite0"  # image encoder preset of sketches and photos
    backbone_args: dict[str, Any] = field(default_factory=dict)  # preset overrides (embed_dim is forced to 0)
    frozen: bool = True  # frozen backbone (taps memoised); false: trained with the losses
    pooling: str = "avgmax"  # how each tap is pooled: avg | max | avgmax
    fusion: str = "concat"  # concat | sum
    fusion_layers: list[int] = field(default_factory=lambda: [-4, -3, -2, -1])  # taps fused; [-1]: no fusion
    fusion_dim: int = 256  # width each tap is projected to
    sketch_dim: int = 512  # width H of the fused sketch feature
    standardize_photos: bool = True  # photo features minus running mean, over running std
    photo_head_dim: int = 512  # a trained linear+LN head on the photo features (0: the raw features are the space)
    semantics: str = "attributes"  # attributes | minilm_names | minilm_descriptions | npz:PATH
    class_names: list[str] = field(default_factory=list)  # the label space (label = position); from the data
    class_aliases: dict[str, str] = field(default_factory=dict)  # class -> name to look its semantics up under
    query_classes: list[str] = field(default_factory=list)  # candidates at query time (default: the unseen ones)
    semantic_table: list[list[float]] = field(default_factory=list)  # (C, S) filled by resolve_cfg
    semantic_query: str = "soft"  # soft | nearest | regress
    query_temperature: float = 0.05  # tau of the semantic head
    hidden: int = 512  # hidden width of the decoder MLPs and heads
    noise_dim: int = 16  # decoder noise width (0: none)
    noise_std: float = 1.0  # decoder training noise std
    dropout: float = 0.1  # dropout inside the fusion and the decoder
    reg_weight: float = 1.0  # regression of the generated (stage-2) feature to the real photo feature
    coarse_weight: float = 0.0  # regression of the stage-1 feature to the real photo feature (measured worse)
    coarse_cls_weight: float = 1.0  # classification of the stage-1 feature by W: keeps it category level
    cls_weight: float = 1.0  # classification of generated features by W (the SSGN classification loss)
    photo_cls_weight: float = 1.0  # classification of real photo features: trains W and the photo head
    cls_scale: float = 16.0  # cosine classifier scale (0: a linear classifier)
    sem_weight: float = 1.0  # the semantic head's loss
    kl_weight: float = 0.1  # cvae: KL weight
    latent_dim: int = 64  # cvae: width of z
    embed_dim: int = 256  # direct: shared embedding width
    temperature: float = 0.1  # direct: InfoNCE temperature
    check_sketches: bool = True  # embed: refuse blank sketches and photos given as sketches (inversion is always on)
    calibrate: bool = True  # calibrated stacking of seen-class scores, gamma chosen on pseudo-unseen classes
    calib_fraction: float = 0.25  # share of the seen classes held out of the shadow as pseudo-unseen
    calib_holdout: float = 0.2  # share of the other seen classes' items held out of the shadow (pseudo-seen test)
    calib_decay: float = 0.99  # per-step decay of the counts gamma is chosen on (~ the last 100 steps)
    calib_classes: list[str] = field(default_factory=list)  # the pseudo-unseen classes (filled at build)
    seen_bias: float | None = None  # gamma override (None: the calibrated one; 0: uncalibrated)
    gallery_bias: float | None = None  # the gallery gate's lambda (None: gamma; 0: no gate)


@TASKS.register("ssgn")
class SsgnTask(SsgnQueries, SsgnCalibration, Task):
    """SSGN and its baselines (module docstring)."""

    Cfg = SsgnCfg
    name = "ssgn"
    title = "zero-shot sketch retrieval (SSGN)"
    find_unused_parameters = True
    semantics: torch.Tensor  # (C, S) unit rows of the label space (buffers, typed for mypy)
    query_table: torch.Tensor  # (Q, S) semantics of the candidate classes of queries
    seen_ids: torch.Tensor  # (C_seen,) training classes
    to_seen: torch.Tensor  # (C,) label -> position among the seen classes (-1: a query class)
    photo_mean: torch.Tensor  # (F,) running mean of the raw photo features
    photo_var: torch.Tensor  # (F,) running variance
    photo_count: torch.Tensor  # () batches seen by the running statistics

    def __init__(self, cfg: SsgnCfg) -> None:
        super().__init__(cfg)
        c = cfg
        if c.method not in METHODS:
            raise ConfigError(f"ssgn: method {c.method!r}; expected one of {METHODS}")
        if c.semantic_query not in SEMANTIC_QUERIES:
            raise ConfigError(f"ssgn: semantic_query {c.semantic_query!r}; expected one of {SEMANTIC_QUERIES}")
        if c.sketch_domain == c.photo_domain:
            raise ConfigError(f"ssgn: sketch_domain and photo_domain are both {c.sketch_domain!r}")
        if len(c.class_names) < 2 or len(c.semantic_table) != len(c.class_names):
            raise ConfigError(
                f"ssgn: {len(c.class_names)} class names and {len(c.semantic_table)} semantic rows; train on a "
                "labelled sketch/photo dataset (resolve_cfg fills both) or set task_args.class_names"
            )
        unknown = [n for n in c.query_classes if n not in c.class_names]
        if unknown:
            raise DataError(f"ssgn: query_classes {unknown[:10]} are not in the label space ({len(c.class_names)})")
        if len(set(c.class_names)) != len(c.class_names):
            raise DataError(f"ssgn: class_names repeat a name ({len(c.class_names)} names, "
                            f"{len(set(c.class_names))} distinct)")  # fmt: skip
        enc: Any = create_model(c.backbone, **{**c.backbone_args, "embed_dim": 0})
        self.backbone = enc
        pre = enc.preprocess_cfg
        widths = tap_widths(enc, min(pre.size, 64), pre.channels, "avgmax")  # (L,) widths of the avgmax taps
        self._all_widths = widths
        n = len(widths)
        layers = [i % n for i in c.fusion_layers]
        if not layers or len(set(layers)) != len(layers) or any(not -n <= i < n for i in c.fusion_layers):
            raise ConfigError(f"ssgn: fusion_layers {c.fusion_layers} must be distinct indices into {n} taps")
        self._layers = layers
        half = c.pooling != "avgmax"
        in_dims = [widths[i] // 2 if half else widths[i] for i in layers]
        self.raw_photo_dim = widths[-1] // 2  # the last tap, average-pooled (EfficientNet: 1280)
        self.photo_dim = c.photo_head_dim or self.raw_photo_dim
        self.photo_head: nn.Module = (
            nn.Sequential(nn.Linear(self.raw_photo_dim, c.photo_head_dim), nn.LayerNorm(c.photo_head_dim))
            if c.photo_head_dim
            else nn.Identity()
        )
        self.fusion = MultiLayerFusion(in_dims, c.sketch_dim, proj_dim=c.fusion_dim, mode=c.fusion, dropout=c.dropout)
        table = torch.tensor(c.semantic_table, dtype=torch.float32)  # (C, S)
        self.register_buffer("semantics", table, persistent=False)
        query = c.query_classes or list(c.class_names)
        self._row_cache: dict[tuple[str, ...], torch.Tensor] = {}
        self.register_buffer("query_table", table[[c.class_names.index(q) for q in query]], persistent=False)
        seen = [i for i, n in enumerate(c.class_names) if n not in set(c.query_classes)] or list(range(len(table)))
        self._seen_names = {c.class_names[i] for i in seen}
        self.register_buffer("query_seen", self.seen_flags(query), persistent=False)  # (Q,) seen candidates
        self.register_buffer("seen_ids", torch.tensor(seen), persistent=False)
        to_seen = torch.full((len(table),), -1, dtype=torch.long)
        to_seen[torch.tensor(seen)] = torch.arange(len(seen))
        self.register_buffer("to_seen", to_seen, persistent=False)
        self.register_buffer("photo_mean", torch.zeros(self.raw_photo_dim))
        self.register_buffer("photo_var", torch.ones(self.raw_photo_dim))
        self.register_buffer("photo_count", torch.zeros((), dtype=torch.long))
        s_dim, p_dim, h_dim = table.shape[1], self.photo_dim, c.sketch_dim
        self.sem_head = self._sem_head(h_dim, s_dim)
        self._build_calibration(
            [c.class_names[i] for i in seen],
            lambda: MultiLayerFusion(in_dims, c.sketch_dim, proj_dim=c.fusion_dim, mode=c.fusion, dropout=c.dropout),
            lambda: self._sem_head(h_dim, s_dim),
        )
        dec_args: dict[str, Any] = {"semantic_dim": s_dim, "sketch_dim": h_dim, "out_dim": p_dim, "hidden": c.hidden,
                    "noise_dim": c.noise_dim, "noise_std": c.noise_std, "dropout": c.dropout}  # fmt: skip
        self.decoder: nn.Module | None = None
        if c.method == "ssgn":
            self.decoder = CoarseToFineDecoder(**dec_args)
        elif c.method == "single_stage":
            self.decoder = SingleStageDecoder(**dec_args)
        elif c.method == "cvae":
            self.decoder = CvaeDecoder(sketch_dim=h_dim, out_dim=p_dim, hidden=c.hidden, latent_dim=c.latent_dim,
                                       dropout=c.dropout)  # fmt: skip
        if c.method == "direct":
            self.sketch_proj: nn.Module = nn.Linear(h_dim, c.embed_dim)
            self.photo_proj: nn.Module = nn.Sequential(
                nn.Linear(p_dim, c.hidden), nn.ReLU(), nn.Linear(c.hidden, c.embed_dim)
            )
        self.classifier = PrototypeClassificationLoss(p_dim, len(seen), scale=c.cls_scale)
        self.regression, self.kl = FeatureRegressionLoss(), GaussianKlLoss()
        self.infonce = LabelInfoNceLoss(c.temperature)
        out_dim = c.embed_dim if c.method == "direct" else p_dim + (GATE_DIMS if self.calibrated else 0)
        self._specs = {
            c.sketch_domain: DomainSpec(c.sketch_domain, InputKind.SKETCH, out_dim, preprocess=pre),
            c.photo_domain: DomainSpec(c.photo_domain, InputKind.IMAGE, out_dim, preprocess=pre),
        }
        self._memo: FrozenFeatureMemo | None = None
        if c.frozen:
            self.freeze("backbone")

    def _sem_head(self, h_dim: int, s_dim: int) -> nn.Module:
        return nn.Sequential(nn.Linear(h_dim, self.cfg.hidden), nn.ReLU(), nn.Linear(self.cfg.hidden, s_dim))

    # ---- configuration ----------------------------------------------------------------------------
    @classmethod
    def resolve_cfg(cls, cfg: SsgnCfg, dataset: Any | None = None) -> SsgnCfg:
        """Fills the label space (``class_names``), the default candidate classes of queries (``query_classes``)
        and the semantic table of ``semantics``, asking the training data: its ``class_names`` (label = position)
        and ``unseen_classes`` (none: every class is seen, and the candidates are given at query time). Without
        data (a task built from ``task_args`` alone) they are the world's 68 categories and 17 unseen classes.

        Raises:
            ConfigError: the data does not say its class names (set ``task_args.class_names``).
            DataError: a class without side information in ``semantics`` (named, with what to do).
        """
        if not cfg.class_names:
            if dataset is None:
                from semspace.world.objects.catalog import CATEGORIES

                cfg.class_names = list(CATEGORIES)
            else:
                names = getattr(dataset, "class_names", None)
                if not names:
                    raise ConfigError(
                        f"ssgn: the training data ({type(dataset).__name__}) does not say its class names (no "
                        "class_names; a folder needs one sub-folder per class); set task_args.class_names, the "
                        "label space in label order"
                    )
                cfg.class_names = [str(n) for n in names]
        if not cfg.query_classes:
            if dataset is None:
                from semspace.world.objects.splits import UNSEEN_CLASSES

                cfg.query_classes = [u for u in UNSEEN_CLASSES if u in cfg.class_names]
            else:
                cfg.query_classes = [str(n) for n in (getattr(dataset, "unseen_classes", None) or [])]
        if not cfg.semantic_table:  # a fresh cfg (a checkpoint's has its table): the calibration's validation classes
            seen = [n for n in cfg.class_names if n not in set(cfg.query_classes)]
            if cfg.calibrate and cfg.method in ("ssgn", "single_stage") and not cfg.calib_classes:
                cfg.calib_classes = validation_classes(seen, cfg.calib_fraction)
            cfg.semantic_table = class_semantics(cfg.semantics, cfg.class_names, cfg.class_aliases).tolist()
        return cfg

    def backbone_prefixes(self) -> tuple[str, ...]:
        return ("backbone.",)

    # ---- features ---------------------------------------------------------------------------------
    def _taps(self, x: torch.Tensor) -> torch.Tensor:
        """All avgmax taps of the backbone concatenated, ``(B, sum 2 C_l)`` (memoised when frozen); a ``(B, T)``
        input of that width is taken as precomputed taps (``precompute_taps``; the benchmark trains on them)."""
        if x.ndim == 2 and x.shape[1] == sum(self._all_widths):
            return x
        fn = lambda v: torch.cat(backbone_taps(self.backbone, v, "avgmax"), dim=1)  # noqa: E731
        if not self.cfg.frozen:
            return fn(x)
        if self._memo is None:  # keyed by the backbone's cfg and weights (read at first use: after a load)
            weights = sum(float(p.detach().double().abs().sum()) for p in self.backbone.parameters())
            key = json.dumps(self.backbone.to_config(), sort_keys=True, default=str) + f"|{weights:.10e}"
            self._memo = MEMOS.setdefault(key, FrozenFeatureMemo())
        return self._memo(x, fn)

    @torch.no_grad()
    def precompute_taps(self, images: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
        """``(N, C, H, W)`` images -> their taps ``(N, T)``, which every method reads like the images."""
        was = self.training
        self.eval()
        try:
            return torch.cat([self._taps(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])
        finally:
            self.train(was)

    def _split(self, taps: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(taps, self._all_widths, dim=1))  # L x (B, 2 C_l)

    def _chosen_taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The pooled taps the fusion reads, ``L x (B, C_l)``."""
        parts = self._split(self._taps(x))
        chosen = []
        for i in self._layers:
            t = parts[i]  # (B, 2C): avg then max
            half = t.shape[1] // 2
            chosen.append({"avg": t[:, :half], "max": t[:, half:], "avgmax": t}[self.cfg.pooling])
        return chosen

    def sketch_feature(self, x: torch.Tensor) -> torch.Tensor:
        """The fused sketch feature ``h`` ``(B, H)``."""
        return self.fusion(self._chosen_taps(x))  # (B, H)

    def photo_feature(self, x: torch.Tensor) -> torch.Tensor:
        """The real photo feature ``f`` ``(B, P)``: the last tap average-pooled, standardised, through the photo
        head (``photo_head_dim``; trained by the classification of real photos, the target of the regression)."""
        last = self._split(self._taps(x))[-1]
        f = last[:, : last.shape[1] // 2]  # (B, F) average pooling
        if self.cfg.standardize_photos:
            if self.training:
                self._update_stats(f.detach())
            f = (f - self.photo_mean) / (self.photo_var + 1e-5).sqrt()  # (B, F)
        return self.photo_head(f)  # (B, P)

    @torch.no_grad()
    def _update_stats(self, f: torch.Tensor) -> None:
        """Moves the running statistics towards the batch's ``f (B, F)``: under DDP the global batch's (the ranks'
        means and variances averaged; equal per-rank batches), so every rank standardises alike, as one process."""
        n, w = int(self.photo_count), world_size()
        m = max(1.0 / (n + 1), 0.01)  # cumulative average first, then an EMA (a trainable backbone moves)
        mean = all_reduce_sum(f.mean(0)) / w  # (F,)
        var = all_reduce_sum((f - mean).pow(2).mean(0)) / w if len(f) * w > 1 else self.photo_var  # (F,)
        self.photo_mean.mul_(1 - m).add_(mean, alpha=m)
        self.photo_var.mul_(1 - m).add_(var, alpha=m)
        self.photo_count.add_(1)

    def generate(self, x: torch.Tensor, cand: torch.Tensor | None = None,
                 cand_seen: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """Generated photo features ``(B, P)`` of sketches (not normalised), semantics among ``cand (Q, S)``
        (default: ``query_table``; ``cand_seen (Q,)`` the seen ones); ``direct``: the sketch embedding."""
        return self.generate_gated(x, cand, cand_seen)[0]

    def generate_gated(self, x: torch.Tensor, cand: torch.Tensor | None = None,
                       cand_seen: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """``generate`` and the posterior mass ``u (B,)`` of the unseen candidates (``infer_semantics``)."""
        h = self.sketch_feature(x)
        if self.cfg.method == "direct":
            return self.sketch_proj(h), h.new_zeros(len(h))
        assert self.decoder is not None
        if self.cfg.method == "cvae":
            return self.decoder(h)["fine"], h.new_zeros(len(h))
        s, u = self.infer_semantics(h, cand, cand_seen)  # (B, S), (B,)
        return self.decoder(s, h)["fine"], u

    # ---- training ---------------------------------------------------------------------------------
    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        c = self.cfg
        xs, xp, y = batch[SKETCH], batch[IMAGE], batch[LABEL].long()
        xs = self._pictures(xs, check=False)  # dark-background drawings inverted, as queries are
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(c.class_names)):
            raise DataError(f"ssgn: labels span {int(y.min())}..{int(y.max())}; the label space has "
                            f"{len(c.class_names)} classes")  # fmt: skip
        ys = self.to_seen[y]  # (B,) position among the seen classes
        if bool((ys < 0).any()):
            bad = sorted({c.class_names[i] for i in y[ys < 0].tolist()})
            raise DataError(f"ssgn: training batch holds query (unseen) classes {bad[:10]}; train on seen classes")
        chosen = self._chosen_taps(xs)  # L x (B, C_l)
        h = self.fusion(chosen)  # (B, H)
        f = self.photo_feature(xp)  # (B, P)
        target = f.detach()
        out: dict[str, torch.Tensor] = {}
        loss = h.new_zeros(())
        if c.method == "direct":
            out["loss_nce"] = self.infonce(self.sketch_proj(h), self.photo_proj(f), y, y)
            out["loss"] = out["loss_nce"]
            return out
        assert self.decoder is not None
        if c.method == "cvae":
            gen = self.decoder(h, target)
            out["loss_kl"] = self.kl(gen["mu"], gen["logvar"])
            loss = loss + c.kl_weight * out["loss_kl"]
        else:
            s = self.semantics[y]  # (B, S) teacher forcing: the true class semantics in training
            gen = self.decoder(s, h)
            sims = F.normalize(self.sem_head(h), dim=-1) @ self.semantics[self.seen_ids].T  # (B, C_seen)
            out["loss_sem"] = F.cross_entropy(sims / c.query_temperature, ys)
            loss = loss + c.sem_weight * out["loss_sem"]
            if self.calibrated:  # the shadow semantic head on the pseudo-seen classes (tasks/ssgn_calibration.py)
                out["loss_calib"] = self._calibration_step(chosen, ys, batch.get(INDEX), xs)
                loss = loss + c.sem_weight * out["loss_calib"]
            if "coarse" in gen and c.coarse_weight > 0:
                out["loss_coarse"] = self.regression(gen["coarse"], target)
                loss = loss + c.coarse_weight * out["loss_coarse"]
            if "coarse" in gen and c.coarse_cls_weight > 0:  # category level: the stage-1 feature names its class
                out["loss_coarse_cls"] = self.classifier(gen["coarse"], ys)
                loss = loss + c.coarse_cls_weight * out["loss_coarse_cls"]
        out["loss_reg"] = self.regression(gen["fine"], target)
        loss = loss + c.reg_weight * out["loss_reg"]
        if c.photo_cls_weight > 0:  # trains W and the photo space (head, a trainable backbone)
            out["loss_cls_real"] = self.classifier(f, ys)
            loss = loss + c.photo_cls_weight * out["loss_cls_real"]
        if c.cls_weight > 0 and c.method != "cvae":  # Yelamarthi's CVAE has no classification term
            out["loss_cls"] = self.classifier(gen["fine"], ys)
            loss = loss + c.cls_weight * out["loss_cls"]
        out["loss"] = loss
        return out

    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        out = {}
        if SKETCH in batch:
            out[self.cfg.sketch_domain] = self.embed(self.cfg.sketch_domain, batch[SKETCH])
        if IMAGE in batch:
            out[self.cfg.photo_domain] = self.embed(self.cfg.photo_domain, batch[IMAGE])
        return out

    # ---- using the trained task -------------------------------------------------------------------
    def domains(self) -> dict[str, DomainSpec]:
        return dict(self._specs)

    def embed(self, domain: str, inputs: Any) -> torch.Tensor:
        """Unit-norm ``(B, D)``: a sketch's generated photo feature, or a photo's real one (the shared space); a
        calibrated run appends the gallery gate's two dimensions (``tasks/ssgn_calibration.py``)."""
        self.domain(domain)
        if domain == self.cfg.sketch_domain:  # pictures: inverted ones flipped, blank / photo refused (check_sketches)
            g, u = self.generate_gated(self._pictures(inputs, self.cfg.check_sketches))
            return self.gate_query(F.normalize(g, dim=-1), u)
        f = self.photo_feature(inputs)
        if self.cfg.method == "direct":
            return F.normalize(self.photo_proj(f), dim=-1)
        return self.gate_photo(F.normalize(f, dim=-1), f)

    def generate_query(self, domain: str, inputs: Any) -> torch.Tensor:
        """The ``generate_query`` capability: generated photo features of sketches, unit norm ``(B, P)``."""
        if domain != self.cfg.sketch_domain:
            raise ConfigError(f"ssgn generates queries from domain {self.cfg.sketch_domain!r}, not {domain!r}")
        return self.embed(domain, inputs)
