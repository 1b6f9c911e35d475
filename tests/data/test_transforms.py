"""Transforms from PreprocessCfg: modes, sizes, normalisation by hand, crop geometry, inverses."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from semspace.data.preprocess import PreprocessCfg
from semspace.data.transforms import build_transform, denormalize, resize, to_pil
from semspace.errors import ConfigError, DataError


def _odd_image(mode: str, size: tuple[int, int]) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(np.full(size[::-1], 40000, dtype=np.uint16))
    if mode == "P":
        return Image.new("RGB", size, (10, 200, 30)).convert("P")
    return Image.new(mode, size)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "P", "L", "CMYK", "I;16", "1", "F", "YCbCr"])
@pytest.mark.parametrize("size", [(1, 1), (37, 5), (5, 37), (64, 64)])
@pytest.mark.parametrize("channels", [3, 1])
def test_any_mode_and_size_gives_c_h_w(mode: str, size: tuple[int, int], channels: int) -> None:
    cfg = PreprocessCfg(size=16, channels=channels, mean=(0.5,) * channels, std=(0.5,) * channels)
    for resize_mode in ("squash", "center_crop"):
        cfg.resize = resize_mode
        x = build_transform(cfg)(_odd_image(mode, size))
        assert x.shape == (channels, 16, 16) and x.dtype == torch.float32
        assert torch.isfinite(x).all() and x.min() >= -1.0 and x.max() <= 1.0


def test_normalisation_matches_hand_computation() -> None:
    cfg = PreprocessCfg(size=8, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 2.0))
    rgb = (51, 102, 204)
    x = build_transform(cfg)(Image.new("RGB", (20, 12), rgb))
    for c in range(3):
        expected = (rgb[c] / 255.0 - cfg.mean[c]) / cfg.std[c]
        torch.testing.assert_close(x[c], torch.full((8, 8), expected), rtol=0, atol=1e-6)


def test_16bit_input_uses_full_range() -> None:
    cfg = PreprocessCfg(size=4, channels=1, mean=(0.0,), std=(1.0,))
    x = build_transform(cfg)(_odd_image("I;16", (4, 4)))
    torch.testing.assert_close(x, torch.full((1, 4, 4), round(40000 / 257) / 255.0))


def _bands(w: int, h: int) -> Image.Image:
    """Three vertical bands red | green | blue, each w wide."""
    a = np.zeros((h, 3 * w, 3), np.uint8)
    a[:, :w, 0] = a[:, w : 2 * w, 1] = a[:, 2 * w :, 2] = 255
    return Image.fromarray(a)


def test_center_crop_keeps_the_middle_and_squash_keeps_everything() -> None:
    img = _bands(30, 30)  # 90 x 30: the centred 30 x 30 square is the green band
    crop = np.asarray(resize(img, 10, mode="center_crop", interpolation="nearest"))
    assert crop.shape == (10, 10, 3) and (crop == [0, 255, 0]).all()
    squash = np.asarray(resize(img, 9, mode="squash", interpolation="nearest"))
    assert (squash[:, 0] == [255, 0, 0]).all() and (squash[:, -1] == [0, 0, 255]).all()
    tall = resize(img.rotate(90, expand=True), 10, mode="center_crop", interpolation="nearest")
    assert tall.size == (10, 10) and (np.asarray(tall) == [0, 255, 0]).all()


def test_array_input_equals_pil_input() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, size=(9, 13, 3), dtype=np.uint8)
    tf = build_transform(PreprocessCfg(size=8))
    torch.testing.assert_close(tf(a), tf(Image.fromarray(a)))
    with pytest.raises(DataError, match="expected a PIL.Image or a numpy array"):
        tf("not an image")  # type: ignore[arg-type]


def test_denormalize_and_to_pil_invert_the_transform() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
    cfg = PreprocessCfg(size=12, mean=(0.4, 0.5, 0.6), std=(0.2, 0.3, 0.4))
    x = build_transform(cfg)(a)  # no resize: size matches
    torch.testing.assert_close(denormalize(x, cfg), torch.from_numpy(a).permute(2, 0, 1) / 255.0, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(to_pil(x, cfg)), a)
    batch = torch.stack([x, x])  # (2, 3, 12, 12)
    assert denormalize(batch, cfg).shape == (2, 3, 12, 12)
    grey = PreprocessCfg(size=12, channels=1, mean=(0.5,), std=(0.5,))
    assert to_pil(build_transform(grey)(a), grey).mode == "L"


def test_hflip_only_when_training() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    cfg = PreprocessCfg(size=8)
    plain = build_transform(cfg)(a)
    torch.testing.assert_close(build_transform(cfg, train=True, hflip=1.0)(a), plain.flip(-1))
    torch.testing.assert_close(build_transform(cfg, train=False, hflip=1.0)(a), plain)
    torch.testing.assert_close(build_transform(cfg, train=True)(a), plain)  # off by default


def test_bad_config_and_pickling() -> None:
    with pytest.raises(ConfigError, match="interpolation 'cubic-ish'"):
        build_transform(PreprocessCfg(interpolation="cubic-ish"))
    with pytest.raises(ConfigError, match="std must be positive"):
        build_transform(PreprocessCfg(std=(0.5, 0.0, 0.5)))
    tf = pickle.loads(pickle.dumps(build_transform(PreprocessCfg(size=8))))
    assert tf(Image.new("RGB", (3, 3))).shape == (3, 8, 8)
