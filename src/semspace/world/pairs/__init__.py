"""The ``pairs`` world kind: digits in a binary-like domain A and a styled domain B, with exemplars and
exact ground-truth translations (EGSC-IT's MNIST-Single, made procedural; DESIGN §3)."""

from semspace.world.pairs.dataset import PairDataset as PairDataset
from semspace.world.pairs.glyphs import GlyphParams as GlyphParams
from semspace.world.pairs.glyphs import canonical_glyph as canonical_glyph
from semspace.world.pairs.glyphs import glyph_strokes as glyph_strokes
from semspace.world.pairs.glyphs import sample_glyph as sample_glyph
from semspace.world.pairs.render import coverage_mask as coverage_mask
from semspace.world.pairs.render import paint as paint
from semspace.world.pairs.render import render_glyph as render_glyph
from semspace.world.pairs.render import style_fields as style_fields
from semspace.world.pairs.styles import CORRELATED_STYLE as CORRELATED_STYLE
from semspace.world.pairs.styles import AStyle as AStyle
from semspace.world.pairs.styles import BStyle as BStyle
from semspace.world.pairs.styles import sample_a_style as sample_a_style
from semspace.world.pairs.styles import sample_b_style as sample_b_style
from semspace.world.pairs.styles import style_from_dict as style_from_dict
from semspace.world.pairs.world import PAIR_VIEWS as PAIR_VIEWS
from semspace.world.pairs.world import PairSample as PairSample
from semspace.world.pairs.world import PairWorld as PairWorld

__all__ = [
    "CORRELATED_STYLE",
    "PAIR_VIEWS",
    "AStyle",
    "BStyle",
    "GlyphParams",
    "PairDataset",
    "PairSample",
    "PairWorld",
    "canonical_glyph",
    "coverage_mask",
    "glyph_strokes",
    "paint",
    "render_glyph",
    "sample_a_style",
    "sample_b_style",
    "sample_glyph",
    "style_fields",
    "style_from_dict",
]
