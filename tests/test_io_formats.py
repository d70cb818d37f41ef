"""Every format read and written on files made here: HEIC, AVIF, TIFF, 16-bit PNG, RAW (DNG),
the depth kept where the format holds it, names that lie, and damaged or oversized files."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageFile

from hidt_cli.io import png, raw
from hidt_cli.io import read as image_reading
from hidt_cli.io.depth import to_8bit
from hidt_cli.io.images import (
    ImageError,
    encode_image,
    fit_alpha,
    format_for_path,
    read_image,
    write_image,
)
from tests.dng import MAKE, dng_bytes
from tests.images import ramp_16


def levels(channel: np.ndarray) -> int:
    return len(np.unique(channel))


def reason_for(source, **options) -> str:
    with pytest.raises(ImageError) as caught:
        read_image(source, **options)
    assert "\n" not in str(caught.value)
    assert str(caught.value) == f"{caught.value.path}: {caught.value.reason}"
    return caught.value.reason


def heic_bytes(pixels: np.ndarray, mode: str, **options: object) -> bytes:
    """A HEIC written by pillow-heif itself, as a phone's would be."""
    heif = pillow_heif.from_bytes(mode, (pixels.shape[1], pixels.shape[0]), pixels.tobytes())
    buffer = io.BytesIO()
    heif.save(buffer, quality=90, **options)
    return buffer.getvalue()


# --- 16-bit PNG and TIFF ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_16_bit_ramp_keeps_its_levels(tmp_path, fmt) -> None:
    ramp = ramp_16()
    write_image(tmp_path / f"sky.{fmt}", ramp)
    loaded = read_image(tmp_path / f"sky.{fmt}")
    np.testing.assert_array_equal(loaded.deep, ramp)
    assert levels(loaded.deep[:, :, 0]) > 1024
    np.testing.assert_array_equal(loaded.rgb, to_8bit(ramp))
    assert (loaded.metadata.bit_depth, loaded.metadata.source_format) == (16, fmt)


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_16_bit_alpha_is_kept(tmp_path, fmt) -> None:
    ramp = ramp_16(64, 8)
    alpha = ramp[:, :, 1].copy()
    write_image(tmp_path / f"a.{fmt}", ramp, alpha)
    loaded = read_image(tmp_path / f"a.{fmt}")
    np.testing.assert_array_equal(loaded.alpha_deep, alpha)
    np.testing.assert_array_equal(loaded.alpha, to_8bit(alpha))


def test_16_bit_png_written_by_opencv_is_read_deep(tmp_path) -> None:
    ramp = ramp_16(1500, 16)
    cv2.imwrite(str(tmp_path / "cv.png"), ramp[:, :, ::-1])  # OpenCV's BGR order
    loaded = read_image(tmp_path / "cv.png")
    np.testing.assert_array_equal(loaded.deep, ramp)


def test_16_bit_gray_png_becomes_deep_equal_channels(tmp_path) -> None:
    gray = np.linspace(0, 65535, 3000).astype(np.uint16)[None, :].repeat(4, axis=0)
    Image.fromarray(gray).save(tmp_path / "g.png")  # Pillow's "I;16"
    loaded = read_image(tmp_path / "g.png")
    np.testing.assert_array_equal(loaded.deep, np.stack([gray] * 3, axis=2))
    assert levels(loaded.deep[:, :, 0]) > 1024


