"""Encoders of every domain behind one contract (``BaseEncoder``).

Each module registers its encoders with ``@register_encoder(name)`` and ``ENCODERS`` finds them on its first lookup;
the imports below are the public API only.
"""

from semspace.models.encoders.base import BaseEncoder as BaseEncoder
from semspace.models.encoders.features import MlpFeaturesCfg as MlpFeaturesCfg
from semspace.models.encoders.features import MlpFeaturesEncoder as MlpFeaturesEncoder
from semspace.models.encoders.image import BackboneImageEncoder as BackboneImageEncoder
from semspace.models.encoders.image import EfficientNetLite0Cfg as EfficientNetLite0Cfg
from semspace.models.encoders.image import EfficientNetLite0Encoder as EfficientNetLite0Encoder
from semspace.models.encoders.image import SmallCnnCfg as SmallCnnCfg
from semspace.models.encoders.image import SmallCnnEncoder as SmallCnnEncoder
from semspace.models.encoders.pretrained import PretrainedUnavailableError as PretrainedUnavailableError
from semspace.models.encoders.text import LstmTextCfg as LstmTextCfg
from semspace.models.encoders.text import LstmTextEncoder as LstmTextEncoder
from semspace.models.encoders.text import MiniLmTextCfg as MiniLmTextCfg
from semspace.models.encoders.text import MiniLmTextEncoder as MiniLmTextEncoder
from semspace.models.encoders.text import build_vocab as build_vocab

__all__ = [
    "BackboneImageEncoder",
    "BaseEncoder",
    "EfficientNetLite0Cfg",
    "EfficientNetLite0Encoder",
    "LstmTextCfg",
    "LstmTextEncoder",
    "MiniLmTextCfg",
    "MiniLmTextEncoder",
    "MlpFeaturesCfg",
    "MlpFeaturesEncoder",
    "PretrainedUnavailableError",
    "SmallCnnCfg",
    "SmallCnnEncoder",
    "build_vocab",
]
