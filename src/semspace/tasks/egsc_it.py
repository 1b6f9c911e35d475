"""Tasks ``egsc_it_mask_ae`` (stage 1) and ``egsc_it`` (stage 2): exemplar-guided image-to-image translation.

Ma, Jia, Georgoulis, Tuytelaars, Van Gool, "Exemplar Guided Unsupervised Image-to-Image Translation with Semantic
Consistency" (EGSC-IT), ICLR 2019, arXiv:1805.11145. Followed part by part from the authors' TF code as recorded in
``papers/egsc_it.md`` (charliememory/EGSC-IT @ 57874f2); every deviation is named here and in ``docs/egsc_it.md``.

**Stage 1, ``egsc_it_mask_ae``** (the code's ``model=0``, ``UNIT_VAEGAN_recon``, ``run_train_feaMask.sh``): one
reconstruction auto-encoder per domain (``mask_ae.a``, ``mask_ae.b``: E -> shared enc -> shared gen -> G), trained
as a VAE-GAN, per domain ``10 L_GAN^LS(D(x_rec)) + 100 L1(x_rec, x) + 0.1 KL(mu)``, one generator step per
discriminator step (``G_update 1``).

**Stage 2, ``egsc_it``** (``UNIT_MultiEncSpecificBranchFromImg_Cycle_ChangeRes_FeaMask_VggStyleContentLoss``): the
run config's ``init: [{checkpoint: <stage 1>/model.pt, module: mask_ae}]`` loads the stage-1 auto-encoders, frozen
(``engine/stages.py``). For source x_a and exemplar x_b (and symmetrically)::

    f_a = mask_ae.a.features(x_a)                       # frozen; mask of the source, statistics of an exemplar
    h_a = S_G(S_E(E_A(x_a)) + N(0, 1))                  # shared fixed-variance latent (UNIT)
    x_ab = G_B(AdaIN_{f_b}(mask(f_a) * h_a))            # content of x_a, style of exemplar x_b
    x_aa = G_A(AdaIN_{f_a}(mask(f_a) * h_a))            # within-domain reconstruction
    x_aba = G_A(AdaIN_{f_a}(mask(f_a) * S_G(S_E(E_B(x_ab)) + N)))   # cycle: A's mask and A's statistics

Generator loss, per domain: ``w_gan L_GAN^LS(D_B(x_ab)) + w_recon L1(x_aa, x_a) + w_cycle L1(x_aba, x_a) +
w_kl (KL(mu_a) + KL(mu_ab)) + w_content L_content(x_a, x_ab) + w_style L_style(x_ab, x_b)``; discriminator loss
``w_gan 1/2 [(D(real) - 1)^2 + D(fake)^2]``; five generator steps per discriminator step (``step_every``). Default
weights are the code's (10, 100, 100, 0.1) with the perceptual weights of an experiment preset (``PRESETS``).

Deviations (``docs/egsc_it.md``): EfficientNet-Lite0 features in place of VGG-19 for the perceptual terms
(``models/egsc_it/perceptual.py``). The code's poly decay ``lr (1 - step / total)^0.9`` is the engine's
``train.scheduler: poly``, which the shipped configs use; AdaIN in both forms (``adain: code | textbook``), the
default ``textbook`` picked by measurement in ``benchmarks/egsc_it.py`` (three seeds: ahead of the authors' ``code``
form on the world pairs on every score, level on the digits' SSIM; ``docs/egsc_it.md``); ``adain: signed`` (ours: skew
signs matched, so the digit lands on the exemplar's foreground side) is the digits configs' default. Ablations are
config: ``adain: no_exemplar`` (UNIT-like, the style from the domain only), ``use_mask: false``, perceptual
weights 0. The MUNIT-style peer is ``adain: munit`` with ``use_mask: false``: a trained style encoder and MLP per
domain map the exemplar to AdaIN's (scale, bias) in the textbook form (``models/egsc_it/munit_style.py``), no stage 1.

Both tasks embed domains ``a`` and ``b`` (the mean-pooled shared latent mu, unit norm), so an index can be built
for the service, and record running colour statistics of each domain's training images, with which
``guess_domain`` tells a user that a picture looks like the other domain (``semspace translate``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from semspace.config import TrainCfg
from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError
from semspace.losses.distributed import all_reduce_sum
from semspace.losses.translation import (
    LatentKlLoss,
    LsganDiscriminatorLoss,
    LsganGeneratorLoss,
    PerceptualContentLoss,
    PerceptualStyleLoss,
)
from semspace.models.egsc_it import (
    ADAIN_FORMS,
    DomainDecoder,
    DomainEncoder,
    FeatureMaskAutoEncoder,
    MunitStylePath,
    PatchDiscriminator,
    PerceptualFeatures,
    SharedLatent,
    style_stats,
)
from semspace.tasks.base import Task, TaskCfg, batch_value, param_groups
from semspace.tasks.registry import TASKS
from semspace.types import EXEMPLAR, IMAGE

log = logging.getLogger(__name__)

DIRECTIONS = ("a2b", "b2a")
WEIGHT_KEYS = ("gan", "recon", "cycle", "kl", "style", "content")
# The authors' loss weights per experiment (run_train_EGSCIT.sh; papers/egsc_it.md): GAN 10, L1 reconstruction and
# cycle 100, KL 0.1 everywhere; lambda_s (style) and lambda_c (content) per experiment. Train settings per preset
# (resolution, batch size, lr, n_enc) are in docs/egsc_it.md; they belong to the run config's train section.
_BASE = {"gan": 10.0, "recon": 100.0, "cycle": 100.0, "kl": 0.1}
PRESETS: dict[str, dict[str, float]] = {
    "mnist_single": {**_BASE, "style": 1e3, "content": 1e1},  # 28x28, bs 8, lr 1e-5, n_enc 1
    "mnist_multiple": {**_BASE, "style": 1e4, "content": 1e2},  # 112x112, bs 8, lr 1e-5, n_enc 3
    "gta2city": {**_BASE, "style": 1e3, "content": 5e2},  # 256x512, bs 3, lr 1e-4, n_enc 3
    "gta2bdd": {**_BASE, "style": 1e4, "content": 1e2},  # 256x512, bs 3, lr 1e-4, n_enc 3
    "celeba": {**_BASE, "style": 5e3, "content": 1e1},  # 128x128, bs 8, lr 1e-4, n_enc 3
}
ADAIN_CHOICES = (*ADAIN_FORMS, "no_exemplar", "munit")
MASK_AE_WEIGHTS = {"gan": 10.0, "recon": 100.0, "kl": 0.1}  # UNIT_VAEGAN_recon (run_train_feaMask.sh)
N_STATS = 7  # colour statistics per image: channel means (3), channel stds (3), mean chroma (1)
UNLIKE_BOTH = 3.0  # guess_domain: a picture further than this from both domains (mean squared z) is like neither


@dataclass
class EgscArchCfg(TaskCfg):
    domain_a: str = "a"  # name of the content-side domain A
    domain_b: str = "b"  # name of the styled domain B
    size: int = 64  # image side (square) the networks are trained at
    channels: int = 64  # width of the first encoder conv (authors: 64)
    n_down: int = 0  # stride-2 convs in each encoder (n_enc - 1: 0 for MNIST, 2 otherwise)
    n_res: int = 3  # res-blocks in each encoder and decoder (authors: 3)
    disc_channels: int = 64  # width of the first discriminator conv (authors: 64)
    disc_layers: int = 4  # 4x4/2 convs of the PatchGAN (authors: 4)
    a_key: str = IMAGE  # batch key of the domain-A images (dotted for a data.extra stream, e.g. "a.image")
    b_key: str = EXEMPLAR  # batch key of the domain-B images (world_pairs: the exemplar; folders: "b.image")


@dataclass
class EgscMaskAeCfg(EgscArchCfg):
    weights: dict[str, float] = field(default_factory=dict)  # overrides of MASK_AE_WEIGHTS (gan, recon, kl)


@dataclass
class EgscItCfg(EgscArchCfg):
    preset: str = "mnist_single"  # authors' loss weights of one experiment (PRESETS)
    weights: dict[str, float] = field(
        default_factory=dict
    )  # overrides of the preset (gan recon cycle kl style content)
    adain: str = "textbook"  # textbook (/ std) | signed (skew signs matched) | code (authors') | no_exemplar | munit
    style_dim: int = 8  # adain: munit only: the style code's width (MUNIT: 8)
    use_mask: bool = True  # feature masks from the frozen stage-1 encoder (false: the no-mask ablation)
    perceptual: str = "efficientnet_lite0"  # feature net of the perceptual terms: efficientnet_lite0 | random_cnn
    d_every: int = 5  # generator steps per discriminator step (authors: 5)


class _EgscBase(Task):
    """What both stages share: the domains, the batch keys, the colour statistics, the embedding."""

    find_unused_parameters: ClassVar[bool] = True
    stat_n: torch.Tensor
    stat_sum: torch.Tensor
    stat_sq: torch.Tensor
    mask_ae: Any  # nn.ModuleDict {"a", "b"} of FeatureMaskAutoEncoder
    disc: Any  # nn.ModuleDict {"a", "b"} of PatchDiscriminator

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        if cfg.domain_a == cfg.domain_b:
            raise ConfigError(f"{self.name}: domain_a and domain_b must differ, both are {cfg.domain_a!r}")
        if cfg.size < 8 or cfg.channels < 1 or cfg.n_down < 0 or cfg.n_res < 0 or cfg.disc_layers < 1:
            raise ConfigError(f"{self.name}: size >= 8, channels >= 1, n_down >= 0, n_res >= 0, disc_layers >= 1")
        self.register_buffer("stat_n", torch.zeros(2))  # images seen per domain (a, b)
        self.register_buffer("stat_sum", torch.zeros(2, N_STATS))
        self.register_buffer("stat_sq", torch.zeros(2, N_STATS))
        self.disc = nn.ModuleDict({d: PatchDiscriminator(channels=cfg.disc_channels, n_layers=cfg.disc_layers)
                                   for d in ("a", "b")})  # fmt: skip
        self.mask_ae = nn.ModuleDict({d: FeatureMaskAutoEncoder(channels=cfg.channels, n_down=cfg.n_down,
                                                                n_res=cfg.n_res) for d in ("a", "b")})  # fmt: skip
        self.gan_g, self.gan_d, self.kl = LsganGeneratorLoss(), LsganDiscriminatorLoss(), LatentKlLoss()

    # ---- domains -----------------------------------------------------------------------------------
    def image_preprocess(self) -> PreprocessCfg:
        """Both domains: RGB at ``size``, scaled to [-1, 1] (the decoders' tanh range)."""
        return PreprocessCfg(size=self.cfg.size, channels=3, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))

    def latent_width(self) -> int:
        return int(self.cfg.channels * 2**self.cfg.n_down)

    def domains(self) -> dict[str, DomainSpec]:
        pre = self.image_preprocess()
        return {name: DomainSpec(name=name, kind=InputKind.IMAGE, embed_dim=self.latent_width(), preprocess=pre)
                for name in (self.cfg.domain_a, self.cfg.domain_b)}  # fmt: skip

    def side(self, domain: str) -> str:
        """``"a"`` or ``"b"`` for a domain name of this task."""
        self.domain(domain)
        return "a" if domain == self.cfg.domain_a else "b"

    def embed(self, domain: str, inputs: Any) -> torch.Tensor:
        mu = self.content_code(inputs, self.side(domain))  # (B, C', H', W')
        return F.normalize(mu.mean(dim=(2, 3)), dim=1)  # (B, C')

    def content_code(self, x: torch.Tensor, side: str) -> torch.Tensor:
        ae = self.mask_ae[side]
        return ae.latent.encode(ae.features(x))

    # ---- batches and statistics --------------------------------------------------------------------
    def images(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x_a, x_b)`` from the batch keys of the config (unpaired: different contents)."""
        hint = "task_args.a_key / b_key"
        return (batch_value(batch, self.cfg.a_key, task=self.name, hint=hint),
                batch_value(batch, self.cfg.b_key, task=self.name, hint=hint))  # fmt: skip

    @torch.no_grad()
    def record_stats(self, x: torch.Tensor, side: str) -> None:
        """Adds the colour statistics of ``x`` (under DDP: of every rank's images, so the ranks keep equal totals)."""
        s = colour_stats(x).double()  # (B, N_STATS)
        i = 0 if side == "a" else 1
        n, total, sq = all_reduce_sum(torch.cat([s.new_tensor([s.shape[0]]), s.sum(0), (s**2).sum(0)])).split(
            [1, N_STATS, N_STATS]
        )  # (1,), (N_STATS,), (N_STATS,) summed over the ranks
        self.stat_n[i] += n.to(self.stat_n.dtype).squeeze(0)
        self.stat_sum[i] += total.to(self.stat_sum.dtype)
        self.stat_sq[i] += sq.to(self.stat_sq.dtype)

    @torch.no_grad()
    def guess_domain(self, x: torch.Tensor) -> list[str | None]:
        """The domain each image ``x (B, 3, H, W)`` (in [-1, 1]) looks like by the colour statistics of the
        training images (z-scored distance to each domain's mean); None when the task has no statistics, or for a
        picture unlike both domains (``UNLIKE_BOTH``: e.g. another dataset's styled digit), which is no evidence
        that it belongs to the other one."""
        if bool((self.stat_n == 0).any()):
            return [None] * x.shape[0]
        n = self.stat_n[:, None]
        mean = self.stat_sum / n  # (2, N_STATS)
        std = (self.stat_sq / n - mean**2).clamp_min(0).sqrt()  # (2, N_STATS)
        s = colour_stats(x)  # (B, N_STATS)
        d = (((s[:, None, :] - mean[None]) / (std[None] + 0.05)) ** 2).mean(-1)  # (B, 2)
        names = (self.cfg.domain_a, self.cfg.domain_b)
        best, which = d.min(1)  # (B,), (B,)
        return [names[int(i)] if float(b) <= UNLIKE_BOTH else None for b, i in zip(best, which, strict=True)]

    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        x_a, x_b = self.images(batch)
        return {
            self.cfg.domain_a: self.embed(self.cfg.domain_a, x_a),
            self.cfg.domain_b: self.embed(self.cfg.domain_b, x_b),
        }


def colour_stats(x: torch.Tensor) -> torch.Tensor:
    """Per image of ``x (B, 3, H, W)`` in [-1, 1]: channel means, channel stds, mean chroma: ``(B, 7)``."""
    u = ((x.float() + 1) / 2).clamp(0, 1)  # (B, 3, H, W) in [0, 1]
    chroma = u.amax(1) - u.amin(1)  # (B, H, W)
    return torch.cat([u.mean((2, 3)), u.std((2, 3), unbiased=False), chroma.mean((1, 2))[:, None]], dim=1)


def _merge_weights(base: dict[str, float], overrides: dict[str, float], task: str) -> dict[str, float]:
    unknown = sorted(set(overrides) - set(base))
    if unknown:
        raise ConfigError(f"{task}: unknown loss weight(s) {unknown}; expected some of {sorted(base)}")
    return {k: float(overrides.get(k, v)) for k, v in base.items()}


@TASKS.register("egsc_it_mask_ae")
class EgscMaskAeTask(_EgscBase):
    """Stage 1: the per-domain feature-mask auto-encoders, trained as VAE-GANs (module docstring)."""

    Cfg = EgscMaskAeCfg
    name = "egsc_it_mask_ae"
    title = "EGSC-IT stage 1 (feature-mask auto-encoders)"

    @classmethod
    def resolve_cfg(cls, cfg: EgscMaskAeCfg, dataset: Any | None = None) -> EgscMaskAeCfg:
        cfg.weights = _merge_weights(MASK_AE_WEIGHTS, cfg.weights, cls.name)
        return cfg

    def optimizer_groups(self, train_cfg: TrainCfg) -> dict[str, list[dict[str, Any]]]:
        wd = train_cfg.weight_decay
        return {"discriminator": param_groups(self.disc, weight_decay=wd),
                "generator": param_groups(self.mask_ae, weight_decay=wd)}  # fmt: skip

    def training_forward(self, batch: dict[str, Any], group: str = "generator") -> dict[str, torch.Tensor]:
        w = self.cfg.weights
        xs = dict(zip(("a", "b"), self.images(batch), strict=True))
        out: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=xs["a"].device)
        for side, x in xs.items():
            if group == "discriminator":
                with torch.no_grad():
                    rec, _ = self.mask_ae[side](x)
                term = w["gan"] * self.gan_d(self.disc[side](x), self.disc[side](rec))
                out[f"d_{side}"] = term.detach()
            else:
                rec, mu = self.mask_ae[side](x)
                gan = self.gan_g(self.disc[side](rec))
                recon, kl = F.l1_loss(rec, x), self.kl(mu)
                term = w["gan"] * gan + w["recon"] * recon + w["kl"] * kl
                out.update({f"gan_{side}": gan.detach(), f"recon_{side}": recon.detach(), f"kl_{side}": kl.detach()})
                self.record_stats(x, side)
                self.mask_ae[side].trained_steps += 1
            total = total + term
        out["loss"] = total
        return out


