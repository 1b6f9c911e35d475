"""The world's *scenes* kind: CSS/CLEVR-like scenes with add/remove/change modifications (DESIGN §3).

Views: ``blobs2d`` (TIRG's CSS 2D blobs), ``render3d`` (our numpy ray caster), ``text`` (descriptions).
"""

from semspace.world.scenes.dataset import SceneTripletDataset as SceneTripletDataset
from semspace.world.scenes.modify import Modification as Modification
from semspace.world.scenes.modify import sample_modification as sample_modification
from semspace.world.scenes.render2d import render_blobs2d as render_blobs2d
from semspace.world.scenes.render3d import render_render3d as render_render3d
from semspace.world.scenes.spec import ObjectSpec as ObjectSpec
from semspace.world.scenes.spec import SceneSpec as SceneSpec
from semspace.world.scenes.text import SCENE_WORDS as SCENE_WORDS
from semspace.world.scenes.text import describe as describe
from semspace.world.scenes.world import SceneWorld as SceneWorld

__all__ = [
    "SCENE_WORDS",
    "Modification",
    "ObjectSpec",
    "SceneSpec",
    "SceneTripletDataset",
    "SceneWorld",
    "describe",
    "render_blobs2d",
    "render_render3d",
    "sample_modification",
]
