"""Datasets users bring (DESIGN §4) and benchmark loaders; importing this package registers them in ``DATASETS``.

``folder``, ``two_domain``, ``pairs_table`` and ``features``; the benchmark loaders of
``papers/datasets.md`` join this package, one file each: composed retrieval ``css3d``, ``fashion200k``,
``mit_states``.
"""

from semspace.data.datasets.css3d import CSS3DDataset as CSS3DDataset
from semspace.data.datasets.fashion200k import Fashion200kDataset as Fashion200kDataset
from semspace.data.datasets.features import FeatureDataset as FeatureDataset
from semspace.data.datasets.folder import ImageFolderDataset as ImageFolderDataset
from semspace.data.datasets.mit_states import MITStatesDataset as MITStatesDataset
from semspace.data.datasets.pairs_table import PairsTableDataset as PairsTableDataset
from semspace.data.datasets.two_domain import TwoDomainFolderDataset as TwoDomainFolderDataset

__all__ = [
    "CSS3DDataset",
    "FeatureDataset",
    "Fashion200kDataset",
    "ImageFolderDataset",
    "MITStatesDataset",
    "PairsTableDataset",
    "TwoDomainFolderDataset",
]
