"""EXIF, XMP and ICC carried from a photo to its outputs in every format, brought up to date
for upright pixels of the output's size; stripped on request; the recipe recorded and read
back. Outputs are checked with Pillow and pillow-heif, not with the reader under test."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageFile

from hidt_cli.io.images import read_image, read_recipe, write_image
from hidt_cli.io.metadata import ImageMetadata
from tests.dng import MAKE, MODEL, dng_bytes
from tests.images import SRGB

FORMATS = ["jpg", "png", "webp", "tiff", "avif", "heic"]
THUMBNAIL = bytes(range(256)) * 8  # a stand-in preview, recognisable in the output's bytes
ORIENTATION = ExifTags.Base.Orientation
GPS = ExifTags.IFD.GPSInfo
CAMERA = ExifTags.IFD.Exif
XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
    b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"'
    b' xmlns:xmp="http://ns.adobe.com/xap/1.0/" tiff:Orientation="6"'
    b' xmp:CreatorTool="Camera firmware 1.1.6"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def canon_exif() -> bytes:
    """EXIF as a Canon EOS 6D writes it (portrait: Orientation 6), with a GPS fix and an
    IFD1 preview, which Pillow's serialiser would not write, appended by hand."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS 6D"
    exif[ExifTags.Base.DateTime] = "2024:05:01 18:42:07"
    exif[ORIENTATION] = 6
    exif[CAMERA] = {
        ExifTags.Base.ExposureTime: 1 / 250,
        ExifTags.Base.FNumber: 8.0,
        ExifTags.Base.ISOSpeedRatings: 200,
        ExifTags.Base.DateTimeOriginal: "2024:05:01 18:42:07",
        ExifTags.Base.LensModel: "EF24-105mm f/4L IS USM",
        ExifTags.Base.ExifImageWidth: 5472,
        ExifTags.Base.ExifImageHeight: 3648,
    }
    exif[GPS] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 17.0),
    }
    return with_preview(exif.tobytes(), THUMBNAIL)


def with_preview(exif: bytes, preview: bytes) -> bytes:
    """Append an IFD1 (JPEGInterchangeFormat and its length) holding `preview` to EXIF."""
    tiff = bytearray(exif.removeprefix(b"Exif\x00\x00"))
    order = "<" if tiff[:2] == b"II" else ">"
    (first,) = struct.unpack_from(f"{order}I", tiff, 4)
    (count,) = struct.unpack_from(f"{order}H", tiff, first)
    tiff += b"\0" * (len(tiff) % 2)
    ifd1 = len(tiff)
    struct.pack_into(f"{order}I", tiff, first + 2 + 12 * count, ifd1)
    data_at = ifd1 + 2 + 2 * 12 + 4
    tiff += struct.pack(f"{order}H", 2)
    tiff += struct.pack(f"{order}HHII", 0x0201, 4, 1, data_at)
    tiff += struct.pack(f"{order}HHII", 0x0202, 4, 1, len(preview))
    tiff += b"\0\0\0\0" + preview
    return b"Exif\x00\x00" + bytes(tiff)


def stored_pixels(height: int = 24, width: int = 40) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    return np.dstack([cols * 6, rows * 10, np.full_like(cols, 90)]).astype(np.uint8)


@pytest.fixture
def canon_jpeg(tmp_path: Path) -> Path:
    """A 40×24 JPEG stored sideways (Orientation 6), with EXIF, XMP and an sRGB profile."""
    path = tmp_path / "IMG_0042.JPG"
    Image.fromarray(stored_pixels()).save(
        path, quality=95, exif=canon_exif(), xmp=XMP, icc_profile=SRGB
    )
    return path


def exif_of(path: Path) -> Image.Exif:
    """The output's EXIF as other software reads it (a TIFF's holds its storage tags too)."""
    exif = Image.Exif()
    if path.suffix == ".heic":
        exif.load(pillow_heif.open_heif(path).info.get("exif") or b"")
    else:
        with Image.open(path) as image:
            exif.load(image.getexif().tobytes())
    for ifd in (CAMERA, GPS, ExifTags.IFD.IFD1):  # read while the data is at hand
        exif.get_ifd(ifd)
    return exif


def size_and_info(path: Path) -> tuple[tuple[int, int], dict]:
    """An output's size and Pillow-style info (its "xmp", "icc_profile"), HEIC included."""
    if path.suffix == ".heic":
        heif = pillow_heif.open_heif(path)
        return heif.size, heif.info
    with Image.open(path) as image:
        return image.size, image.info


def size_of(path: Path) -> tuple[int, int]:
    return size_and_info(path)[0]


def xmp_of(path: Path) -> bytes | None:
    return size_and_info(path)[1].get("xmp")


