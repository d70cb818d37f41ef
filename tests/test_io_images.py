"""Reading, converting and atomically writing images, with real files in tmp_path."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from hidt_cli.io import read as image_reading
from hidt_cli.io.images import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    LoadedImage,
    encode_image,
    format_for_path,
    read_image,
    write_image,
)
from tests.images import SRGB, bomb_png, encoded


def asymmetric_rgb(height: int = 2, width: int = 3) -> np.ndarray:
    """Every pixel different, so any flip or rotation shows."""
    values = np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3)
    return values * 9 + 5


def can_still_access(path: Path, mode: int) -> bool:
    """root (and some CI sandboxes) ignore permission bits; those tests are skipped there."""
    return os.access(path, mode)


# --- reading: modes -------------------------------------------------------------------------


def test_rgb_png_round_trip(tmp_path: Path) -> None:
    rgb = asymmetric_rgb(4, 5)
    write_image(tmp_path / "a.png", rgb)
    loaded = read_image(tmp_path / "a.png")
    assert isinstance(loaded, LoadedImage)
    np.testing.assert_array_equal(loaded.rgb, rgb)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.flags.c_contiguous
    assert loaded.alpha is None
    assert loaded.size == (5, 4)
    assert loaded.path == str(tmp_path / "a.png")
    assert loaded.notes == []


def test_grayscale_becomes_equal_rgb_channels(tmp_path: Path) -> None:
    gray = np.array([[0, 50, 255], [7, 128, 200]], dtype=np.uint8)
    (tmp_path / "g.png").write_bytes(encoded(Image.fromarray(gray)))
    loaded = read_image(tmp_path / "g.png")
    np.testing.assert_array_equal(loaded.rgb, np.stack([gray] * 3, axis=2))
    assert loaded.alpha is None


def test_gray_with_alpha_keeps_alpha(tmp_path: Path) -> None:
    gray = np.array([[10, 20], [30, 40]], dtype=np.uint8)
    alpha = np.array([[0, 255], [128, 64]], dtype=np.uint8)
    (tmp_path / "la.png").write_bytes(encoded(Image.fromarray(np.dstack([gray, alpha]), mode="LA")))
    loaded = read_image(tmp_path / "la.png")
    np.testing.assert_array_equal(loaded.rgb[:, :, 1], gray)
    np.testing.assert_array_equal(loaded.alpha, alpha)


def test_palette_transparency_becomes_alpha(tmp_path: Path) -> None:
    indices = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    image = Image.fromarray(indices, mode="P")
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (253 * 3))
    (tmp_path / "p.png").write_bytes(encoded(image, transparency=1))
    loaded = read_image(tmp_path / "p.png")
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(loaded.rgb, colours[indices])
    np.testing.assert_array_equal(loaded.alpha, np.where(indices == 1, 0, 255))


def test_palette_without_transparency_has_no_alpha(tmp_path: Path) -> None:
    image = Image.fromarray(np.zeros((2, 2), np.uint8), mode="P")
    image.putpalette([9, 8, 7] * 256)
    (tmp_path / "p.png").write_bytes(encoded(image))
    loaded = read_image(tmp_path / "p.png")
    assert loaded.alpha is None
    assert loaded.rgb[0, 0].tolist() == [9, 8, 7]


def test_rgba_alpha_is_kept_exactly(tmp_path: Path) -> None:
    rgb = asymmetric_rgb()
    alpha = np.array([[0, 1, 2], [253, 254, 255]], dtype=np.uint8)
    write_image(tmp_path / "a.png", rgb, alpha)
    loaded = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(loaded.rgb, rgb)
    np.testing.assert_array_equal(loaded.alpha, alpha)


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    # Pillow writes CMYK JPEGs the Adobe way (inverted, with an APP14 marker), like Photoshop does.
    image = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    image.save(tmp_path / "cmyk.jpg", quality=95)
    loaded = read_image(tmp_path / "cmyk.jpg")
    assert np.abs(loaded.rgb.reshape(-1, 3).mean(axis=0) - [255, 0, 0]).max() < 6


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    wide = np.array([[0, 128, 129, 257], [32896, 65278, 65407, 65535]], dtype=np.uint16)
    (tmp_path / "deep.png").write_bytes(encoded(Image.fromarray(wide)))
    loaded = read_image(tmp_path / "deep.png")
    expected = np.array([[0, 0, 1, 1], [128, 254, 255, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(loaded.rgb, np.stack([expected] * 3, axis=2))


def test_32_bit_integer_tiff_uses_the_16_bit_scale(tmp_path: Path) -> None:
    values = np.array([[-5, 0, 257, 65535, 100000]], dtype=np.int32)
    Image.fromarray(values, mode="I").save(tmp_path / "int.tif")
    loaded = read_image(tmp_path / "int.tif")
    assert loaded.rgb[0, :, 0].tolist() == [0, 0, 1, 255, 255]


def test_float_tiff_is_rounded_and_clipped_to_the_gray_scale(tmp_path: Path) -> None:
    values = np.array([[-5.0, 0.4, 100.6, 300.0]], dtype=np.float32)
    Image.fromarray(values, mode="F").save(tmp_path / "float.tif")
    loaded = read_image(tmp_path / "float.tif")
    assert loaded.rgb[0, :, 1].tolist() == [0, 0, 101, 255]


def test_one_bit_image_becomes_black_and_white(tmp_path: Path) -> None:
    bits = np.array([[True, False], [False, True]])
    (tmp_path / "bits.png").write_bytes(encoded(Image.fromarray(bits)))
    loaded = read_image(tmp_path / "bits.png")
    np.testing.assert_array_equal(loaded.rgb[:, :, 2], np.where(bits, 255, 0))


def test_lab_tiff_becomes_rgb(tmp_path: Path) -> None:
    Image.new("LAB", (4, 4), (255, 128, 128)).save(tmp_path / "lab.tif")  # L=100, neutral: white
    loaded = read_image(tmp_path / "lab.tif")
    assert loaded.rgb.min() > 245


# --- reading: orientation, colour profile, frames ---------------------------------------------

EXPECTED_UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, k=-1),  # stored rotated left: turn clockwise to show
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, k=1),
}


@pytest.mark.parametrize("orientation", sorted(EXPECTED_UPRIGHT))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    stored = asymmetric_rgb(2, 3)
    exif = Image.Exif()
    exif[0x0112] = orientation
    (tmp_path / "o.png").write_bytes(encoded(Image.fromarray(stored), exif=exif))
    loaded = read_image(tmp_path / "o.png")
    np.testing.assert_array_equal(loaded.rgb, EXPECTED_UPRIGHT[orientation](stored))
    assert loaded.rgb.flags.c_contiguous


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp"])
def test_icc_profile_survives_read_write_read(tmp_path: Path, fmt: str) -> None:
    profile = SRGB
    write_image(tmp_path / f"first.{fmt}", asymmetric_rgb(8, 8), icc_profile=profile)
    first = read_image(tmp_path / f"first.{fmt}")
    assert first.icc_profile == profile
    write_image(tmp_path / f"second.{fmt}", first.rgb, icc_profile=first.icc_profile)
    assert read_image(tmp_path / f"second.{fmt}").icc_profile == profile


def non_rgb_profile(space: bytes) -> bytes:
    """An sRGB profile relabelled: enough for the header check, unusable for a real transform."""
    profile = bytearray(SRGB)
    profile[16:20] = space
    return bytes(profile)


def test_gray_profile_is_not_carried_over_to_rgb(tmp_path: Path) -> None:
    Image.new("L", (4, 4), 90).save(tmp_path / "g.png", icc_profile=non_rgb_profile(b"GRAY"))
    loaded = read_image(tmp_path / "g.png")
    assert loaded.icc_profile is None
    assert loaded.notes == ["dropped the embedded GRAY colour profile"]
    assert loaded.rgb[0, 0].tolist() == [90, 90, 90]


def test_unusable_cmyk_profile_falls_back_to_plain_conversion(tmp_path: Path) -> None:
    image = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    image.save(tmp_path / "cmyk.jpg", quality=95, icc_profile=non_rgb_profile(b"CMYK"))
    loaded = read_image(tmp_path / "cmyk.jpg")
    assert loaded.icc_profile is None
    assert loaded.notes == ["dropped the embedded CMYK colour profile"]
    assert np.abs(loaded.rgb.reshape(-1, 3).mean(axis=0) - [255, 0, 0]).max() < 6


def test_animated_gif_gives_first_frame_and_a_note(tmp_path: Path) -> None:
    frames = [
        Image.new("RGB", (8, 8), colour) for colour in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    ]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    loaded = read_image(tmp_path / "anim.gif")
    assert loaded.rgb[4, 4].tolist() == [255, 0, 0]
    assert loaded.notes == ["animated image: used the first of 3 frames"]


def test_bytes_from_stdin(tmp_path: Path) -> None:
    data = encode_image(asymmetric_rgb(), fmt="png")
    loaded = read_image(data)
    assert loaded.path == "<stdin>"
    np.testing.assert_array_equal(loaded.rgb, asymmetric_rgb())
    with pytest.raises(ImageError, match=r"^<stdin>: not an image file \(unrecognised format\)$"):
        read_image(b"hello")
    with pytest.raises(ImageError, match=r"^piped: empty file$"):
        read_image(b"", name="piped")


# --- reading: errors ----------------------------------------------------------------------------


def reason_for(path: Path | bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    with pytest.raises(ImageError) as caught:
        read_image(path, max_pixels=max_pixels)
    error = caught.value
    assert str(error) == f"{error.path}: {error.reason}"
    assert "\n" not in str(error)
    return error.reason


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as caught:
        read_image(tmp_path / "missing.jpg")
    assert caught.value.path == str(tmp_path / "missing.jpg")
    assert caught.value.reason == "no such file"


def test_directory_named_like_an_image(tmp_path: Path) -> None:
    (tmp_path / "folder.jpg").mkdir()
    assert reason_for(tmp_path / "folder.jpg") == "is a directory"


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.png"
    write_image(path, asymmetric_rgb())
    path.chmod(0)
    try:
        if can_still_access(path, os.R_OK):
            pytest.skip("permission bits are not enforced for this user (root?)")
        assert reason_for(path) == "permission denied"
    finally:
        path.chmod(0o644)


def test_unreadable_file_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same path as above, for users (root) that the permission bits do not stop."""
    write_image(tmp_path / "secret.png", asymmetric_rgb())

    def denied(*_: object, **__: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(image_reading, "open", denied, raising=False)
    assert reason_for(tmp_path / "secret.png") == "permission denied"


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert reason_for(tmp_path / "empty.jpg") == "empty file"


def test_text_named_jpg(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_text("definitely not a picture\n")
    assert reason_for(tmp_path / "photo.jpg") == "not an image file (unrecognised format)"


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_truncated_image(tmp_path: Path, fmt: str) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode_image(noise, fmt=fmt)
    (tmp_path / f"cut.{fmt}").write_bytes(data[: len(data) // 2])
    assert reason_for(tmp_path / f"cut.{fmt}") == "truncated or corrupt image data"


def test_huge_header_is_refused_before_decoding(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "big.png").write_bytes(bomb_png(100_000, 100_000))
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    reason = reason_for(tmp_path / "big.png")
    assert not decoded  # refused from the header: no pixel was decoded
    assert (
        reason == f"10000000000 pixels is over the limit of {DEFAULT_MAX_PIXELS} (use --max-pixels)"
    )


def test_max_pixels_is_per_call_and_pillow_global_is_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_image(tmp_path / "a.png", asymmetric_rgb(4, 6))
    assert (
        reason_for(tmp_path / "a.png", max_pixels=23)
        == "24 pixels is over the limit of 23 (use --max-pixels)"
    )
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # another caller's stricter global
    assert read_image(tmp_path / "a.png", max_pixels=24).size == (6, 4)
    assert Image.MAX_IMAGE_PIXELS == 10


@pytest.mark.parametrize("brand", [b"heic", b"mif1"])
def test_heic_header_without_image_data_is_corrupt(tmp_path: Path, brand: bytes) -> None:
    box = struct.pack(">I", 24) + b"ftyp" + brand + b"\0\0\0\0" + brand + b"heic"
    (tmp_path / "a.heic").write_bytes(box + b"\0" * 100)
    assert reason_for(tmp_path / "a.heic") == "truncated or corrupt image data"


def test_avif_sharing_the_heif_container_brand_is_not_called_heic(tmp_path: Path) -> None:
    box = struct.pack(">I", 24) + b"ftypmif1" + b"\0\0\0\0" + b"mif1avif"
    (tmp_path / "a.avif").write_bytes(box + b"\0" * 100)
    assert "HEIC" not in reason_for(tmp_path / "a.avif")


# --- writing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"), [("a.jpg", "jpg"), ("a.JPEG", "jpg"), ("a.png", "png"), ("x/a.WebP", "webp")]
)
def test_format_for_path(name: str, fmt: str) -> None:
    assert format_for_path(name) == fmt


@pytest.mark.parametrize("name", ["a.gif", "a.bmp", "noext"])
def test_format_for_path_rejects_others(name: str) -> None:
    with pytest.raises(ValueError, match=r"\.jpg, \.png, \.webp, \.tif, \.avif or \.heic"):
        format_for_path(name)


def test_jpeg_drops_alpha_png_and_webp_keep_it(tmp_path: Path) -> None:
    rgb = np.full((16, 16, 3), 120, np.uint8)
    alpha = np.tile(np.array([0, 255], np.uint8), (16, 8))
    for fmt in ("jpg", "png", "webp"):
        write_image(tmp_path / f"a.{fmt}", rgb, alpha)
    assert read_image(tmp_path / "a.jpg").alpha is None
    np.testing.assert_array_equal(read_image(tmp_path / "a.png").alpha, alpha)
    np.testing.assert_array_equal(read_image(tmp_path / "a.webp").alpha, alpha)


def test_jpeg_quality_changes_the_encoding() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert len(encode_image(noise, fmt="jpg", quality=30)) < len(
        encode_image(noise, fmt="jpg", quality=95)
    )


def test_encode_rejects_bad_arrays() -> None:
    with pytest.raises(ValueError, match="H×W×3 uint8"):
        encode_image(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="alpha"):
        encode_image(np.zeros((2, 2, 3), np.uint8), np.zeros((3, 2), np.uint8))
    with pytest.raises(ValueError, match="unsupported output format 'gif'"):
        encode_image(np.zeros((2, 2, 3), np.uint8), fmt="gif")


def test_write_creates_parents_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "out.png"
    write_image(target, asymmetric_rgb())
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.png"]


def test_output_gets_umask_permissions_not_private_ones(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_image(tmp_path / "out.png", asymmetric_rgb())
    finally:
        os.umask(previous)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o644


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError) as caught:
        write_image(target, asymmetric_rgb())
    assert isinstance(caught.value, ImageError)
    assert str(caught.value) == f"{target}: exists (use --overwrite)"
    assert target.read_bytes() == b"precious"
    write_image(target, asymmetric_rgb(), overwrite=True)
    np.testing.assert_array_equal(read_image(target).rgb, asymmetric_rgb())


def test_failed_rename_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", fail)
    monkeypatch.setattr(os, "link", fail)  # the publication without --overwrite
    with pytest.raises(ImageError, match="cannot write: input/output error"):
        write_image(tmp_path / "out.png", asymmetric_rgb())
    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_writing_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(_: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_image(tmp_path / "out.png", asymmetric_rgb())
    assert list(tmp_path.iterdir()) == []


def test_disk_full_is_an_image_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(ImageError) as caught:
        write_image(tmp_path / "out.jpg", asymmetric_rgb())
    assert caught.value.reason == "cannot write: no space left on device"
    assert list(tmp_path.iterdir()) == []


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    write_image(tmp_path / "out.png", asymmetric_rgb(5, 5))
    monkeypatch.undo()
    np.testing.assert_array_equal(read_image(tmp_path / "out.png").rgb, asymmetric_rgb(5, 5))


def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if can_still_access(folder, os.W_OK):
            pytest.skip("permission bits are not enforced for this user (root?)")
        with pytest.raises(ImageError, match="cannot write: permission denied"):
            write_image(folder / "out.png", asymmetric_rgb())
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_read_only_folder_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*_: object, **__: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ImageError, match=r"cannot write: permission denied$"):
        write_image(tmp_path / "out.png", asymmetric_rgb())
    assert list(tmp_path.iterdir()) == []


def test_encoder_limits_become_image_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot encode as WEBP"):
        write_image(tmp_path / "wide.webp", np.zeros((1, 16_400, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