def test_16_bit_gray_with_alpha_png(tmp_path) -> None:
    """Hand-encoded: none of the encoders here writes 16-bit gray with alpha."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    pixels = np.zeros((3, 5, 2), ">u2")
    pixels[:, :, 0] = np.arange(5) * 10000 + 7
    pixels[:, :, 1] = 40000
    rows = b"".join(b"\0" + row.tobytes() for row in pixels)  # filter 0: none
    header = struct.pack(">IIBBBBB", 5, 3, 16, 4, 0, 0, 0)  # 16-bit, gray + alpha
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    loaded = read_image(data + chunk(b"IEND", b""))
    np.testing.assert_array_equal(loaded.deep, np.repeat(pixels[:, :, :1], 3, axis=2))
    np.testing.assert_array_equal(loaded.alpha_deep, pixels[:, :, 1])


def test_16_bit_exif_orientation_is_applied_to_every_array() -> None:
    ramp = ramp_16(10, 6)
    exif = Image.Exif()
    exif[0x0112] = 6  # as a camera writes it: the writer here would have set 1
    stored = encode_image(ramp, ramp[:, :, 0].copy(), fmt="png")
    loaded = read_image(png.with_metadata(stored, icc_profile=None, exif=exif.tobytes(), xmp=None))
    upright = np.rot90(ramp, k=-1)
    np.testing.assert_array_equal(loaded.deep, upright)
    np.testing.assert_array_equal(loaded.alpha_deep, upright[:, :, 0])
    np.testing.assert_array_equal(loaded.rgb, to_8bit(upright))


def test_8_bit_tiff_and_multi_page_tiff(tmp_path) -> None:
    pages = [Image.new("RGB", (8, 6), colour) for colour in [(200, 10, 30), (0, 0, 255)]]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:])
    loaded = read_image(tmp_path / "pages.tif")
    assert loaded.rgb[0, 0].tolist() == [200, 10, 30]
    assert loaded.deep is None and loaded.metadata.bit_depth == 8
    assert loaded.notes == ["multi-page image: used the first of 2 frames"]


def test_16_bit_multi_page_tiff_gives_its_first_page(tmp_path) -> None:
    first, second = ramp_16(40, 8), np.zeros((8, 40, 3), np.uint16)
    ok, data = cv2.imencodemulti(".tiff", [first[:, :, ::-1], second])
    assert ok
    (tmp_path / "pages.tiff").write_bytes(data.tobytes())
    loaded = read_image(tmp_path / "pages.tiff")
    np.testing.assert_array_equal(loaded.deep, first)
    assert loaded.notes == ["multi-page image: used the first of 2 frames"]


# --- HEIC and AVIF ---------------------------------------------------------------------------


def test_heic_from_pillow_heif_8_bit(tmp_path) -> None:
    rgb = np.full((32, 48, 3), (200, 120, 40), np.uint8)
    (tmp_path / "phone.heic").write_bytes(heic_bytes(rgb, "RGB"))
    loaded = read_image(tmp_path / "phone.heic")
    assert loaded.size == (48, 32) and loaded.deep is None
    assert np.abs(loaded.rgb.astype(int) - rgb).max() <= 4
    assert (loaded.metadata.source_format, loaded.metadata.bit_depth) == ("heic", 8)


def test_heic_from_pillow_heif_10_bit_is_read_deep(tmp_path) -> None:
    ramp = ramp_16(1024, 32)
    (tmp_path / "hdr.heic").write_bytes(heic_bytes(ramp, "RGB;16"))
    loaded = read_image(tmp_path / "hdr.heic")
    assert loaded.metadata.bit_depth == 16 and loaded.deep.dtype == np.uint16
    assert levels(loaded.deep[:, :, 0]) > 256  # more than any 8-bit file can hold
    assert np.abs(loaded.deep.astype(int) - ramp).mean() < 300  # lossy, on the 0..65535 scale


def test_heic_rotation_is_applied_by_libheif_not_again(tmp_path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # pillow-heif turns this into the container's rotation
    rgb = np.zeros((32, 64, 3), np.uint8)
    rgb[:, :32] = 255  # left half white
    (tmp_path / "turned.heic").write_bytes(heic_bytes(rgb, "RGB", exif=exif.tobytes()))
    loaded = read_image(tmp_path / "turned.heic")
    assert loaded.size == (32, 64)
    assert loaded.rgb[:16].mean() > 200 and loaded.rgb[-16:].mean() < 50  # white now on top


@pytest.mark.parametrize("fmt", ["heic", "avif"])
def test_16_bit_written_as_10_bit_keeps_more_than_8_bits(tmp_path, fmt) -> None:
    ramp = ramp_16(1024, 32)
    write_image(tmp_path / f"sky.{fmt}", ramp)
    loaded = read_image(tmp_path / f"sky.{fmt}")
    assert loaded.metadata.bit_depth == 16
    assert levels(loaded.deep[:, :, 0]) > 256
    assert np.abs(loaded.deep.astype(int) - ramp).mean() < 300


@pytest.mark.parametrize("fmt", ["heic", "avif"])
def test_8_bit_heic_and_avif_with_alpha(tmp_path, fmt) -> None:
    rgb = np.full((16, 16, 3), 120, np.uint8)
    alpha = np.tile(np.array([0, 255], np.uint8).repeat(8), (16, 1))
    write_image(tmp_path / f"a.{fmt}", rgb, alpha)
    loaded = read_image(tmp_path / f"a.{fmt}")
    assert loaded.deep is None and loaded.metadata.source_format == fmt
    assert np.abs(loaded.alpha.astype(int) - alpha).max() <= 8
    assert np.abs(loaded.rgb.astype(int) - 120).max() <= 4


def test_avif_from_pillow(tmp_path) -> None:
    Image.new("RGB", (20, 10), (10, 200, 90)).save(tmp_path / "a.avif", quality=95)
    loaded = read_image(tmp_path / "a.avif")
    assert loaded.size == (20, 10) and loaded.deep is None
    assert np.abs(loaded.rgb.astype(int) - [10, 200, 90]).max() <= 6


# --- RAW -------------------------------------------------------------------------------------


def scene(height: int = 40, width: int = 60) -> np.ndarray:
    """A linear scene: red rising to the right, green rising downwards."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([cols / width, rows / height, np.full_like(cols, 0.3, float)], axis=2) * 4e4