def icc_of(path: Path) -> bytes | None:
    return size_and_info(path)[1].get("icc_profile")


def render(source: Path, target: Path, **options: object) -> None:
    """What a command does: read, (change the pixels), write with the photo's metadata."""
    photo = read_image(source)
    write_image(target, 255 - photo.rgb, photo.alpha, metadata=photo.metadata, **options)


# --- EXIF ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_camera_exif_survives_jpeg_to_every_format(tmp_path, canon_jpeg, fmt) -> None:
    target = tmp_path / f"night.{fmt}"
    render(canon_jpeg, target)
    exif = exif_of(target)
    assert exif[ExifTags.Base.Make] == "Canon"
    assert exif[ExifTags.Base.Model] == "Canon EOS 6D"
    assert exif[ExifTags.Base.DateTime] == "2024:05:01 18:42:07"
    assert exif.get(ORIENTATION, 1) == 1  # the pixels are upright now
    camera = exif.get_ifd(CAMERA)
    assert camera[ExifTags.Base.LensModel] == "EF24-105mm f/4L IS USM"
    assert camera[ExifTags.Base.ExposureTime] == pytest.approx(1 / 250)
    assert camera[ExifTags.Base.FNumber] == 8.0
    # the output is the upright 24×40, not the camera's 5472×3648
    assert (camera[ExifTags.Base.ExifImageWidth], camera[ExifTags.Base.ExifImageHeight]) == (24, 40)
    assert exif.get_ifd(GPS)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert size_of(target) == (24, 40)


@pytest.mark.parametrize("fmt", FORMATS)
def test_stale_preview_is_dropped(tmp_path, canon_jpeg, fmt) -> None:
    assert THUMBNAIL in canon_jpeg.read_bytes()
    target = tmp_path / f"night.{fmt}"
    render(canon_jpeg, target)
    assert THUMBNAIL not in target.read_bytes()
    assert exif_of(target).get_ifd(ExifTags.IFD.IFD1) == {}


