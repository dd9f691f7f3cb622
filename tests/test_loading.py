from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from logowatch.errors import ImageLoadError, ImageTooLargeError
from logowatch.loading import composite_on_contrast, load_image
from tests.conftest import FIXTURES
from tests.fixtures.make_fixtures import bomb_png


@pytest.mark.parametrize(
    "name, mode_before",
    [
        ("cmyk.jpg", "CMYK"),
        ("sixteen-bit.png", "I;16"),
        ("grey-alpha.png", "LA"),
        ("palette.png", "P"),
        ("transparent.png", "RGBA"),
        ("animated.gif", "P"),
        ("no-extension", "RGB"),
    ],
)
def test_awkward_modes_load_as_rgb(name: str, mode_before: str) -> None:
    assert Image.open(FIXTURES / name).mode.startswith(mode_before[:3])
    image = load_image(FIXTURES / name)
    assert image.rgb.dtype == np.uint8
    assert image.rgb.ndim == 3 and image.rgb.shape[2] == 3
    assert image.rgb.std() > 20, "the emblem must survive the conversion, not become flat"


def test_sixteen_bit_is_scaled_not_clipped() -> None:
    image = load_image(FIXTURES / "sixteen-bit.png")
    # The white background is 65535 in 16 bits: it must become 255, and dark strokes stay dark.
    assert image.rgb.max() == 255
    assert image.rgb.min() < 60


def test_exif_orientation_is_applied() -> None:
    stored = Image.open(FIXTURES / "exif-rotated.jpg")
    assert stored.height > stored.width  # stored turned: portrait
    image = load_image(FIXTURES / "exif-rotated.jpg")
    # Upright it is landscape, with the emblem on the left and blank white on the right.
    assert image.size == (stored.height, stored.width) == image.original_size
    left, right = np.array_split(image.rgb.astype(float), 2, axis=1)
    assert left.mean() < right.mean() - 20 and right.mean() > 240


def test_a_callers_image_is_left_as_it_was_given() -> None:
    # Turned upright for matching, an image with an EXIF orientation is not turned in its owner's hands.
    stored = Image.open(FIXTURES / "exif-rotated.jpg")
    given = stored.copy()
    given.info["exif"] = stored.info["exif"]
    image = load_image(given)
    assert image.size == (stored.height, stored.width)
    assert given.size == stored.size and given.getexif().get(0x0112) == 6


def test_a_callers_unread_jpeg_and_animation_are_left_at_their_size_and_frame(tmp_path: Path) -> None:
    # Pillow decodes a JPEG at a fraction of its size when asked to before it is read, and an
    # animation is read at its current frame: neither may change in the caller's hands.
    photo = tmp_path / "big.jpg"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (1500, 2400, 3), np.uint8)).save(photo)
    given = Image.open(photo)
    load_image(given, max_side=256)  # libjpeg would decode it at an eighth
    assert given.size == (2400, 1500) and given.load() is not None and given.size == (2400, 1500)
    frames = [Image.new("RGB", (40, 40), colour) for colour in ("red", "green", "blue")]
    animation = tmp_path / "a.gif"
    frames[0].save(animation, save_all=True, append_images=frames[1:])
    moving = Image.open(animation)
    moving.seek(2)
    loaded = load_image(moving)
    assert moving.tell() == 2
    assert loaded.rgb[0, 0].tolist() == [255, 0, 0]  # its first frame, as a file's


def test_a_directory_entry_is_a_path(tmp_path: Path) -> None:
    (tmp_path / "cmyk.jpg").write_bytes((FIXTURES / "cmyk.jpg").read_bytes())
    with os.scandir(tmp_path) as entries:
        (entry,) = list(entries)
        assert load_image(entry).sha256 == hashlib.sha256((FIXTURES / "cmyk.jpg").read_bytes()).hexdigest()


def test_animation_uses_first_frame() -> None:
    image = load_image(FIXTURES / "animated.gif")
    assert image.frames == 2
    # The second frame is flat green; the first one is the emblem, mostly white.
    assert image.rgb.mean() > 150


def test_transparency_is_kept_and_composited_on_contrast() -> None:
    image = load_image(FIXTURES / "transparent.png")
    assert image.alpha is not None
    flat = image.composited()
    transparent = image.alpha == 0
    # A dark emblem lands on white, never on black.
    assert flat[transparent].mean() > 250


def test_white_emblem_lands_on_black() -> None:
    rgb = np.full((10, 10, 3), 255, np.uint8)
    alpha = np.zeros((10, 10), np.uint8)
    alpha[3:7, 3:7] = 255
    flat = composite_on_contrast(rgb, alpha)
    assert flat[0, 0].tolist() == [0, 0, 0]
    assert flat[5, 5].tolist() == [255, 255, 255]


def test_large_images_are_capped() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 1500), (200, 10, 10)).save(buffer, "JPEG")
    image = load_image(buffer.getvalue(), max_side=600)
    assert max(image.size) <= 600
    assert image.original_size == (3000, 1500)


@pytest.mark.parametrize("size", [(3000, 3001), (3001, 3000)])
def test_a_nearly_square_image_keeps_its_sides_in_order(size: tuple[int, int]) -> None:
    # Decoded at 512 x 512, its shape no longer says which side was the longer.
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, "PNG")
    assert load_image(buffer.getvalue(), max_side=512).original_size == size


