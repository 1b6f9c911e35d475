"""``ray_batches``: the Ray Data embedding of ``index build --workers N`` gives what one process gives.

One local Ray of 2 CPUs serves the module (started by ``ray_session`` as ``ray_batches`` would start it for
``workers=2``): 2 embedding actors and the loading tasks share those 2 CPUs, so every test that finishes (under its
timeout) shows that this setting does not deadlock. The reference is the one-process loop of the index build
(``Tolerant`` + ``collate_tolerant``, ``content_hashes``, ``item_record``, ``embed_batch``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from semspace.config import DataSpec, load_run_cfg
from semspace.data import create_dataset
from semspace.data.transforms import attach_transform
from semspace.engine.run import train
from semspace.errors import DataError
from semspace.eval.embedding import batch_inputs, embed_batch, iter_batches
from semspace.models import create_model
from semspace.models.checkpoint import save_checkpoint
from semspace.models.joint import JointEmbeddingModel
from semspace.retrieval.inputs import content_hashes, item_record
from semspace.retrieval.runs import load_run
from semspace.retrieval.sync import Tolerant, collate_tolerant
from semspace.tasks import TASKS, Task, TaskCfg
from semspace.types import DOMAIN, INDEX

ray = pytest.importorskip("ray")
from semspace.retrieval import ray_embedding  # noqa: E402
from semspace.retrieval.ray_embedding import RayBatch, RaySettings, ray_batches, ray_session  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
TINY = ["data.train.args.n=32", "data.train.args.size=32", "data.train.cache=false", "train.max_steps=2",
        "train.batch_size=16", "train.num_workers=0", "train.eval_every=0", "train.log_every=5", "eval={}",
        "task_args.source_encoder=tiny_lstm_text", "task_args.target_encoder=tiny_cnn",
        "task_args.text_encoder=tiny_lstm_text", "task_args.embed_dim=32"]  # fmt: skip
SETTINGS = RaySettings(workers=2, batch_size=32)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained run of a built-in task (Ray's workers rebuild it): a text domain (``text``) and an image
    domain (``render3d``)."""
    run_dir = tmp_path_factory.mktemp("ray") / "run"
    train(load_run_cfg(ROOT / "configs" / "transfer" / "world_text_to_3d.yaml", TINY), run_dir)
    return run_dir


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 small PNGs of varied sizes and one file that is not a picture."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(200):
        Image.fromarray(rng.integers(0, 256, (12 + i % 9, 16, 3), dtype=np.uint8)).save(folder / f"p{i:03d}.png")
    (folder / "p100.png").write_bytes(b"not a png")
    return folder


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    with ray_session(SETTINGS):  # ray.init(num_cpus=2): the local Ray of ``workers=2``
        assert ray.cluster_resources()["CPU"] == 2
        yield
    assert not ray.is_initialized()  # the Ray it started is shut down


def _one_process(run: Path, spec: DataSpec, domain: str, positions: list[int]) -> tuple[dict[int, Any], list[int]]:
    """``{position: (hash, vector (D,), record, own domain)}`` and the failed positions, as one process makes them."""
    task, _ = load_run(run)
    target = task.domain(domain)
    source = attach_transform(create_dataset(spec.name, **spec.args), target.preprocess)
    rows: dict[int, Any] = {}
    failed: list[int] = []
    batches = iter_batches(Tolerant(source, positions), None, batch_size=16, collate_fn=collate_tolerant)
    for batch, errors in batches:
        failed += [p for p, _ in errors]
        if batch is None:
            continue
        key, _ = batch_inputs(batch, target, spec.name)
        hashes = list(content_hashes(batch, key, target))
        z = embed_batch(task, batch, target, device="cpu", key=key).float().numpy()  # (B, D)
        for i, p in enumerate(batch[INDEX]):
            own = batch[DOMAIN][i] if DOMAIN in batch else ""
            rows[int(p)] = (hashes[i], z[i], item_record(batch, i, key, hashes[i], target, ""), own)
    return rows, failed


def _check_same(got: list[RayBatch], want: dict[int, Any], positions: list[int]) -> None:
    seen = [p for b in got for p in b.positions]
    assert seen == [p for p in positions if p in want]  # the order asked for, the failed ones left out
    for b in got:
        assert b.vectors.dtype == np.float32 and b.vectors.shape == (len(b.positions), 32)
        for j, p in enumerate(b.positions):
            h, vec, record, own = want[p]
            assert b.content_hashes[j] == h
            np.testing.assert_allclose(b.vectors[j], vec, atol=1e-5)
            assert (b.labels[j], b.captions[j], b.thumbnails[j]) == (
                record["label"],
                record["caption"],
                record["thumbnail"],
            )
            assert b.domains[j] == own


def test_images_in_two_actors_match_one_process(run: Path, photos: Path, local_ray: None) -> None:
    spec = DataSpec(name="folder", args={"root": str(photos)})
    n = len(create_dataset("folder", root=str(photos)))
    positions = list(range(n))[::-1]  # any order is kept
    got = list(ray_batches(run, spec, "render3d", positions, SETTINGS))
    want, failed = _one_process(run, spec, "render3d", positions)
    _check_same(got, want, positions)
    errors = [e for b in got for e in b.errors]
    assert [p for p, _ in errors] == failed and len(failed) == 1
    assert errors[0][1].startswith(str(photos / "p100.png")) and "not a readable image" in errors[0][1]
    paths = {p: b.paths[j] for b in got for j, p in enumerate(b.positions)}
    assert all(Path(paths[p]).parent == photos and paths[p].endswith(".png") for p in paths)
    assert all(b.thumbnails and b.thumbnails[0] is not None and b.thumbnails[0][:4] == b"\x89PNG" for b in got)
    assert ray.is_initialized()  # a Ray it did not start stays up


