"""``frozen_features``: an image dataset through a frozen encoder (the numbers the encoder gives on the same
preprocessed images, the wrapped fields kept, a disk cache that round-trips), the biased ``xmodal_pairs``
settings, and a ``chtn`` task with ``image_frozen`` embedding raw images exactly as it embeds their features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from semspace.data import create_dataset
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
    assert len(list(tmp_path.glob("*.npz"))) == 1


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
