"""Safe image loading: every kind of bad file becomes one DataError naming the file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semspace.data.images import array_to_image, convert_mode, list_images, load_image
from semspace.errors import DataError


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_load_rgb_png_round_trips_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "x.png")
    img = load_image(tmp_path / "x.png")
    assert img.mode == "RGB" and img.size == (5, 7)
    np.testing.assert_array_equal(np.asarray(img), a)


def test_transparency_is_composited_on_background(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red everywhere
    rgba[:2, :, 3] = 255  # top half opaque, bottom half fully transparent
    rgba[2:, :, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "a.png")
    img = np.asarray(load_image(tmp_path / "a.png", background=(10, 20, 30)))
    np.testing.assert_array_equal(img[0, 0], [200, 0, 0])
    np.testing.assert_array_equal(img[3, 3], [10, 20, 30])


def test_half_transparent_pixel_is_blended() -> None:
    img = Image.new("LA", (1, 1), (0, 128))  # black at ~50% alpha
    out = np.asarray(convert_mode(img, channels=3, background=(255, 255, 255)))  # (1, 1, 3)
    expected = 255 * (1 - 128 / 255)  # alpha compositing by hand
    assert np.all(np.abs(out.astype(float) - expected) <= 1)


def test_palette_with_transparency(tmp_path: Path) -> None:
    p = Image.new("P", (2, 1))
    p.putpalette([0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 6))
    p.putpixel((0, 0), 0)
    p.putpixel((1, 0), 1)
    p.info["transparency"] = 0  # palette entry 0 (green) is transparent
    p.save(tmp_path / "p.png", transparency=0)
    out = np.asarray(load_image(tmp_path / "p.png", background=(9, 9, 9)))
    np.testing.assert_array_equal(out[0, 0], [9, 9, 9])
    np.testing.assert_array_equal(out[0, 1], [0, 0, 255])


def test_16bit_grey_is_rescaled_not_clipped(tmp_path: Path) -> None:
    a = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    Image.fromarray(a).save(tmp_path / "g16.png")
    out = np.asarray(load_image(tmp_path / "g16.png", channels=1))
    np.testing.assert_array_equal(out, [[0, 100, 255]])


def test_truncated_png_names_file(tmp_path: Path) -> None:
    data = _png_bytes(Image.new("RGB", (64, 64), (1, 2, 3)).effect_spread(3))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.png: not a readable image \(PNG/JPEG"):
        load_image(path)


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("hello, I am not an image\n")
    with pytest.raises(DataError, match=r"notes\.png: not a readable image .*unknown file format"):
        load_image(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.png: image file not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(DataError, match="is a folder"):
        load_image(tmp_path)


def test_stream_and_max_pixels() -> None:
    data = _png_bytes(Image.new("RGB", (10, 10)))
    assert load_image(io.BytesIO(data)).size == (10, 10)
    with pytest.raises(DataError, match=r"upload\.png: .*100 pixels; the limit is 99"):
        load_image(io.BytesIO(data), max_pixels=99, name="upload.png")


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (4, 2), (0, 0, 0))
    img.putpixel((0, 0), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img.save(tmp_path / "r.jpg", exif=exif, quality=100)
    assert load_image(tmp_path / "r.jpg").size == (2, 4)


def test_cmyk_and_1bit_modes() -> None:
    assert convert_mode(Image.new("CMYK", (3, 2)), channels=3).mode == "RGB"
    assert convert_mode(Image.new("1", (3, 2)), channels=3).mode == "RGB"
    assert convert_mode(Image.new("RGB", (3, 2)), channels=1).mode == "L"


@pytest.mark.parametrize(
    ("arr", "mode"),
    [
        (np.zeros((3, 4), np.uint8), "L"),
        (np.zeros((3, 4, 1), np.uint8), "L"),
        (np.zeros((3, 4, 3), np.float32), "RGB"),
        (np.zeros((3, 4, 4), np.uint8), "RGBA"),
        (np.zeros((3, 4), bool), "L"),
    ],
)
def test_array_to_image_shapes(arr: np.ndarray, mode: str) -> None:
    img = array_to_image(arr)
    assert img.mode == mode and img.size == (4, 3)


def test_array_to_image_values_and_errors() -> None:
    out = np.asarray(array_to_image(np.array([[0.0, 0.5, 2.0]], np.float32)))
    np.testing.assert_array_equal(out, [[0, 128, 255]])
    with pytest.raises(DataError, match=r"shape \(3, 4, 4, 1\)"):
        array_to_image(np.zeros((3, 4, 4, 1)))
    with pytest.raises(DataError, match=r"shape \(2, 3, 5\)"):
        array_to_image(np.zeros((2, 3, 5)))


def test_list_images_recursive_sorted_skips_hidden(tmp_path: Path) -> None:
    for rel in ["b/2.PNG", "b/1.jpg", "a.png", ".hidden/x.png", "b/.y.png", "c/readme.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    got = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert got == ["a.png", "b/1.jpg", "b/2.PNG"]
    assert [p.name for p in list_images(tmp_path, extensions=["jpg"])] == ["1.jpg"]
