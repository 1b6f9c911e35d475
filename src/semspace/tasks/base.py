"""The Task contract: each method is a Task; there is one engine (STYLE D.14).

A task is an ``nn.Module`` that owns its model(s) and loss(es) and a typed ``Cfg`` dataclass. The engine
(``engine/trainer.py``) calls, and never branches on the method:

* ``Task.resolve_cfg(cfg, dataset)``: fill data-dependent fields (a vocabulary, the number of classes) so
  that ``cfg`` alone rebuilds the model later (it is stored in every checkpoint as ``task_cfg``);
* ``optimizer_groups() -> {name: param_groups}``: one entry per optimizer, stepped in this order
  (GAN translators declare ``{"discriminator": ..., "generator": ...}``);
* ``training_forward(batch, group) -> {"loss": Tensor, ...}``: every other key is logged;
* ``eval_forward(batch) -> {name: Tensor}``: embeddings or outputs for evaluation;
* ``prepare_batch(batch, device)``: moves tensors; ``prepare_distributed(device_ids)``: wraps in DDP.

Engine hooks (the defaults give the plain loop; a method overrides only what it needs):

* ``train_sampler(dataset, *, stream, seed, num_replicas, rank) -> Sampler | None``: the training sampler of
  a data stream (None: shuffled ``ShardSampler``); e.g. a ``ClassBalancedSampler`` for P x K batches;
* data streams: ``data.extra: {name: DataSpec}`` datasets are drawn in every step beside ``data.train``; the
  step batch carries each one's batch under its name (``batch["source"] = {...}``);
* ``step_every() -> {group: N}``: a group runs only every N trainer steps (EGSC-IT's discriminator);
* ``freeze(module_path)``: a frozen submodule (no grad, not optimised, always in eval mode); the run config's
  ``init: [{checkpoint, module, source, freeze}]`` loads such a pretrained stage from another run
  (``engine/stages.py``) before the optimizers are built.

The index, ``semspace search``, evaluation and the service use a trained task through its public contract:

* ``domains() -> {domain: DomainSpec}``: every domain the task embeds, with its input kind (image, sketch,
  text, features), its own preprocessing (or text encoder, or vector width) and embedding width
  (``data.domains``); stored in checkpoints and indexes. Code decides what to do with an input by the
  domain's kind, never by its name;
* ``embed(domain, inputs) -> (B, D)`` unit-norm: image/sketch tensors made by
  ``build_transform(domains()[domain].preprocess)``, ``list[str]`` for text, ``(B, F)`` floats for features;
* ``preprocess_cfg()``: the preprocessing of the images in *training* batches (the one the task's visual
  domains share; a task whose visual domains differ attaches its own transforms and overrides it);
* capabilities beyond embedding (``compose``, ``translate``, ``generate_query``) are protocols in
  ``capabilities.py``: a task has one when it implements it, and callers ask ``supports(task, name)``.

``forward(batch, group)`` is ``training_forward`` so a DDP wrapper around the task syncs gradients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from semspace.config import TrainCfg, to_dict
from semspace.data.domains import DomainSpec
from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError


@dataclass
class TaskCfg:
    """Base of every task's cfg dataclass (fields are added by each task)."""


