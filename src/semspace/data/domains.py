"""Domains described, not named: the record every embedded domain carries (DESIGN §5b).

A shared space holds several domains (2D blobs, 3D renders, photos, sketches, captions, feature vectors). What
semspace does with an input is decided by the domain's **input kind**, never by its name: a feature modality
called ``txt`` is a vector, a sketch domain called ``drawings`` gets its own image preprocessing.

``DomainSpec`` is that record: name, kind, embedding width, and how raw inputs become model inputs:

* ``image`` and ``sketch``: a ``PreprocessCfg`` (size, channels, mean/std, resizing) for ``build_transform``;
* ``text``: a description of the text encoder that owns the tokenisation (``{"architecture", "vocab_size",
  "vocab_sha256"}``; strings go in as they are);
* ``features``: the vector width F (``(F,)`` float vectors go in as they are).

A task's joint model builds these records from its encoders (``models.joint.describe_domains``); checkpoints
store them (``"domains"``) and so do indexes (one row per collection), so a query made with another
preprocessing is refused and the service knows how to read an upload for each domain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError
from semspace.types import FEATURES, IMAGE, SKETCH, TEXT


class InputKind(StrEnum):
    """What a domain's raw inputs are."""

    IMAGE = "image"  # a picture (photo, render, digit): PIL image -> (C, H, W) by the domain's PreprocessCfg
    SKETCH = "sketch"  # a drawing: like an image, with its own PreprocessCfg (sketch encoders differ)
    TEXT = "text"  # a string; the text encoder tokenises it
    FEATURES = "features"  # a precomputed float vector (F,)

    @property
    def is_visual(self) -> bool:
        """True for kinds whose inputs are pictures (a PreprocessCfg makes them tensors; they have thumbnails)."""
        return self in (InputKind.IMAGE, InputKind.SKETCH)

    @property
    def batch_keys(self) -> tuple[str, ...]:
        """Keys of a dataset item that may hold an input of this kind, in order of preference."""
        return {
            InputKind.IMAGE: (IMAGE,),
            InputKind.SKETCH: (SKETCH, IMAGE),  # world sketches come as SKETCH, a folder of drawings as IMAGE
            InputKind.TEXT: (TEXT,),
            InputKind.FEATURES: (FEATURES,),
        }[self]


def parse_kind(value: str, where: str = "domain") -> InputKind:
    """``"image"`` -> ``InputKind.IMAGE``; anything else is a ``ConfigError`` naming the choices."""
    try:
        return InputKind(str(value))
    except ValueError:
        choices = [k.value for k in InputKind]
        raise ConfigError(f"{where}: input kind {value!r} is unknown; expected one of {choices}") from None


@dataclass(frozen=True)
class DomainSpec:
    """One domain of a shared space: its name, input kind, embedding width and input preparation.

    Args:
        name: the domain's name in the task (``"render3d"``, ``"sketch"``, ``"txt"``).
        kind: what its inputs are.
        embed_dim: width D of its embeddings in the shared space.
        preprocess: image and sketch kinds: how a picture becomes a ``(C, H, W)`` tensor.
        text_encoder: text kind: the encoder that tokenises (``{"architecture", "vocab_size", "vocab_sha256"}``).
        feature_dim: features kind: the input vector width F.
    """

    name: str
    kind: InputKind
    embed_dim: int
    preprocess: PreprocessCfg | None = None
    text_encoder: dict[str, Any] = field(default_factory=dict)
    feature_dim: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", parse_kind(self.kind, f"domain {self.name!r}"))
        if not self.name:
            raise ConfigError("a domain needs a name")
        if self.kind.is_visual and not isinstance(self.preprocess, PreprocessCfg):
            raise ConfigError(f"domain {self.name!r} ({self.kind}) needs a PreprocessCfg, got {self.preprocess!r}")
        if self.kind is InputKind.FEATURES and int(self.feature_dim) <= 0:
            raise ConfigError(f"domain {self.name!r} (features) needs feature_dim > 0, got {self.feature_dim!r}")
        if int(self.embed_dim) <= 0:
            raise ConfigError(f"domain {self.name!r}: embed_dim must be positive, got {self.embed_dim!r}")

    def input_description(self) -> dict[str, Any]:
        """How raw inputs become model inputs, as plain JSON (what two compatible records must share)."""
        if self.kind.is_visual:
            assert self.preprocess is not None
            return {"preprocess": self.preprocess.to_dict()}
        if self.kind is InputKind.TEXT:
            return {"text_encoder": dict(self.text_encoder)}
        return {"feature_dim": int(self.feature_dim)}

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "kind", "embed_dim", ...input_description()}``; ``from_dict`` inverts it."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "embed_dim": int(self.embed_dim),
            **self.input_description(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "domain record") -> DomainSpec:
        """Rebuilds a record written by ``to_dict``; a missing or unknown field is a ``ConfigError``."""
        known = {"name", "kind", "embed_dim", "preprocess", "text_encoder", "feature_dim"}
        if not isinstance(d, dict):
            raise ConfigError(f"{where}: expected a mapping, got {d!r}")
        missing = sorted({"name", "kind", "embed_dim"} - set(d))
        unknown = sorted(set(d) - known)
        if missing or unknown:
            raise ConfigError(f"{where}: missing {missing} / unknown {unknown} keys; expected some of {sorted(known)}")
        pre = d.get("preprocess")
        return cls(
            name=str(d["name"]),
            kind=parse_kind(d["kind"], where),
            embed_dim=int(d["embed_dim"]),
            preprocess=PreprocessCfg.from_dict(pre) if isinstance(pre, dict) else None,
            text_encoder=dict(d.get("text_encoder") or {}),
            feature_dim=int(d.get("feature_dim") or 0),
        )

    def differences(self, other: DomainSpec) -> list[str]:
        """The fields in which ``other`` differs from this record (empty: compatible)."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def vocab_sha256(words: list[str]) -> str:
    """sha256 of a vocabulary (one word per line): identifies a closed-vocabulary tokenizer in a text record."""
    return hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()
