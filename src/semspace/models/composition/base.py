"""The composer contract of composed retrieval (TIRG: Vo et al., CVPR 2019, arXiv:1812.07119, Sec. 3).

A composer maps an image embedding and a modification-text embedding of the shared space to the embedding of
the modified image: ``compose(img (B, D), txt (B, D)) -> (B, D)``. The output is *not* normalised: the task
applies TIRG's NormalizationLayer (``models.layers.L2Norm``) to the composed query and to the target.
``to_config()`` returns ``{"name", "dim", ...}`` and ``create_composer(**cfg)`` rebuilds the composer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from semspace.errors import ConfigError


class BaseComposer(nn.Module):
    """Base class of all composers.

    Subclasses are registered with ``register_composer(name)``, build their layers in ``__init__``, implement
    ``_compose(img, txt)`` on inputs already checked to be ``(B, dim)``, and add their own constructor
    arguments to ``to_config()`` through ``_extra_config()``.

    Args:
        dim: the shared embedding size D of both inputs and of the output.
    """

    name: ClassVar[str] = ""  # set by register_composer

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ConfigError(f"composer {self.name or type(self).__name__!r}: dim must be a positive int, got {dim!r}")
        self.dim = dim

    def compose(self, img: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        """Embeds "this image, modified as the text says".

        Args:
            img: image embeddings ``(B, D)``.
            txt: modification-text embeddings ``(B, D)``.

        Returns:
            ``(B, D)`` composed query embeddings, not normalised.

        Raises:
            ValueError: when an input is not ``(B, D)`` with ``D == self.dim`` and the same ``B``.
        """
        self._check_inputs(img, txt)
        return self._compose(img, txt)

    def forward(self, img: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        return self.compose(img, txt)

    def _compose(self, img: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _check_inputs(self, img: torch.Tensor, txt: torch.Tensor) -> None:
        where = f"composer {self.name or type(self).__name__!r}"
        for what, x in (("img", img), ("txt", txt)):
            if x.ndim != 2 or x.shape[1] != self.dim:
                raise ValueError(f"{where}: {what} must be (B, {self.dim}), got {tuple(x.shape)}")
        if img.shape[0] != txt.shape[0]:
            raise ValueError(f"{where}: img and txt need the same batch size B, got {img.shape[0]} and {txt.shape[0]}")

    def _extra_config(self) -> dict[str, Any]:
        return {}

    def to_config(self) -> dict[str, Any]:
        """``{"name", "dim", ...}``: what ``create_composer(**cfg)`` needs to rebuild this composer."""
        return {"name": self.name, "dim": self.dim, **self._extra_config()}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