def test_png_exif_and_xmp_go_into_tiff(tmp_path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Nikon"
    exif[ExifTags.Base.ImageWidth], exif[ExifTags.Base.ImageLength] = 900, 600
    Image.fromarray(stored_pixels()).save(tmp_path / "edit.png", exif=exif, pnginfo=_xmp_text())
    render(tmp_path / "edit.png", tmp_path / "edit.tif")
    carried = exif_of(tmp_path / "edit.tif")
    assert carried[ExifTags.Base.Make] == "Nikon"
    # in a TIFF these are the directory's own, and describe the output (turned upright by
    # the XMP's Orientation 6, there being none in the EXIF)
    assert (carried[ExifTags.Base.ImageWidth], carried[ExifTags.Base.ImageLength]) == (24, 40)
    assert b"Camera firmware 1.1.6" in xmp_of(tmp_path / "edit.tif")


def _xmp_text():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    return info


def test_16_bit_tiff_exif_goes_into_16_bit_png(tmp_path, canon_jpeg) -> None:
    photo = read_image(canon_jpeg)
    deep = photo.rgb.astype(np.uint16) * 257 + 3
    write_image(tmp_path / "deep.tif", deep, metadata=photo.metadata)
    render_deep = read_image(tmp_path / "deep.tif")
    write_image(tmp_path / "deep.png", render_deep.deep, metadata=render_deep.metadata)
    assert exif_of(tmp_path / "deep.png")[ExifTags.Base.Model] == "Canon EOS 6D"
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png").deep, deep)


def test_dng_camera_name_reaches_the_tiff_output(tmp_path) -> None:
    rows, cols = np.mgrid[0:40, 0:60]  # LibRaw develops nothing under 22 pixels a side
    scene = np.dstack([cols * 1000, rows * 1500, np.full_like(cols, 9000)]).astype(float)
    (tmp_path / "a.dng").write_bytes(dng_bytes(scene, orientation=8))
    photo = read_image(tmp_path / "a.dng")
    write_image(tmp_path / "a.tif", photo.deep, metadata=photo.metadata)
    exif = exif_of(tmp_path / "a.tif")
    assert (exif[ExifTags.Base.Make], exif[ExifTags.Base.Model]) == (MAKE, MODEL)
    assert exif[ORIENTATION] == 1
    assert 50706 not in exif  # DNGVersion: the output is not a DNG
    assert size_of(tmp_path / "a.tif") == (40, 60)


# --- XMP and ICC -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_xmp_is_kept_with_orientation_1(tmp_path, canon_jpeg, fmt) -> None:
    target = tmp_path / f"night.{fmt}"
    render(canon_jpeg, target)
    xmp = xmp_of(target)
    assert b"Camera firmware 1.1.6" in xmp
    assert b'tiff:Orientation="1"' in xmp and b'tiff:Orientation="6"' not in xmp


@pytest.mark.parametrize("fmt", FORMATS)
def test_icc_profile_is_kept(tmp_path, canon_jpeg, fmt) -> None:
    target = tmp_path / f"night.{fmt}"
    render(canon_jpeg, target)
    assert icc_of(target) == SRGB


# --- stripping -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_strip_removes_exif_gps_and_xmp_but_keeps_icc_and_recipe(tmp_path, canon_jpeg, fmt) -> None:
    target = tmp_path / f"shared.{fmt}"
    render(canon_jpeg, target, strip_metadata=True, recipe="night from IMG_0042.JPG")
    exif = exif_of(target)
    assert ExifTags.Base.Make not in exif and not exif.get_ifd(CAMERA) and not exif.get_ifd(GPS)
    data = target.read_bytes()
    assert b"Canon" not in data and b"Camera firmware" not in data
    assert icc_of(target) == SRGB
    assert read_recipe(target) == "night from IMG_0042.JPG"


def test_strip_without_recipe_leaves_no_xmp(tmp_path, canon_jpeg) -> None:
    render(canon_jpeg, tmp_path / "shared.jpg", strip_metadata=True)
    assert xmp_of(tmp_path / "shared.jpg") is None


# --- the recipe ------------------------------------------------------------------------------

RECIPE = 'input=IMG_0042.JPG sha256=9f1c style=night "preset" weights=default <v2> & more'


@pytest.mark.parametrize("fmt", FORMATS)
def test_recipe_round_trips_in_every_format(tmp_path, fmt) -> None:
    target = tmp_path / f"out.{fmt}"
    write_image(target, stored_pixels(), recipe=RECIPE)
    assert read_recipe(target) == RECIPE


@pytest.mark.parametrize("fmt", ["png", "tiff", "heic"])
def test_recipe_round_trips_at_16_bits(tmp_path, fmt) -> None:
    target = tmp_path / f"out.{fmt}"
    write_image(target, stored_pixels().astype(np.uint16) * 257, recipe=RECIPE)
    assert read_recipe(target) == RECIPE


def test_recipe_merges_into_the_photos_xmp_and_replaces_an_earlier_one(
    tmp_path, canon_jpeg
) -> None:
    render(canon_jpeg, tmp_path / "first.jpg", recipe="first")
    render(tmp_path / "first.jpg", tmp_path / "second.jpg", recipe="second")
    xmp = xmp_of(tmp_path / "second.jpg")
    assert xmp.count(b"hidt:recipe") == 1 and b"Camera firmware 1.1.6" in xmp
    assert read_recipe(tmp_path / "second.jpg") == "second"


def test_recipe_is_read_without_decoding_pixels(tmp_path, monkeypatch) -> None:
    write_image(tmp_path / "out.png", stored_pixels(), recipe=RECIPE)
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    assert read_recipe(tmp_path / "out.png") == RECIPE


def test_no_recipe(tmp_path, canon_jpeg) -> None:
    assert read_recipe(canon_jpeg) is None
    assert read_recipe(tmp_path / "missing.png") is None
    (tmp_path / "text.png").write_text("not an image")
    assert read_recipe(tmp_path / "text.png") is None


def test_recipe_with_control_characters_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="control characters"):
        write_image(tmp_path / "out.png", stored_pixels(), recipe="a\x00b")
    assert list(tmp_path.iterdir()) == []


def test_metadata_of_a_read_photo(canon_jpeg) -> None:
    metadata = read_image(canon_jpeg).metadata
    assert isinstance(metadata, ImageMetadata)
    assert (metadata.source_format, metadata.bit_depth, metadata.icc_profile) == ("jpg", 8, SRGB)
    assert metadata.exif.startswith(b"Exif\x00\x00") and metadata.xmp == XMP
    assert io.BytesIO(metadata.exif).read(6) == b"Exif\x00\x00"


def test_exif_too_big_for_jpeg_is_left_out_of_jpeg_only(tmp_path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[CAMERA] = {ExifTags.Base.MakerNote: b"\x01" * 70_000}
    metadata = ImageMetadata(exif=exif.tobytes())
    write_image(tmp_path / "big.jpg", stored_pixels(), metadata=metadata, recipe=RECIPE)
    assert not exif_of(tmp_path / "big.jpg") and read_recipe(tmp_path / "big.jpg") == RECIPE
    write_image(tmp_path / "big.png", stored_pixels(), metadata=metadata)
    assert exif_of(tmp_path / "big.png")[ExifTags.Base.Make] == "Canon"
