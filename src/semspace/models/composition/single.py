"""Single-modality composers: TIRG's ``imgonly`` and ``textonly`` baselines (Vo et al., CVPR 2019,
arXiv:1812.07119, Sec. 4; google/tirg ``img_text_composition_models.py``, ``SimpleModelImageOnly`` /
``SimpleModelTextOnly``).

They ignore one input and return the other unchanged, so they have no parameters. "image_only" measures how
far plain image similarity goes; "text_only" how far the modification text alone goes.
"""

from __future__ import annotations

import torch

from semspace.models.composition.base import BaseComposer
from semspace.models.composition.registry import register_composer


@register_composer("image_only")
class ImageOnlyComposer(BaseComposer):
    """Returns the image embedding; the text is ignored.

    Args:
        dim: the shared embedding size D.
    """

    def _compose(self, img: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        return img  # (B, D)


@register_composer("text_only")
class TextOnlyComposer(BaseComposer):
    """Returns the text embedding; the image is ignored.

    Args:
        dim: the shared embedding size D.
    """

    def _compose(self, img: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        return txt  # (B, D)