@pytest.mark.parametrize(
    "name, error, words",
    [
        ("empty.jpg", ImageLoadError, "empty"),
        ("login-page.jpg", ImageLoadError, "HTML"),
        ("truncated.jpg", ImageLoadError, "truncated"),
        ("bomb.png", ImageTooLargeError, "decompression bomb"),
    ],
)
def test_bad_files_raise_clear_errors(name: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error) as caught:
        load_image(FIXTURES / name)
    assert words in str(caught.value)
    assert name in str(caught.value)


def test_own_pixel_limit_is_checked_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError, match="more than the limit"):
        load_image(FIXTURES / "cmyk.jpg", max_pixels=1000)


def test_a_file_or_bytes_over_the_byte_limit_are_refused_alike() -> None:
    size = (FIXTURES / "cmyk.jpg").stat().st_size
    with pytest.raises(ImageTooLargeError, match=f"the file is {size:,} bytes, over the 1,000 byte limit"):
        load_image(FIXTURES / "cmyk.jpg", max_bytes=1000)
    with pytest.raises(ImageTooLargeError, match="<stdin>: refused, over the 1,000 byte limit"):
        load_image((FIXTURES / "cmyk.jpg").read_bytes(), name="<stdin>", max_bytes=1000)
    assert load_image((FIXTURES / "cmyk.jpg").read_bytes(), max_bytes=size).rgb.size


def test_a_huge_png_is_averaged_down_before_it_is_converted() -> None:
    # 4,800 x 4,000 pixels: converted whole, 58 MB of array before any reduction.
    buffer = io.BytesIO()
    Image.new("RGB", (4800, 4000), (200, 10, 10)).save(buffer, "PNG", compress_level=1)
    tracemalloc.start()
    try:
        image = load_image(buffer.getvalue(), max_side=512)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert image.size == (512, 427) and image.original_size == (4800, 4000)
    assert tuple(image.rgb[200, 200]) == (200, 10, 10)
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB traced"


def test_reading_a_small_file_sets_no_memory_aside_for_the_largest() -> None:
    tracemalloc.start()
    try:
        load_image(FIXTURES / "cmyk.jpg")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024  # the byte limit is 256 MiB


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_without_a_size_is_read_no_further_than_the_limit() -> None:
    with pytest.raises(ImageTooLargeError, match="/dev/zero: refused, over the 1,000 byte limit"):
        load_image(Path("/dev/zero"), max_bytes=1000)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image.open(FIXTURES / "transparent.png"),
        lambda: np.asarray(Image.open(FIXTURES / "transparent.png").convert("RGBA")),
        lambda: np.asarray(Image.open(FIXTURES / "cmyk.jpg").convert("RGB")).astype(np.float32) / 255.0,
        lambda: np.asarray(Image.open(FIXTURES / "cmyk.jpg").convert("L")),
        lambda: (FIXTURES / "cmyk.jpg").read_bytes(),
        lambda: str(FIXTURES / "cmyk.jpg"),
    ],
    ids=["pillow", "rgba-array", "float-array", "grey-array", "bytes", "str"],
)
def test_every_kind_of_source_loads_as_rgb(make) -> None:
    image = load_image(make())
    assert image.rgb.dtype == np.uint8 and image.rgb.shape[2] == 3
    assert image.rgb.std() > 20


def test_only_files_carry_a_sha256() -> None:
    data = (FIXTURES / "cmyk.jpg").read_bytes()
    assert load_image(data).sha256 == load_image(FIXTURES / "cmyk.jpg").sha256 == hashlib.sha256(data).hexdigest()
    assert load_image(Image.open(FIXTURES / "cmyk.jpg")).sha256 is None


@pytest.mark.parametrize("array", [np.zeros((4, 4, 2), np.uint8), np.zeros((4,), np.uint8), np.zeros((4, 4), np.int64)],
                         ids=["two-channels", "one-dimension", "int64"])
def test_arrays_that_are_not_images_are_refused(array: np.ndarray) -> None:
    with pytest.raises(ImageLoadError, match="<array>"):
        load_image(array)


def test_both_bomb_checks_quote_the_same_limit() -> None:
    # Pillow refuses the largest claims itself, before our check; the message is ours all the same.
    ours = ImageTooLargeError
    with pytest.raises(ours, match="more than the limit of 120,000,000") as first:
        load_image(FIXTURES / "bomb.png")
    # 12,000 x 12,000 = 144 million pixels: under Pillow's refusal, over our limit.
    with pytest.raises(ours, match="more than the limit of 120,000,000") as second:
        load_image(bomb_png(12_000, 12_000))
    assert "decompression bomb" in str(first.value) and "decompression bomb" in str(second.value)


def test_missing_file_is_an_image_load_error(tmp_path) -> None:
    with pytest.raises(ImageLoadError, match=r"no such file$"):
        load_image(tmp_path / "absent.png")
    (tmp_path / "there.png").write_bytes(b"")
    for spaced in (f"{tmp_path / 'there.png'} ", f"{tmp_path}/ there.png", f"{tmp_path} /there.png"):
        with pytest.raises(ImageLoadError, match=r"no such file; a name in its path begins or ends with white space$"):
            load_image(spaced)