@TASKS.register("egsc_it")
class EgscItTask(_EgscBase):
    """Stage 2: the exemplar-guided translator with frozen feature masks (module docstring); ``translate``."""

    Cfg = EgscItCfg
    name = "egsc_it"
    title = "exemplar-guided translation (EGSC-IT)"
    encoders: Any  # nn.ModuleDict {"a", "b"} of DomainEncoder
    decoders: Any  # nn.ModuleDict {"a", "b"} of DomainDecoder
    style_paths: Any  # nn.ModuleDict {"a", "b"} of MunitStylePath (adain: munit only)

    def __init__(self, cfg: EgscItCfg) -> None:
        super().__init__(cfg)
        if cfg.adain not in ADAIN_CHOICES:
            raise ConfigError(f"egsc_it: adain must be one of {list(ADAIN_CHOICES)}, got {cfg.adain!r}")
        if cfg.adain == "munit" and cfg.use_mask:
            raise ConfigError(
                "egsc_it: adain: munit is the MUNIT-style peer without feature masks; set use_mask: false"
            )
        if cfg.d_every < 1:
            raise ConfigError(f"egsc_it: d_every must be >= 1, got {cfg.d_every}")
        self.encoders = nn.ModuleDict({d: DomainEncoder(channels=cfg.channels, n_down=cfg.n_down, n_res=cfg.n_res)
                                       for d in ("a", "b")})  # fmt: skip
        self.shared = SharedLatent(self.latent_width())
        self.decoders = nn.ModuleDict({d: DomainDecoder(channels=cfg.channels, n_down=cfg.n_down, n_res=cfg.n_res)
                                       for d in ("a", "b")})  # fmt: skip
        if (
            cfg.adain == "munit"
        ):  # the MUNIT-style peer: a trained style code per domain (models/egsc_it/munit_style.py)
            width = self.latent_width()
            self.style_paths = nn.ModuleDict(
                {d: MunitStylePath(channels=cfg.channels, out_channels=width, style_dim=cfg.style_dim) for d in "ab"}
            )
        self.content_loss, self.style_loss = PerceptualContentLoss(), PerceptualStyleLoss()
        self.freeze("mask_ae")  # stage 1's auto-encoders, loaded by the run config's init (engine/stages.py)

    @classmethod
    def resolve_cfg(cls, cfg: EgscItCfg, dataset: Any | None = None) -> EgscItCfg:
        if cfg.preset not in PRESETS:
            raise ConfigError(f"egsc_it: unknown preset {cfg.preset!r}; expected one of {sorted(PRESETS)}")
        cfg.weights = _merge_weights(PRESETS[cfg.preset], cfg.weights, cls.name)
        return cfg

    def optimizer_groups(self, train_cfg: TrainCfg) -> dict[str, list[dict[str, Any]]]:
        wd = train_cfg.weight_decay
        gen = nn.ModuleList([self.encoders, self.shared, self.decoders])
        if self.cfg.adain == "munit":
            gen.append(self.style_paths)
        return {"discriminator": param_groups(self.disc, weight_decay=wd),
                "generator": param_groups(gen, weight_decay=wd)}  # fmt: skip

    def step_every(self) -> dict[str, int]:
        return {"discriminator": int(self.cfg.d_every)}

    # ---- the translator ------------------------------------------------------------------------------
    @property
    def uses_mask_ae(self) -> bool:
        return bool(self.cfg.use_mask) or self.cfg.adain not in ("no_exemplar", "munit")

    def check_stage_one(self) -> None:
        """Raises ``ConfigError`` when masks or statistics are used but the stage-1 auto-encoders were never
        trained (the run config lacks ``init: [{checkpoint: <stage-1 run>/model.pt, module: mask_ae}]``)."""
        if self.uses_mask_ae and any(int(ae.trained_steps) == 0 for ae in self.mask_ae.values()):
            raise ConfigError(
                "egsc_it: the feature-mask auto-encoders are untrained; train stage 1 (task egsc_it_mask_ae, "
                "configs/egsc_it/*_stage1.yaml) and load it with init: [{checkpoint: <stage-1 run>/model.pt, "
                "module: mask_ae}] (or set use_mask: false and adain: no_exemplar for the UNIT-like baseline)"
            )

    def content_code(self, x: torch.Tensor, side: str) -> torch.Tensor:
        """mu of the translator's shared latent (the content shared by both domains)."""
        return self.shared.encode(self.encoders[side](x))

    def _guides(
        self, x: torch.Tensor, side: str
    ) -> tuple[torch.Tensor | None, tuple[torch.Tensor, torch.Tensor] | None]:
        """(mask feature map, AdaIN (scale, bias)) of images ``x`` of ``side`` from the frozen auto-encoder (or, for
        ``adain: munit``, the style from the trained style path, with gradients)."""
        if self.cfg.adain == "munit":
            return None, self.style_paths[side](x)
        if not self.uses_mask_ae:
            return None, None
        with torch.no_grad():
            f = self.mask_ae[side].features(x)  # (B, C', H', W')
        style = style_stats(f, self.cfg.adain) if self.cfg.adain != "no_exemplar" else None
        return (f if self.cfg.use_mask else None), style

    def _content(self, x: torch.Tensor, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, h = S_G(z)) of images ``x`` of ``side``."""
        mu = self.shared.encode(self.encoders[side](x))  # (B, C', H', W')
        return mu, self.shared.generate(self.shared.sample(mu))

    def _decode(self, h: torch.Tensor, side: str, mask: torch.Tensor | None, style: Any) -> torch.Tensor:
        form = {"no_exemplar": "code", "munit": "textbook"}.get(self.cfg.adain, self.cfg.adain)
        return self.decoders[side](h, mask=mask, style=style, form=form)  # (B, 3, H, W)

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """The content of ``content (B, 3, H, W)`` (domain A for ``a2b``) in the style of ``exemplar`` (the other
        domain), both preprocessed with ``domains()[...].preprocess`` (in [-1, 1]); returns ``(B, 3, H, W)``."""
        if direction not in DIRECTIONS:
            raise ConfigError(f"egsc_it: direction must be one of {list(DIRECTIONS)}, got {direction!r}")
        src, tgt = ("a", "b") if direction == "a2b" else ("b", "a")
        if exemplar.shape[0] == 1 and content.shape[0] > 1:
            exemplar = exemplar.expand(content.shape[0], -1, -1, -1)
        mask, _ = self._guides(content, src)
        _, style = self._guides(exemplar, tgt)
        _, h = self._content(content, src)
        return self._decode(h, tgt, mask, style)

    def training_forward(self, batch: dict[str, Any], group: str = "generator") -> dict[str, torch.Tensor]:
        self.check_stage_one()
        w = self.cfg.weights
        x = dict(zip(("a", "b"), self.images(batch), strict=True))
        g = {s: self._guides(x[s], s) for s in ("a", "b")}  # side -> (mask, style)
        other = {"a": "b", "b": "a"}
        if group == "discriminator":
            with torch.no_grad():
                fake = {other[s]: self._decode(self._content(x[s], s)[1], other[s], g[s][0], g[other[s]][1])
                        for s in ("a", "b")}  # fmt: skip  # domain -> translations into it
            terms = {s: w["gan"] * self.gan_d(self.disc[s](x[s]), self.disc[s](fake[s])) for s in ("a", "b")}
            return {"loss": terms["a"] + terms["b"], "d_a": terms["a"].detach(), "d_b": terms["b"].detach()}
        logs: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=x["a"].device)
        feats = self._perceptual_net(x["a"].device)
        for s in ("a", "b"):
            t = other[s]
            mask, own_style = g[s]
            mu, h = self._content(x[s], s)
            x_ss = self._decode(h, s, mask, own_style)  # within-domain reconstruction
            x_st = self._decode(h, t, mask, g[t][1])  # translation with the other image as exemplar
            mu_c, h_c = self._content(x_st, t)
            x_sts = self._decode(h_c, s, mask, own_style)  # cycle: the source's mask and statistics
            parts = {
                "gan": self.gan_g(self.disc[t](x_st)),
                "recon": F.l1_loss(x_ss, x[s]),
                "cycle": F.l1_loss(x_sts, x[s]),
                "kl": self.kl(mu) + self.kl(mu_c),
            }
            if feats is not None:
                phi_src, phi_st, phi_ex = feats(x[s]), feats(x_st), feats(x[t])
                parts["content"] = self.content_loss(phi_src, phi_st)
                parts["style"] = self.style_loss(phi_st, phi_ex)
            for k, v in parts.items():
                total = total + w[k] * v
                logs[f"{k}_{s}2{t}"] = v.detach()
            self.record_stats(x[s], s)
        logs["loss"] = total
        return logs

    def _perceptual_net(self, device: torch.device) -> PerceptualFeatures | None:
        """The frozen perceptual feature net (kept out of the state dict, one per process), or None when both
        perceptual weights are 0."""
        if not (self.cfg.weights.get("style") or self.cfg.weights.get("content")):
            return None
        key = (self.cfg.perceptual, str(device))
        if key not in _PERCEPTUAL:
            _PERCEPTUAL[key] = PerceptualFeatures(self.cfg.perceptual).to(device)
        return _PERCEPTUAL[key]

    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        out = super().eval_forward(batch)
        x_a, x_b = self.images(batch)
        out["translation"] = self.translate(x_a, x_b)
        return out


_PERCEPTUAL: dict[tuple[str, str], PerceptualFeatures] = {}
