"""Awkward and broken inputs through the real `hidt translate`: every file either gives a
correct output or one line naming the file and the reason, and a batch converts every good
file even when bad ones are mixed in. The corpus is generated here; no binaries are committed."""

from __future__ import annotations

import errno
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from hidt_cli.io import read as image_reading
from hidt_cli.model import HiDT
from hidt_cli.models import Generator, GeneratorConfig
from tests.conftest import run_hidt
from tests.images import SRGB, bomb_png, encoded, heic_header, small_photo

ORIENTATION = 0x0112
NIGHT = ("--preset", "night")
"""The style of every run here."""


def assert_clean(result) -> None:
    """No traceback printed and no exception escaping the command."""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


# Good inputs: name → (output name, output size, output mode); outputs use the default
# suffix _night and keep the input's format where it is writable (else PNG).
GOOD = {
    "tiny_1x1.png": ("tiny_1x1_night.png", (1, 1), "RGB"),
    "tiny_7x3.png": ("tiny_7x3_night.png", (7, 3), "RGB"),
    "pano_20to1.jpg": ("pano_20to1_night.jpg", (400, 20), "RGB"),
    "tall_1to20.png": ("tall_1to20_night.png", (16, 320), "RGB"),
    "gray.jpg": ("gray_night.jpg", (48, 32), "RGB"),
    "palette.png": ("palette_night.png", (48, 32), "RGB"),
    "palette_transparent.png": ("palette_transparent_night.png", (48, 32), "RGBA"),
    "cmyk.jpg": ("cmyk_night.jpg", (48, 32), "RGB"),
    "deep16.png": ("deep16_night.png", (48, 32), "RGB"),
    "rgba.png": ("rgba_night.png", (48, 32), "RGBA"),
    "icc.jpg": ("icc_night.jpg", (48, 32), "RGB"),
    "animated.gif": ("animated_night.png", (48, 32), "RGB"),
    "animated.webp": ("animated_night.webp", (48, 32), "RGB"),
    **{
        f"orient{o}.jpg": (f"orient{o}_night.jpg", (32, 48) if o >= 5 else (48, 32), "RGB")
        for o in range(1, 9)
    },
    "sub/nested.png": ("sub/nested_night.png", (48, 32), "RGB"),
}
# Bad inputs: name → the reason given after "<path>: ".
BAD = {
    "zero.jpg": "empty file",
    "text.jpg": "not an image file (unrecognised format)",
    "truncated.jpg": "truncated or corrupt image data",
    "truncated.png": "truncated or corrupt image data",
    "bomb.png": "10000000000 pixels is over the limit of 200000000 (use --max-pixels)",
    "phone.heic": "truncated or corrupt image data",  # a HEIC header, no image in it
    "locked.png": "permission denied",
}
ALPHA = np.tile(np.array([0, 90, 255], np.uint8), (32, 16))


def build_corpus(folder: Path) -> Path:
    """Every case of the reliability corpus in one folder, plus a sub-folder whose symlink
    leads back up (a loop) and a folder named like an image."""
    (folder / "sub").mkdir(parents=True)
    rgb = small_photo(48, 32)
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    files = {
        "zero.jpg": b"",
        "text.jpg": b"definitely not a picture\n",
        "truncated.jpg": encoded(Image.fromarray(noise), "JPEG")[:900],
        "truncated.png": encoded(Image.fromarray(noise), "PNG")[:6000],
        "bomb.png": bomb_png(),
        "phone.heic": heic_header(),
        "locked.png": encoded(Image.fromarray(rgb), "PNG"),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    Image.fromarray(small_photo(1, 1)).save(folder / "tiny_1x1.png")
    Image.fromarray(small_photo(7, 3)).save(folder / "tiny_7x3.png")
    Image.fromarray(small_photo(400, 20)).save(folder / "pano_20to1.jpg")
    Image.fromarray(small_photo(16, 320)).save(folder / "tall_1to20.png")
    Image.fromarray(rgb).convert("L").save(folder / "gray.jpg")
    Image.fromarray(rgb).convert("P").save(folder / "palette.png")
    palette = Image.fromarray(rgb).convert("P")
    palette.save(folder / "palette_transparent.png", transparency=palette.getpixel((0, 0)))
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257).save(folder / "deep16.png")
    Image.fromarray(np.dstack([rgb, ALPHA])).save(folder / "rgba.png")
    Image.fromarray(rgb).save(folder / "icc.jpg", icc_profile=SRGB)
    frames = [Image.fromarray(small_photo(48, 32, seed)) for seed in range(3)]
    for name in ("animated.gif", "animated.webp"):
        frames[0].save(folder / name, save_all=True, append_images=frames[1:], duration=40)
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        Image.fromarray(rgb).save(folder / f"orient{orientation}.jpg", exif=exif)
    Image.fromarray(rgb).save(folder / "sub" / "nested.png")
    (folder / "sub" / "loop").symlink_to("..")
    (folder / "folder.jpg").mkdir()
    return folder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return build_corpus(tmp_path / "corpus")


