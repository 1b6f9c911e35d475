"""The index build and the Searcher on the inference fast path (models/inference_fast.py): ``load_run`` prepares a
loaded run's image encoders, a build on the compiled path stores the eager path's vectors, and queries match them."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semspace.config import load_run_cfg
from semspace.engine.run import train
from semspace.index import EmbeddingIndex
from semspace.models.inference_fast import FAST_INFERENCE_ENV, fast_embed_of
from semspace.retrieval import Searcher, build_index
from semspace.retrieval.runs import load_run

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.train.args.n=32", "data.train.args.size=32", "train.max_steps=3", "train.batch_size=16",
        "train.num_workers=0", "train.eval_every=0", "train.log_every=5", "eval={}",
        "task_args.encoder_a=tiny_cnn", "task_args.encoder_b=tiny_cnn", "task_args.embed_dim=32"]  # fmt: skip
WORLD = "world_scenes:split=test,n=12,size=32,targets=false"
TOL = 1e-4  # unit-norm embeddings, compiled vs eager (tests/models/test_inference_fast.py)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("align") / "run"
    train(load_run_cfg(ROOT / "configs" / "align/world_2d_3d.yaml", TINY), run_dir)
    return run_dir


def _vectors(index_dir: Path) -> np.ndarray:
    index = EmbeddingIndex.open(index_dir)
    return np.stack([index.reconstruct(i) for i in range(len(index))])  # (N, D)


def test_load_run_prepares_the_image_encoders_unless_off(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAST_INFERENCE_ENV, raising=False)
    task, _ = load_run(run)
    prepared = [m for m in task.modules() if fast_embed_of(m) is not None]
    assert len(prepared) == 2 and {fast_embed_of(m).mode for m in prepared} == {"auto"}  # type: ignore[union-attr]
    monkeypatch.setenv(FAST_INFERENCE_ENV, "off")
    task, _ = load_run(run)
    assert not any(fast_embed_of(m) is not None for m in task.modules())


def test_a_compiled_build_stores_the_eager_vectors_and_queries_rank_alike(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="semspace.models.inference_fast")
    monkeypatch.setenv(FAST_INFERENCE_ENV, "off")
    build_index(run, WORLD, tmp_path / "eager", batch_size=10)
    assert "compiled in" not in caplog.text
    monkeypatch.setenv(FAST_INFERENCE_ENV, "compile")
    build_index(run, WORLD, tmp_path / "fast", batch_size=10)
    assert "compiled in" in caplog.text  # the build embedded through the compiled graph
    eager, fast = _vectors(tmp_path / "eager"), _vectors(tmp_path / "fast")
    assert eager.shape == fast.shape == (24, 32)
    assert np.abs(eager - fast).max() <= TOL
    picture = tmp_path / "query.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(picture)
    answers = {}
    for mode in ("off", "auto"):  # the Searcher's path: one image, channels_last, inference mode
        monkeypatch.setenv(FAST_INFERENCE_ENV, mode)
        hits = Searcher(tmp_path / "fast").search_image(picture, k=5).hits
        answers[mode] = ([h.id for h in hits], np.array([h.score for h in hits]))
    assert answers["off"][0] == answers["auto"][0] and len(answers["off"][0]) == 5
    assert np.abs(answers["off"][1] - answers["auto"][1]).max() <= TOL
