"""SSGN's networks (Wang et al. 2019, Stacked Semantic-Guided Network for zero-shot SBIR): the multi-layer sketch
fusion over a backbone's pooled taps (``fusion.py``) and the conditional decoders that generate a photo feature,
SSGN's coarse-to-fine one and the single-stage and CVAE baselines (``decoder.py``); the ``ssgn`` task
(``tasks/ssgn.py``) assembles them.
"""

from semspace.models.ssgn.decoder import CoarseToFineDecoder as CoarseToFineDecoder
from semspace.models.ssgn.decoder import CvaeDecoder as CvaeDecoder
from semspace.models.ssgn.decoder import SingleStageDecoder as SingleStageDecoder
from semspace.models.ssgn.fusion import MEMOS as MEMOS
from semspace.models.ssgn.fusion import FrozenFeatureMemo as FrozenFeatureMemo
from semspace.models.ssgn.fusion import MultiLayerFusion as MultiLayerFusion
from semspace.models.ssgn.fusion import backbone_taps as backbone_taps
from semspace.models.ssgn.fusion import tap_widths as tap_widths

__all__ = [
    "MEMOS",
    "CoarseToFineDecoder",
    "CvaeDecoder",
    "FrozenFeatureMemo",
    "MultiLayerFusion",
    "SingleStageDecoder",
    "backbone_taps",
    "tap_widths",
]