@pytest.fixture
def locked(monkeypatch: pytest.MonkeyPatch):
    """Files named locked.* cannot be opened, as with chmod 0 for a user other than root."""
    real_open = open

    def guarded(path, *args, **kwargs):
        if Path(path).stem == "locked":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(image_reading, "open", guarded, raising=False)


def test_the_whole_corpus_in_one_batch(tiny_weights, corpus, tmp_path, locked):
    out = tmp_path / "out"
    result = run_hidt(
        "translate", tiny_weights, *NIGHT, corpus, "-r", "--output-dir", out, "--json"
    )
    assert result.exit_code == 1, result.output
    assert_clean(result)
    report = json.loads(result.stdout)
    status = {Path(f["input"]).relative_to(corpus).as_posix(): f["status"] for f in report["files"]}
    assert status == {**dict.fromkeys(GOOD, "converted"), **dict.fromkeys(BAD, "failed")}
    errors = sorted(line for line in result.stderr.splitlines() if line.startswith("hidt: error"))
    assert errors == sorted(f"hidt: error: {corpus / name}: {why}" for name, why in BAD.items())
    for name in ("animated.gif", "animated.webp"):
        assert f"{corpus / name}: animated image: used the first of 3 frames" in result.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(name for name, _, _ in GOOD.values())
    for output, size, mode in GOOD.values():
        with Image.open(out / output) as image:
            assert (image.size, image.mode) == (size, mode), output
            assert image.getexif().get(ORIENTATION, 1) == 1  # upright pixels, not rotated again
    with Image.open(out / "icc_night.jpg") as image:
        assert image.info.get("icc_profile") == SRGB
    with Image.open(out / "rgba_night.png") as image:
        np.testing.assert_array_equal(np.asarray(image)[:, :, 3], ALPHA)
    with Image.open(corpus / "palette_transparent.png") as image:
        alpha = np.asarray(image.convert("RGBA"))[:, :, 3]
    with Image.open(out / "palette_transparent_night.png") as image:
        assert alpha.min() == 0 and np.array_equal(np.asarray(image)[:, :, 3], alpha)


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_bad_input_alone_is_one_line_and_exit_1(tiny_weights, corpus, locked, name):
    result = run_hidt("translate", tiny_weights, *NIGHT, corpus / name, "--quiet")
    assert result.exit_code == 1
    assert_clean(result)
    assert result.stderr.splitlines() == [f"hidt: error: {corpus / name}: {BAD[name]}"]
    assert not list(corpus.glob("*_night*"))


def test_a_folder_named_like_an_image_is_a_folder(tiny_weights, corpus):
    result = run_hidt("translate", tiny_weights, *NIGHT, corpus / "folder.jpg", "--quiet")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"hidt: error: {corpus / 'folder.jpg'}: no image files found"
    ]


