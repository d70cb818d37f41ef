"""The files phones and cameras make, through `hidt translate DIR --preset night -d OUT` in one
batch: a phone's HEIC with EXIF, a camera JPEG with EXIF, a 16-bit PNG, an 8-bit TIFF and a
DNG each give one output in their own format (RAW: 16-bit TIFF), metadata and depth kept."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pillow_heif
from PIL import ExifTags, Image

from hidt_cli.io.images import read_image
from tests.conftest import run_hidt
from tests.dng import dng_bytes
from tests.images import make_photo, ramp_16

ORIENTATION = ExifTags.Base.Orientation


def camera_exif(make: str, model: str) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = make, model
    exif[ExifTags.Base.DateTime] = "2024:05:01 18:42:07"
    exif[ORIENTATION] = 6  # portrait: the pixels are stored turned
    return exif.tobytes()


def test_a_folder_of_phone_and_camera_files(tiny_weights, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    photo = Image.fromarray(make_photo(96, 64))
    photo.save(src / "canon.jpg", exif=camera_exif("Canon", "Canon EOS 6D"), quality=95)
    pillow_heif.register_heif_opener()
    photo.save(src / "phone.heic", exif=camera_exif("Apple", "iPhone 15"), quality=90)
    cv2.imwrite(str(src / "deep.png"), ramp_16(2048, 48)[..., ::-1].copy())
    photo.save(src / "flat.tif")
    scene = np.stack([np.linspace(4000, 40000, 64)] * 3, -1)[None].repeat(48, 0)
    (src / "raw.dng").write_bytes(dng_bytes(scene, orientation=6))

    result = run_hidt("translate", tiny_weights, src, "--preset", "night", "-d", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["converted"] == 5
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["canon_night.jpg", "deep_night.png", "flat_night.tif", "phone_night.heic", "raw_night.tif"]
    )
    for name, make in (("canon_night.jpg", "Canon"), ("phone_night.heic", "Apple")):
        with Image.open(out / name) as image:
            exif = image.getexif()
            assert (image.size, exif.get(ExifTags.Base.Make)) == ((64, 96), make), name
            assert exif.get(ORIENTATION, 1) == 1 and exif.get(ExifTags.Base.DateTime)
    deep = read_image(out / "deep_night.png")
    assert deep.deep is not None and len(np.unique(deep.deep[..., 1])) > 1024
    with Image.open(out / "flat_night.tif") as tiff:
        assert tiff.format == "TIFF" and tiff.size == (96, 64)
    raw = read_image(out / "raw_night.tif")
    assert raw.deep is not None and raw.rgb.shape[:2] == (64, 48)  # the RAW's size, upright
