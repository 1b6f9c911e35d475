"""The objects kind of the world: part-based categories as photos, hand-drawn sketches and captions."""

from semspace.world.objects.attributes import ATTRIBUTE_NAMES as ATTRIBUTE_NAMES
from semspace.world.objects.attributes import NUM_ATTRIBUTES as NUM_ATTRIBUTES
from semspace.world.objects.attributes import attribute_matrix as attribute_matrix
from semspace.world.objects.attributes import attributes as attributes
from semspace.world.objects.attributes import describe as describe
from semspace.world.objects.attributes import shared_parts as shared_parts
from semspace.world.objects.catalog import CATEGORIES as CATEGORIES
from semspace.world.objects.catalog import class_id as class_id
from semspace.world.objects.dataset import ObjectDataset as ObjectDataset
from semspace.world.objects.dataset import class_semantics as class_semantics
from semspace.world.objects.photo import render_photo as render_photo
from semspace.world.objects.sketch import render_sketch as render_sketch
from semspace.world.objects.spec import PhotoSpec as PhotoSpec
from semspace.world.objects.spec import SketchSpec as SketchSpec
from semspace.world.objects.splits import SEEN_CLASSES as SEEN_CLASSES
from semspace.world.objects.splits import UNSEEN_CLASSES as UNSEEN_CLASSES
from semspace.world.objects.splits import class_split as class_split
from semspace.world.objects.splits import resolve_classes as resolve_classes
from semspace.world.objects.world import ObjectWorld as ObjectWorld

__all__ = [
    "ATTRIBUTE_NAMES",
    "CATEGORIES",
    "NUM_ATTRIBUTES",
    "SEEN_CLASSES",
    "UNSEEN_CLASSES",
    "ObjectDataset",
    "ObjectWorld",
    "PhotoSpec",
    "SketchSpec",
    "attribute_matrix",
    "attributes",
    "class_id",
    "class_semantics",
    "class_split",
    "describe",
    "render_photo",
    "render_sketch",
    "resolve_classes",
    "shared_parts",
]