def test_text_domain_and_a_clear_data_error(run: Path, photos: Path, local_ray: None) -> None:
    spec = DataSpec(name="world_objects", args={"split": "test", "n": 24, "size": 32})
    positions = [5, 3, *range(6, 24), 0, 1, 2, 4]
    got = list(ray_batches(run, spec, "text", positions, RaySettings(workers=2, batch_size=8)))
    want, failed = _one_process(run, spec, "text", positions)
    assert not failed and not any(b.errors for b in got)
    _check_same(got, want, positions)
    assert all(
        c and t is None and p == "" for b in got for c, t, p in zip(b.captions, b.thumbnails, b.paths, strict=True)
    )
    with pytest.raises(DataError, match="cannot be embedded as domain 'text'") as info:  # pictures have no text
        list(ray_batches(run, DataSpec(name="folder", args={"root": str(photos)}), "text", [0, 1], SETTINGS))
    assert "\n" not in str(info.value)  # one line, as raised in the task


def test_importing_retrieval_does_not_import_ray() -> None:
    code = "import sys, semspace.retrieval; sys.exit('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


class VectorsTask(Task):
    """One features domain, ``vec`` (8-d vectors); registered in this process only (no Ray worker knows it)."""

    Cfg = TaskCfg
    name = "test_ray_vectors"

    def __init__(self, cfg: TaskCfg) -> None:
        super().__init__(cfg)
        self.model = JointEmbeddingModel(encoders={"vec": create_model("tiny_mlp_features", in_dim=8, embed_dim=32)})


if not TASKS.is_registered(VectorsTask.name):
    TASKS.add(VectorsTask.name, VectorsTask)


def test_feature_rows_go_through_the_load_and_actor_steps_in_process(tmp_path: Path) -> None:
    """The features kind through ``_load``, ``_EmbedActor`` and ``_ray_batch`` (Ray's steps, without Ray)."""
    task = VectorsTask(TaskCfg()).eval()
    payload = {"task": task.name, "task_cfg": task.export_cfg(), "state_dict": task.state_dict(),
               "domains": [d.to_dict() for d in task.domains().values()]}  # fmt: skip
    save_checkpoint(tmp_path / "run" / "model.pt", payload)
    vectors = np.random.default_rng(0).standard_normal((10, 8)).astype(np.float32)
    np.savez(tmp_path / "feats.npz", train_vec=vectors, train_labels=np.arange(10))
    spec = DataSpec(name="features", args={"path": str(tmp_path / "feats.npz"), "split": "train", "modality": "vec"})
    target = task.domain("vec")
    positions = [7, 2, 9, 0]
    block = ray_embedding._load({"position": np.asarray(positions)}, spec, target)
    assert block["input"].shape == (4, 8) and "thumbnail" in block
    got = ray_embedding._ray_batch(ray_embedding._EmbedActor(str(tmp_path / "run"), "vec", 1, "cpu")(block))
    want, failed = _one_process(tmp_path / "run", spec, "vec", positions)
    assert not failed and not got.errors
    _check_same([got], want, positions)
    assert got.thumbnails == [None] * 4 and got.paths == [""] * 4


def test_a_two_worker_ray_build_equals_the_one_process_build(run: Path, photos: Path, tmp_path: Path,
                                                             local_ray: None) -> None:  # fmt: skip
    """``index build --workers 2`` (the sync on Ray) ends with the same items, ids, vectors (1e-5) and search
    results as the build in one process, and its no-change rebuild embeds nothing."""
    from semspace.index import EmbeddingIndex
    from semspace.retrieval import build_index

    alone = build_index(run, f"folder:{photos}", tmp_path / "alone", batch_size=32)
    on_ray = build_index(run, f"folder:{photos}", tmp_path / "ray", batch_size=32, workers=2)
    counts = ("listed", "added", "embedded", "unreadable", "total")
    assert (
        [on_ray[k] for k in counts] == [alone[k] for k in counts] == [200, 199, 199, 1, 199]
    )  # p100.png is not a picture
    a, b = EmbeddingIndex.open(tmp_path / "alone"), EmbeddingIndex.open(tmp_path / "ray")
    items_a, items_b = list(a.iter_items()), list(b.iter_items())
    keys = ("id", "uri", "content_hash", "label", "source")
    assert [[it[k] for k in keys] for it in items_a] == [[it[k] for k in keys] for it in items_b]
    hashes = [it["content_hash"] for it in items_a]
    va, vb = a.stored_vectors("render3d", hashes), b.stored_vectors("render3d", hashes)
    assert max(float(np.abs(va[h] - vb[h]).max()) for h in hashes) < 1e-5
    queries = np.stack([va[h] for h in hashes[:20]])  # (20, D)
    hits_a, hits_b = a.search(queries, k=5), b.search(queries, k=5)
    assert [[h.uri for h in row] for row in hits_a] == [[h.uri for h in row] for row in hits_b]
    again = build_index(run, f"folder:{photos}", tmp_path / "ray", batch_size=32, workers=2)
    assert (again["embedded"], again["unchanged"], again["saved"]) == (0, 199, False)
