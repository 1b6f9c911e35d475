"""``frozen_features``: an image dataset through a frozen encoder (the numbers the encoder gives on the same
preprocessed images, the wrapped fields kept, a disk cache that round-trips), the biased ``xmodal_pairs``
settings, a cache written chunk by chunk that a killed extraction resumes, and a ``chtn`` task with
``image_frozen`` embedding raw images exactly as it embeds their features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from semspace.data import create_dataset
from semspace.data.chunk_cache import ChunkCache
from semspace.data.transforms import build_transform
from semspace.errors import ConfigError
from semspace.models import frozen_features as ff
from semspace.tasks import create_task
from semspace.types import FEATURES, IMAGE, LABEL, TEXT

ENC = {"encoder": "tiny_cnn", "encoder_args": {"preprocess": {"size": 32}}}
PAIRS = {"name": "xmodal_pairs", "args": {"split": "train", "pairs_per_class": 2, "classes": ["apple", "car"],
                                          "size": 32}}  # fmt: skip


def _seeded_encoder() -> object:
    torch.manual_seed(0)
    return ff.frozen_encoder("tiny_cnn", {"preprocess": {"size": 32}})


def test_features_are_the_frozen_encoders_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ff, "_MEMO", {})
    torch.manual_seed(0)
    ds = create_dataset("frozen_features", data=PAIRS, cache_dir=tmp_path, **ENC)
    enc = _seeded_encoder()
    inner = create_dataset(PAIRS["name"], **PAIRS["args"])
    inner.transform = build_transform(enc.preprocess_cfg)
    with torch.no_grad():
        expected = enc.encode(torch.stack([inner[i][IMAGE] for i in range(len(inner))]))  # (N, F)
    got = torch.stack([ds[i][FEATURES]["img"] for i in range(len(ds))])
    torch.testing.assert_close(got, expected)
    assert ds.texts == inner.texts and ds.labels.tolist() == inner.labels.tolist() and ds.num_classes == 2
    assert ds[1][TEXT] == inner[1][TEXT] and int(ds[1][LABEL]) == 1 and IMAGE not in ds[1]
    assert ds.feature_dim("img") == expected.shape[1]
    # a new process (empty memo) reads the cache file; another encoder's weights would give other numbers
    monkeypatch.setattr(ff, "_MEMO", {})
    torch.manual_seed(123)
    again = create_dataset("frozen_features", data=PAIRS, cache_dir=tmp_path, **ENC)
    torch.testing.assert_close(torch.stack([again[i][FEATURES]["img"] for i in range(len(again))]), expected)
    assert again[1].keys() == ds[1].keys() and again.texts == ds.texts
    assert len(list(tmp_path.glob("*/chunk-*.npz"))) == 1  # one folder per spec, one file of 16 batches here


_FROZEN_ENCODER = ff.frozen_encoder


class _Killed(RuntimeError):
    pass


def _count_encodes(monkeypatch: pytest.MonkeyPatch, fail_after: int | None = None) -> list[int]:
    """Counts the frozen encoder's ``encode`` calls (batches); raises ``_Killed`` on call ``fail_after + 1``."""
    calls: list[int] = []

    def counting(*args: object, **kwargs: object) -> object:
        enc = _FROZEN_ENCODER(*args, **kwargs)  # type: ignore[arg-type]
        encode = enc.encode

        def wrapped(x: torch.Tensor, *a: object, **k: object) -> torch.Tensor:
            if fail_after is not None and len(calls) == fail_after:
                raise _Killed("killed")
            calls.append(len(x))
            return encode(x, *a, **k)

        enc.encode = wrapped
        return enc

    monkeypatch.setattr(ff, "frozen_encoder", counting)
    return calls


def _features(ds: object) -> np.ndarray:
    return np.stack([ds[i][FEATURES]["img"].numpy() for i in range(len(ds))])  # type: ignore[index,arg-type]


def test_a_killed_extraction_resumes_from_its_finished_chunks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    kw = {"data": PAIRS, "batch_size": 1, "chunk_batches": 1, "progress": False, **ENC}
    monkeypatch.setattr(ff, "_MEMO", {})
    calls = _count_encodes(monkeypatch)
    torch.manual_seed(0)
    whole = _features(create_dataset("frozen_features", cache_dir=tmp_path / "whole", **kw))  # uninterrupted
    n = len(whole)
    assert n == 4 and len(calls) == n
    monkeypatch.setattr(ff, "_MEMO", {})
    calls = _count_encodes(monkeypatch, fail_after=2)
    torch.manual_seed(0)
    with pytest.raises(_Killed):  # a kill after two chunks: both are on disk
        create_dataset("frozen_features", cache_dir=tmp_path / "run", **kw)
    assert len(calls) == 2 and len(list((tmp_path / "run").glob("*/chunk-*.npz"))) == 2
    monkeypatch.setattr(ff, "_MEMO", {})
    calls = _count_encodes(monkeypatch)
    torch.manual_seed(0)
    resumed = create_dataset("frozen_features", cache_dir=tmp_path / "run", **kw)
    assert len(calls) == n - 2  # only the rest
    np.testing.assert_array_equal(_features(resumed), whole)  # bitwise
    monkeypatch.setattr(ff, "_MEMO", {})
    calls = _count_encodes(monkeypatch)
    again = create_dataset("frozen_features", cache_dir=tmp_path / "run", **kw)
    assert calls == [] and again.texts == resumed.texts  # complete: read, not computed
    np.testing.assert_array_equal(_features(again), whole)


