"""Models family: encoders of every domain behind one registry, named JSON presets, shared layers.

``create_model("tiny_cnn")`` builds a preset from ``models/configs/``; ``list_models()`` lists them;
``add_model_config(path)`` adds users' presets. ``ENCODERS`` maps architecture names to encoder classes.
``COMPOSERS`` maps composer names ("tirg", "concat", "image_only", "text_only") to composer classes
(``create_composer(name, dim=D)``). The networks of one method live in its family folder (``chtn/``, ``ssgn/``,
``egsc_it/``), imported from there by its task.
"""

from semspace.models.backbones import SmallCnnBackbone as SmallCnnBackbone
from semspace.models.checkpoint import load_checkpoint as load_checkpoint
from semspace.models.checkpoint import save_checkpoint as save_checkpoint
from semspace.models.checkpoint import unwrap_model as unwrap_model
from semspace.models.composition import COMPOSERS as COMPOSERS
from semspace.models.composition import BaseComposer as BaseComposer
from semspace.models.composition import ConcatComposer as ConcatComposer
from semspace.models.composition import ImageOnlyComposer as ImageOnlyComposer
from semspace.models.composition import TextOnlyComposer as TextOnlyComposer
from semspace.models.composition import TirgComposer as TirgComposer
from semspace.models.composition import create_composer as create_composer
from semspace.models.composition import list_composers as list_composers
from semspace.models.encoders import BackboneImageEncoder as BackboneImageEncoder
from semspace.models.encoders import BaseEncoder as BaseEncoder
from semspace.models.encoders import EfficientNetLite0Encoder as EfficientNetLite0Encoder
from semspace.models.encoders import LstmTextEncoder as LstmTextEncoder
from semspace.models.encoders import MiniLmTextEncoder as MiniLmTextEncoder
from semspace.models.encoders import MlpFeaturesEncoder as MlpFeaturesEncoder
from semspace.models.encoders import PretrainedUnavailableError as PretrainedUnavailableError
from semspace.models.encoders import SmallCnnEncoder as SmallCnnEncoder
from semspace.models.encoders import build_vocab as build_vocab
from semspace.models.factory import add_model_config as add_model_config
from semspace.models.factory import create_model as create_model
from semspace.models.factory import get_model_cfg as get_model_cfg
from semspace.models.factory import list_models as list_models
from semspace.models.layers import ConvBnAct as ConvBnAct
from semspace.models.layers import L2Norm as L2Norm
from semspace.models.layers import Mlp as Mlp
from semspace.models.registry import ENCODERS as ENCODERS
from semspace.models.registry import register_encoder as register_encoder

__all__ = [
    "COMPOSERS",
    "ENCODERS",
    "BackboneImageEncoder",
    "BaseComposer",
    "BaseEncoder",
    "ConcatComposer",
    "ConvBnAct",
    "EfficientNetLite0Encoder",
    "ImageOnlyComposer",
    "L2Norm",
    "LstmTextEncoder",
    "MiniLmTextEncoder",
    "Mlp",
    "MlpFeaturesEncoder",
    "PretrainedUnavailableError",
    "SmallCnnBackbone",
    "SmallCnnEncoder",
    "TextOnlyComposer",
    "TirgComposer",
    "add_model_config",
    "build_vocab",
    "create_composer",
    "create_model",
    "get_model_cfg",
    "list_composers",
    "list_models",
    "load_checkpoint",
    "register_encoder",
    "save_checkpoint",
    "unwrap_model",
]