class Task(nn.Module):
    """Base class of all methods (see module docstring)."""

    Cfg: ClassVar[type] = TaskCfg
    name: ClassVar[str] = "task"
    title: ClassVar[str] = ""  # what the method is, in words, for people (the page's header); "" -> name
    find_unused_parameters: ClassVar[bool] = False  # DDP flag; GAN tasks with several groups set True

    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self.cfg = cfg

    @classmethod
    def resolve_cfg(cls, cfg: Any, dataset: Any | None = None) -> Any:
        """Returns ``cfg`` with data-dependent fields filled in (default: unchanged)."""
        del dataset
        return cfg

    def export_cfg(self) -> dict[str, Any]:
        """The resolved cfg as a plain dict (stored in checkpoints, enough to rebuild the task)."""
        return to_dict(self.cfg)

    def preprocess_cfg(self) -> PreprocessCfg | None:
        """The preprocessing of the images in training batches: the one every visual domain of ``domains()``
        shares (None for tasks without image or sketch domains).

        Raises:
            ConfigError: the visual domains preprocess differently; such a task overrides this method and
                attaches its own per-key transforms (index, search and evaluation use each domain's own record).
        """
        found = {d.name: d.preprocess for d in self.domains().values() if d.kind.is_visual}
        distinct = {repr(p): p for p in found.values() if p is not None}
        if len(distinct) > 1:
            raise ConfigError(
                f"task {self.name!r}: its image/sketch domains preprocess differently ({found}); override "
                "preprocess_cfg() and attach per-domain transforms to the training data"
            )
        return next(iter(distinct.values()), None)

    def backbone_prefixes(self) -> tuple[str, ...]:
        """Parameter-name prefixes that get ``train.backbone_lr_mult``."""
        return ()

    def optimizer_groups(self, train_cfg: TrainCfg) -> dict[str, list[dict[str, Any]]]:
        """``{optimizer name: param groups}``; one optimizer over everything by default."""
        return {
            "main": param_groups(
                self,
                weight_decay=train_cfg.weight_decay,
                backbone_prefixes=self.backbone_prefixes(),
                backbone_lr_mult=train_cfg.backbone_lr_mult,
            )
        }

    def training_forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def eval_forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, batch: dict[str, Any], group: str = "main") -> dict[str, torch.Tensor]:
        return self.training_forward(batch, group)

    # ---- using a trained task (index, search, evaluation, service) ------------------------------
    def domains(self) -> dict[str, DomainSpec]:
        """``{domain: DomainSpec}`` of every domain ``embed`` accepts (default: ``self.model.domain_specs()``,
        a ``JointEmbeddingModel``)."""
        model = getattr(self, "model", None)
        specs = getattr(model, "domain_specs", None)
        return dict(specs()) if callable(specs) else {}

    def domain(self, name: str) -> DomainSpec:
        """The record of domain ``name``; an unknown domain is a ``ConfigError`` naming the task's domains."""
        specs = self.domains()
        if name not in specs:
            raise ConfigError(f"task {self.name!r} has no domain {name!r}; it embeds {list(specs)}")
        return specs[name]

    def embedding_domains(self) -> list[str]:
        """The names of ``domains()``, in the task's order."""
        return list(self.domains())

    def embed(self, domain: str, inputs: Any) -> torch.Tensor:
        """Unit-norm embeddings ``(B, D)`` of a batch of ``domain`` inputs in the shared space (see the module
        docstring for the input of each kind)."""
        self.domain(domain)
        model: Any = getattr(self, "model", None)
        return model.encode(domain, inputs, normalize=True)

    def prepare_batch(self, batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
        """Moves every tensor of the (possibly nested) batch to ``device``; strings stay as they are."""
        return _to_device(batch, device)

    def prepare_distributed(self, device_ids: list[int] | None) -> nn.Module:
        """Wraps the task in DDP (frozen parameters are ignored by DDP)."""
        return DistributedDataParallel(self, device_ids=device_ids, find_unused_parameters=self.find_unused_parameters)

    # ---- engine hooks (engine/trainer.py, engine/stages.py; defaults keep the plain training loop) ------------
    def train_sampler(
        self, dataset: Any, *, stream: str, seed: int, num_replicas: int, rank: int
    ) -> torch.utils.data.Sampler | None:
        """The training sampler of one data stream, or None for the default (a shuffled ``ShardSampler`` batched
        by ``train.batch_size``, or the stream's ``batch_size``).

        The sampler must be a pure function of ``(seed, epoch)``, shard itself over ``num_replicas`` ranks, and
        have ``set_epoch(epoch, start)`` that skips the first ``start`` items of this rank's shard (exact resume).
        With ``yields_batches = True`` it yields lists of indices, ``batch_size`` items each (e.g.
        ``data.samplers.ClassBalancedSampler``: P classes x K items per batch); otherwise single indices.

        Args:
            dataset: the stream's dataset.
            stream: ``"train"`` for ``data.train``, else the name of the ``data.extra`` stream.
            seed: this stream's sampler seed (``train.seed`` for ``"train"``).
            num_replicas: number of DDP ranks.
            rank: this process's rank.
        """
        del dataset, stream, seed, num_replicas, rank
        return None

    def step_every(self) -> dict[str, int]:
        """``{optimizer group: N}``: that group runs (forward, backward, optimizer and scheduler step) only on the
        trainer steps ``s`` (0-based) with ``s % N == 0``, so every group runs on the first step; groups not named
        step every step (EGSC-IT, five generator steps per discriminator step: ``{"discriminator": 5}``). Its
        scheduler advances only when it steps, and reads the lr schedule at trainer-step time."""
        return {}

    def freeze(self, module_path: str) -> nn.Module:
        """Freezes the submodule at dotted ``module_path`` (e.g. ``"mask_ae"``): no gradients, left out of
        ``param_groups``, and kept in eval mode by ``train()`` (dropout off, norm statistics fixed).

        Raises:
            ConfigError: the task has no submodule at ``module_path``.
        """
        module = self.submodule(module_path)
        module.requires_grad_(False)
        module.eval()
        frozen: list[str] = self.__dict__.setdefault("_frozen_paths", [])
        if module_path not in frozen:
            frozen.append(module_path)
        return module

    def frozen_modules(self) -> list[str]:
        """The dotted paths frozen by ``freeze``, in call order."""
        return list(self.__dict__.get("_frozen_paths", []))

    def submodule(self, module_path: str) -> nn.Module:
        """The submodule at dotted ``module_path``; a missing one is a ``ConfigError`` naming the task's children."""
        try:
            if not module_path:
                raise AttributeError(module_path)
            return self.get_submodule(module_path)
        except AttributeError:
            children = [name for name, _ in self.named_children()]
            raise ConfigError(
                f"task {self.name!r} has no submodule {module_path!r}; expected a dotted attribute path starting "
                f"with one of {children}"
            ) from None

    def train(self, mode: bool = True) -> Task:
        """``nn.Module.train``, except that frozen submodules (``freeze``) stay in eval mode."""
        super().train(mode)
        for path in self.__dict__.get("_frozen_paths", []):
            self.get_submodule(path).eval()
        return self


def fill_vocabularies(encoders: dict[str, tuple[Any, dict[str, Any]]], dataset: Any | None, task: str) -> None:
    """Gives every text-encoder preset that needs one the training data's vocabulary (``dataset.vocabulary()``).

    Args:
        encoders: ``{cfg field name: (preset name or {"architecture", "cfg"}, its override dict)}``; the override
            dicts are filled in place with ``vocab``.
        dataset: the training set.
        task: the task's name, for the error message.
    """
    from semspace.models import get_model_cfg

    for field_name, (preset, args) in encoders.items():
        spec = get_model_cfg(preset) if isinstance(preset, str) else preset
        if "vocab" in spec["cfg"] and not args.get("vocab") and not spec["cfg"].get("vocab"):
            if dataset is None or not hasattr(dataset, "vocabulary"):
                raise ConfigError(
                    f"{task}: {field_name} {preset!r} needs a vocabulary: pass {field_name}_args.vocab "
                    "or train on a dataset with texts (one that has vocabulary())"
                )
            args["vocab"] = list(dataset.vocabulary())


def batch_value(batch: dict[str, Any], key: str, *, task: str, hint: str, error: type[Exception] = ConfigError) -> Any:
    """``batch[key]``, a dotted ``a.b`` reading ``batch[a][b]`` (a ``data.extra`` stream's field); a missing part
    raises ``error`` naming what the batch holds there and ``hint`` (the task_args that choose the keys)."""
    node: Any = batch
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            have = sorted(node) if isinstance(node, dict) else type(node).__name__
            raise error(f"{task}: the batch has no {key!r} (at {part!r} it holds {have}); set {hint}")
        node = node[part]
    return node


def _to_device(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, list | tuple) and obj and isinstance(obj[0], torch.Tensor):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def param_groups(
    module: nn.Module, *, weight_decay: float, backbone_prefixes: Iterable[str] = (), backbone_lr_mult: float = 1.0
) -> list[dict[str, Any]]:
    """Splits trainable parameters into (decay / no-decay) x (backbone / head) groups with ``lr_mult``.

    Tensors with fewer than 2 dimensions (biases, norm weights, scalar gates and scales such as TIRG's w_g, w_r
    and its normalisation scale) get no weight decay, the timm/open_clip convention. The authors' TIRG SGD decays
    every parameter; at demo scale decaying everything measured the same (R@1 0.664 vs 0.660, within the seed
    std of 0.016; ``docs/transfer.md``).
    """
    prefixes = tuple(backbone_prefixes)
    buckets: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        decay = p.ndim > 1
        backbone = bool(prefixes) and name.startswith(prefixes)
        buckets.setdefault((decay, backbone), []).append(p)
    groups = []
    for (decay, backbone), params in sorted(buckets.items()):
        groups.append(
            {
                "params": params,
                "weight_decay": weight_decay if decay else 0.0,
                "lr_mult": backbone_lr_mult if backbone else 1.0,
            }
        )
    return groups