def test_a_changed_encoder_or_dataset_recomputes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    kw = {"batch_size": 2, "progress": False, "cache_dir": tmp_path}
    monkeypatch.setattr(ff, "_MEMO", {})
    calls = _count_encodes(monkeypatch)
    create_dataset("frozen_features", data=PAIRS, **kw, **ENC)
    assert len(calls) == 2
    monkeypatch.setattr(ff, "_MEMO", {})
    calls = _count_encodes(monkeypatch)
    create_dataset("frozen_features", data=PAIRS, encoder="tiny_cnn", encoder_args={"preprocess": {"size": 24}}, **kw)
    assert len(calls) == 2  # another encoder: its own features
    monkeypatch.setattr(ff, "_MEMO", {})
    calls = _count_encodes(monkeypatch)
    more = {**PAIRS, "args": {**PAIRS["args"], "pairs_per_class": 3}}
    assert len(create_dataset("frozen_features", data=more, **kw, **ENC)) == 6 and len(calls) == 3
    assert len(list(tmp_path.glob("*/manifest.json"))) == 3


def test_a_chunk_cache_with_another_key_is_emptied(tmp_path: Path) -> None:
    rows = np.arange(6, dtype=np.float32).reshape(3, 2)
    old = ChunkCache(tmp_path, {"spec": "a"}, n=3, chunk=2)
    old.write(0, rows[:2], [{"i": 0}, {"i": 1}])
    assert old.missing() == [1]
    new = ChunkCache(tmp_path, {"spec": "b"}, n=3, chunk=2)
    assert new.missing() == [0, 1]
    new.write(1, rows[2:], [{"i": 2}])
    assert old.missing() == [0, 1] and new.missing() == [0] and not (tmp_path / "chunk-000000.npz").exists()
    new.write(0, rows[:2], [{"i": 0}, {"i": 1}])
    got, fields = new.load_all()
    np.testing.assert_array_equal(got, rows)
    assert fields == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_frozen_features_errors() -> None:
    with pytest.raises(ConfigError, match="data must be"):
        create_dataset("frozen_features", data="xmodal_pairs")
    with pytest.raises(ConfigError, match="plain name"):
        create_dataset("frozen_features", data=PAIRS, key="features.img", **ENC)


def test_biased_settings_share_colour_and_background_per_class() -> None:
    ds = create_dataset("xmodal_pairs", split="train", pairs_per_class=6, settings_per_class=1)
    plain = create_dataset("xmodal_pairs", split="train", pairs_per_class=6)
    c = ds.num_classes
    for k in range(c):
        specs = [ds.photo_spec(i) for i in range(k, ds.n, c)]
        assert len({(s.color, s.bg_color, s.background, s.texture) for s in specs}) == 1
        assert all(s.color in ds.caption(i) for s, i in zip(specs, range(k, ds.n, c), strict=True))
    free = {(plain.photo_spec(i).color, plain.photo_spec(i).bg_color) for i in range(0, plain.n, c)}
    assert len(free) > 1  # without settings the photos of a class vary
    assert plain.texts == [plain.world.caption(i, "train") for i in range(plain.n)]  # the world's own captions
    two = create_dataset("xmodal_pairs", split="train", pairs_per_class=6, settings_per_class=2)
    assert len({two.photo_spec(i).color for i in range(0, two.n, c)}) <= 2
    with pytest.raises(ConfigError, match="settings_per_class"):
        create_dataset("xmodal_pairs", settings_per_class=-1)


def test_chtn_with_a_frozen_encoder_embeds_images_as_their_features(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ff, "_MEMO", {})
    torch.manual_seed(0)
    feats = create_dataset("frozen_features", data=PAIRS, **ENC)
    torch.manual_seed(0)
    args = {"image_frozen": "tiny_cnn", "image_frozen_args": {"preprocess": {"size": 32}}, "image_key": "features.img",
            "image_trunk": "mlp_features", "image_trunk_args": {"hidden_dims": [], "embed_dim": 8},
            "widths": [8, 8], "shared_widths": [8, 8]}  # fmt: skip
    task = create_task("chtn", args, feats)
    assert task.domains()["photo"].kind.is_visual  # the run embeds photos (index, search)
    task.train()
    assert not task.frozen.training  # frozen BatchNorm statistics
    task.eval()
    images = create_dataset(PAIRS["name"], **PAIRS["args"])
    images.transform = build_transform(task.domains()["photo"].preprocess)
    x = torch.stack([images[i][IMAGE] for i in range(len(images))])
    f = torch.stack([feats[i][FEATURES]["img"] for i in range(len(feats))])
    with torch.no_grad():
        torch.testing.assert_close(task.embed("photo", x), task.embed("photo", f))
    assert np.isfinite(task.embed("photo", f).detach().numpy()).all()
