"""Datasets users bring (DESIGN §4); importing this package registers them in ``DATASETS``.

``folder``, ``two_domain``, ``pairs_table`` and ``features``; the benchmark loaders of
``papers/datasets.md`` join this package, one file each.
"""

from semspace.data.datasets.features import FeatureDataset as FeatureDataset
from semspace.data.datasets.folder import ImageFolderDataset as ImageFolderDataset
from semspace.data.datasets.pairs_table import PairsTableDataset as PairsTableDataset
from semspace.data.datasets.two_domain import TwoDomainFolderDataset as TwoDomainFolderDataset

__all__ = ["FeatureDataset", "ImageFolderDataset", "PairsTableDataset", "TwoDomainFolderDataset"]