def test_dng_is_developed_at_16_bits_with_its_orientation(tmp_path) -> None:
    (tmp_path / "IMG_1.DNG").write_bytes(dng_bytes(scene(), orientation=6))
    loaded = read_image(tmp_path / "IMG_1.DNG")
    assert loaded.size == (40, 60)  # 60×40 turned upright
    assert loaded.deep.dtype == np.uint16 and loaded.deep.shape == (60, 40, 3)
    assert (loaded.metadata.source_format, loaded.metadata.bit_depth) == ("raw", 16)
    # red rose to the right in the stored mosaic; upright (turned right) it rises downwards
    red = loaded.deep[:, :, 0].astype(int)
    assert red[-5:].mean() > red[:5].mean() + 20000
    np.testing.assert_array_equal(loaded.rgb, to_8bit(loaded.deep))


def test_dng_uses_the_cameras_white_balance_without_brightening(tmp_path) -> None:
    grey = np.full((40, 60, 3), 10000.0)
    (tmp_path / "grey.dng").write_bytes(dng_bytes(grey, as_shot_neutral=(0.5, 1.0, 0.7)))
    pixels = read_image(tmp_path / "grey.dng").deep.reshape(-1, 3).astype(float)
    means = pixels.mean(axis=0)
    assert means.max() - means.min() < 0.01 * means.mean()  # the cast is taken out
    srgb = 1.055 * (10000 / 65535) ** (1 / 2.4) - 0.055  # sRGB curve of the scene's grey
    assert abs(means.mean() / 65535 - srgb) < 0.02  # the exposure as shot, not auto-brightened


def test_dng_camera_record_is_carried(tmp_path) -> None:
    (tmp_path / "a.dng").write_bytes(dng_bytes(scene()))
    exif = Image.Exif()
    exif.load(read_image(tmp_path / "a.dng").metadata.exif)
    assert exif[0x010F] == MAKE
    assert not {tag for tag in exif if 50706 <= tag < 52600 or tag in (0x0111, 0x0117)}


def test_dng_over_the_pixel_limit_is_refused_before_developing(monkeypatch, tmp_path) -> None:
    (tmp_path / "a.dng").write_bytes(dng_bytes(scene()))

    class NeverUnpacked(raw.rawpy.RawPy):
        def unpack(self) -> None:
            pytest.fail("the sensor data was read")

    monkeypatch.setattr(raw.rawpy, "RawPy", NeverUnpacked)
    assert (
        reason_for(tmp_path / "a.dng", max_pixels=2000)
        == "2400 pixels is over the limit of 2000 (use --max-pixels)"
    )