def test_unreadable_file_with_real_permissions(tiny_weights, tmp_path):
    path = tmp_path / "secret.png"
    Image.fromarray(small_photo(48, 32)).save(path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip(
                "permission bits are not enforced for this user (root): simulated by `locked`"
            )
        result = run_hidt("translate", tiny_weights, *NIGHT, path, "--quiet")
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [f"hidt: error: {path}: permission denied"]
    finally:
        path.chmod(0o644)


def test_bomb_is_refused_from_its_header_without_decoding(tiny_weights, tmp_path, monkeypatch):
    (tmp_path / "bomb.png").write_bytes(bomb_png())
    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy(image):
        decoded.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    result = run_hidt("translate", tiny_weights, *NIGHT, tmp_path / "bomb.png", "--quiet")
    assert result.exit_code == 1 and "over the limit of 200000000" in result.stderr
    assert decoded == []  # refused from the header: no pixel buffer was allocated


def test_max_pixels_is_the_limit(tiny_weights, tmp_path):
    path = tmp_path / "p.png"
    Image.fromarray(small_photo(48, 32)).save(path)  # 1536 pixels
    refused = run_hidt("translate", tiny_weights, *NIGHT, path, "--max-pixels", 1535, "--quiet")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        f"hidt: error: {path}: 1536 pixels is over the limit of 1535 (use --max-pixels)"
    ]
    assert (
        run_hidt("translate", tiny_weights, *NIGHT, path, "--max-pixels", 1536, "--quiet").exit_code
        == 0
    )


def test_max_pixels_also_limits_the_style_image(tiny_weights, tmp_path):
    photo_path, style_path = tmp_path / "p.png", tmp_path / "s.png"
    Image.fromarray(small_photo(8, 8)).save(photo_path)
    Image.fromarray(small_photo(48, 32)).save(style_path)  # 1536 pixels
    args = (photo_path, "--style", style_path, "--max-pixels", 1535, "--quiet")
    refused = run_hidt("translate", tiny_weights, *args)
    assert refused.exit_code == 4
    assert f"{style_path}: 1536 pixels is over the limit of 1535" in refused.stderr
    assert "Traceback" not in refused.stderr


SHAPES = [(1, 1), (7, 3), (3, 7), (400, 20), (20, 400), (17, 16)]


# A 300:1 strip is processed at 32 × 9600 (the shorter side is scaled to the inference size),
# 16 times over with --hires: it is left out there to keep the test fast.
@pytest.mark.parametrize(
    ("size", "hires"),
    [(size, False) for size in [*SHAPES, (300, 1), (1, 300)]] + [(size, True) for size in SHAPES],
)
def test_tiny_and_extreme_shapes_keep_their_size(tiny_weights, tmp_path, size, hires):
    path = tmp_path / "in.png"
    Image.fromarray(small_photo(*size)).save(path)
    args = (path, "-o", tmp_path / "out.png", *(["--hires"] if hires else []))
    result = run_hidt("translate", tiny_weights, *NIGHT, *args)
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out.png").size == size


def test_corrupt_exif_is_a_note_not_stray_warnings(tiny_weights, tmp_path):
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    data = bytearray(encoded(Image.fromarray(small_photo(48, 32)), "JPEG", exif=exif))
    start = data.index(b"Exif\0\0") + 6
    data[start + 8 : start + 10] = b"\x40\x00"  # the IFD claims far more entries than it holds
    (tmp_path / "exif.jpg").write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        result = run_hidt("translate", tiny_weights, *NIGHT, tmp_path / "exif.jpg")
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 'exif.jpg'}: damaged metadata: Corrupt EXIF data" in result.stderr
    assert [str(w.message) for w in escaped if "EXIF" in str(w.message)] == []


def test_published_network_sizes_take_the_smallest_processing_shape():
    """The reflection padding of the deepest layers needs a minimum size: --inference-size 32
    (the smallest allowed) on a 1×1 or 7×3 photo is a 32×32 or 32×80 input to the networks."""
    model = HiDT(Generator(GeneratorConfig()), device="cpu")
    for size in [(1, 1), (7, 3)]:
        out = model.translate(small_photo(*size), [0.0, 0.0, 0.0], inference_size=32)
        assert out.size == size
