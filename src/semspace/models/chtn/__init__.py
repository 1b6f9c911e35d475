"""CHTN's layers above the shared image trunk (Huang, Peng, Yuan, IJCAI 2017): the per-pathway fc6/fc7 branches and
the layer-sharing correlation head (``layers.py``); the ``chtn`` task (``tasks/chtn.py``) assembles them.
"""

from semspace.models.chtn.layers import ChtnBranch as ChtnBranch
from semspace.models.chtn.layers import ChtnCorrelationHead as ChtnCorrelationHead

__all__ = ["ChtnBranch", "ChtnCorrelationHead"]
