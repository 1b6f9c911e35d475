"""PreprocessCfg: how raw inputs become tensors. It travels with the model inside every checkpoint.

The CLI, the service and evaluation build their transforms from it (``data.transforms.build_transform``),
never from constants (STYLE B.10; timm's ``PretrainedCfg``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from semspace.errors import ConfigError


@dataclass
class PreprocessCfg:
    size: int = 64  # output side length in pixels (square)
    channels: int = 3  # 3 = RGB, 1 = grayscale
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)  # per-channel mean subtracted after scaling to [0, 1]
    std: tuple[float, ...] = (0.5, 0.5, 0.5)  # per-channel std divided after the mean
    resize: str = "squash"  # "squash" (resize to size x size) or "center_crop" (shorter side, then crop)
    interpolation: str = "bilinear"  # Pillow resampling filter name: nearest, bilinear, bicubic, lanczos
    background: tuple[int, int, int] = (255, 255, 255)  # colour that replaces transparency (RGBA, LA, P)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mean"], d["std"], d["background"] = list(self.mean), list(self.std), list(self.background)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PreprocessCfg:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown preprocess key(s) {unknown}; expected some of {sorted(known)}")
        kw = dict(d)
        for k in ("mean", "std", "background"):
            if k in kw:
                kw[k] = tuple(kw[k])
        return cls(**kw)

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ConfigError(f"preprocess.channels must be 1 or 3, got {self.channels}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ConfigError(
                f"preprocess.mean/std need {self.channels} values (one per channel), got {self.mean} / {self.std}"
            )
        if self.resize not in ("squash", "center_crop"):
            raise ConfigError(f"preprocess.resize must be 'squash' or 'center_crop', got {self.resize!r}")
        if self.size <= 0:
            raise ConfigError(f"preprocess.size must be positive, got {self.size}")


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