def test_a_raw_libraw_cannot_decode_is_one_line(tmp_path) -> None:
    data = dng_bytes(scene())
    (tmp_path / "cut.dng").write_bytes(data[: len(data) // 3])
    assert reason_for(tmp_path / "cut.dng").startswith(
        f"LibRaw {raw.LIBRAW_VERSION} cannot decode this RAW file ("
    )
    cr3 = struct.pack(">I", 24) + b"ftypcrx " + b"\0\0\0\1" + b"crx isom" + b"\0" * 200
    (tmp_path / "a.cr3").write_bytes(cr3)
    assert reason_for(tmp_path / "a.cr3") == raw.UNSUPPORTED


# --- names that lie --------------------------------------------------------------------------


def test_a_png_named_jpg_and_a_jpeg_named_heic_are_read_by_content(tmp_path) -> None:
    write_image(tmp_path / "real.png", np.full((4, 4, 3), 77, np.uint8))
    (tmp_path / "photo.jpg").write_bytes((tmp_path / "real.png").read_bytes())
    loaded = read_image(tmp_path / "photo.jpg")
    assert loaded.metadata.source_format == "png" and loaded.rgb[0, 0].tolist() == [77] * 3
    (tmp_path / "photo.heic").write_bytes(encode_image(np.full((8, 8, 3), 50, np.uint8), fmt="jpg"))
    assert read_image(tmp_path / "photo.heic").metadata.source_format == "jpg"


def test_a_dng_named_tif_is_developed_and_a_tiff_named_nef_is_read_as_tiff(tmp_path) -> None:
    (tmp_path / "raw.tif").write_bytes(dng_bytes(scene()))
    assert read_image(tmp_path / "raw.tif").metadata.source_format == "raw"
    write_image(tmp_path / "plain.tif", ramp_16(8, 4))
    (tmp_path / "plain.nef").write_bytes((tmp_path / "plain.tif").read_bytes())
    loaded = read_image(tmp_path / "plain.nef")
    assert loaded.metadata.source_format == "tiff"
    np.testing.assert_array_equal(loaded.deep, ramp_16(8, 4))


def test_text_named_dng_and_jpeg_xl_are_refused_by_name(tmp_path) -> None:
    (tmp_path / "a.dng").write_text("not a raw\n")
    assert reason_for(tmp_path / "a.dng") == "not an image file (unrecognised format)"
    (tmp_path / "a.jxl").write_bytes(b"\xff\x0a" + b"\0" * 40)
    assert (
        reason_for(tmp_path / "a.jxl")
        == "JPEG XL images are not supported; convert to JPEG, PNG or TIFF first"
    )


# --- damaged and oversized files -------------------------------------------------------------


def test_truncated_heic_is_one_line(tmp_path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = heic_bytes(noise, "RGB")
    (tmp_path / "cut.heic").write_bytes(data[: len(data) * 2 // 3])
    assert reason_for(tmp_path / "cut.heic") == "truncated or corrupt image data"


def test_truncated_16_bit_png_is_one_line(tmp_path) -> None:
    noise = np.random.default_rng(0).integers(0, 65536, (64, 64, 3), dtype=np.uint16)
    data = encode_image(noise, fmt="png")
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    assert reason_for(tmp_path / "cut.png") == "truncated or corrupt image data"


def test_16_bit_over_the_limit_is_refused_from_the_header(monkeypatch, tmp_path) -> None:
    write_image(tmp_path / "deep.png", ramp_16(50, 40))
    write_image(tmp_path / "deep.tif", ramp_16(50, 40))
    decoded = []
    monkeypatch.setattr(image_reading.cv2, "imdecode", lambda *a: decoded.append(a))
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    for name in ("deep.png", "deep.tif"):
        assert (
            reason_for(tmp_path / name, max_pixels=1999)
            == "2000 pixels is over the limit of 1999 (use --max-pixels)"
        )
    assert not decoded


def test_heic_over_the_limit_is_refused_from_the_header(tmp_path) -> None:
    (tmp_path / "a.heic").write_bytes(heic_bytes(np.zeros((32, 48, 3), np.uint8), "RGB"))
    assert (
        reason_for(tmp_path / "a.heic", max_pixels=1000)
        == "1536 pixels is over the limit of 1000 (use --max-pixels)"
    )


# --- writing: formats and depth --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.tif", "tiff"),
        ("a.TIFF", "tiff"),
        ("a.avif", "avif"),
        ("a.heic", "heic"),
        ("a.HEIF", "heic"),
    ],
)
def test_format_for_new_suffixes(name, fmt) -> None:
    assert format_for_path(name) == fmt


def test_8_bit_data_asked_for_16_bits_is_scaled(tmp_path) -> None:
    rgb = np.array([[[0, 1, 255], [128, 7, 9]]], np.uint8)
    write_image(tmp_path / "a.png", rgb, bit_depth=16)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png").deep, rgb.astype(np.uint16) * 257)


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_16_bit_data_asked_for_8_bits_is_rounded(tmp_path, fmt) -> None:
    ramp = ramp_16(300, 4)
    write_image(tmp_path / f"a.{fmt}", ramp, bit_depth=8)
    loaded = read_image(tmp_path / f"a.{fmt}")
    assert loaded.deep is None
    np.testing.assert_array_equal(loaded.rgb, to_8bit(ramp))


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_16_bits_into_an_8_bit_format(tmp_path, fmt) -> None:
    with pytest.raises(ValueError, match="--bit-depth 16 needs png, tiff, heic, avif"):
        write_image(tmp_path / f"a.{fmt}", ramp_16(8, 4), bit_depth=16)
    assert list(tmp_path.iterdir()) == []
    write_image(tmp_path / f"a.{fmt}", ramp_16(8, 4))  # unasked, 16-bit data goes in at 8 bits
    assert read_image(tmp_path / f"a.{fmt}").deep is None


def test_bad_bit_depth_and_alpha_dtype() -> None:
    with pytest.raises(ValueError, match="bit depth 12 is not 8 or 16"):
        encode_image(np.zeros((2, 2, 3), np.uint8), bit_depth=12)
    with pytest.raises(ValueError, match="uint8 or uint16 alpha"):
        encode_image(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.float32))


def test_fit_alpha_keeps_16_bits() -> None:
    alpha = np.array([[0, 65535], [65535, 0]], np.uint16)
    fitted = fit_alpha(alpha, (4, 4))
    assert fitted.dtype == np.uint16 and fitted.shape == (4, 4)
    assert fitted.max() > 255


def test_tiff_output_is_readable_by_pillow_with_alpha(tmp_path) -> None:
    rgb = np.full((6, 5, 3), (10, 20, 30), np.uint8)
    alpha = np.full((6, 5), 99, np.uint8)
    write_image(tmp_path / "a.tif", rgb, alpha)
    with Image.open(tmp_path / "a.tif") as image:
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0)) == (10, 20, 30, 99)


def test_16_bit_png_is_decoded_once_with_exif_after_the_pixels(monkeypatch) -> None:
    """Pillow finds EXIF after the pixel data only by decoding them (at 8 bits): not done."""
    ramp = ramp_16(10, 6)
    exif = Image.Exif()
    exif[0x0112] = 8
    data = encode_image(ramp, fmt="png")
    tiff = exif.tobytes().removeprefix(b"Exif\x00\x00")
    chunk = (
        struct.pack(">I", len(tiff))
        + b"eXIf"
        + tiff
        + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
    )
    iend = data.rindex(b"IEND") - 4
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("Pillow decoded"))
    loaded = read_image(data[:iend] + chunk + data[iend:])
    np.testing.assert_array_equal(loaded.deep, np.rot90(ramp, k=1))
    assert read_image(data).size == (10, 6)
