"""EGSC-IT's networks (Ma et al., ICLR 2019, arXiv:1805.11145): the UNIT backbone, feature-mask auto-encoder and
PatchGAN discriminator (``translator.py``), their building blocks, AdaIN and feature masks (``layers.py``), the
frozen features of the perceptual losses (``perceptual.py``) and the style path of the MUNIT-style peer
(``munit_style.py``); the ``egsc_it`` tasks (``tasks/egsc_it.py``) assemble them.
"""

from semspace.models.egsc_it.layers import ADAIN_FORMS as ADAIN_FORMS
from semspace.models.egsc_it.layers import style_stats as style_stats
from semspace.models.egsc_it.munit_style import MunitStylePath as MunitStylePath
from semspace.models.egsc_it.perceptual import PerceptualFeatures as PerceptualFeatures
from semspace.models.egsc_it.translator import DomainDecoder as DomainDecoder
from semspace.models.egsc_it.translator import DomainEncoder as DomainEncoder
from semspace.models.egsc_it.translator import FeatureMaskAutoEncoder as FeatureMaskAutoEncoder
from semspace.models.egsc_it.translator import PatchDiscriminator as PatchDiscriminator
from semspace.models.egsc_it.translator import SharedLatent as SharedLatent

__all__ = [
    "ADAIN_FORMS",
    "DomainDecoder",
    "DomainEncoder",
    "FeatureMaskAutoEncoder",
    "MunitStylePath",
    "PatchDiscriminator",
    "PerceptualFeatures",
    "SharedLatent",
    "style_stats",
]
