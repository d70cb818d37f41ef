"""Photos the tests make and read back: generated pictures, the files and bytes they are
written as, and a few headers that lie about what follows."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageCms

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
"""An sRGB ICC profile, as embedded in a file."""


def make_photo(width: int = 96, height: int = 64, seed: int = 0) -> np.ndarray:
    """A small synthetic photo: a sky-to-ground gradient with a few coloured blocks."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    image = np.concatenate([120 + 100 * (1 - y), 140 + 60 * (1 - y), 200 - 120 * y], axis=2)
    image = np.broadcast_to(image, (height, width, 3)).copy()
    for _ in range(4):
        x0, y0 = rng.integers(0, width - 8), rng.integers(0, height - 8)
        image[y0 : y0 + 8, x0 : x0 + 8] = rng.integers(0, 255, 3)
    return image.clip(0, 255).astype(np.uint8)


def small_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """make_photo at any size, even below its 9-pixel minimum."""
    big = make_photo(max(width, 16), max(height, 16), seed)
    return np.asarray(Image.fromarray(big).resize((width, height), Image.BILINEAR))


def textured(width: int = 96, height: int = 80, seed: int = 0) -> np.ndarray:
    """H×W×3 uint8: smooth colour gradients with texture at several scales on top, as in
    photos (leaves to branches), partly shared across channels like luminance; any crop of it
    differs from its neighbours."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.linspace(0, 1, height).view(1, 1, -1, 1)
    x = torch.linspace(0, 1, width).view(1, 1, 1, -1)
    ones = torch.ones(1, 1, height, width)
    base = torch.cat([0.3 + 0.4 * x * ones, 0.5 - 0.2 * y + 0.1 * x, 0.25 + 0.3 * y * ones], 1)
    texture = torch.zeros(1, 3, height, width)
    for cell in (1, 4, 16):
        noise = torch.rand(1, 3, -(-height // cell), -(-width // cell), generator=generator)
        noise = torch.nn.functional.interpolate(noise - 0.5, scale_factor=cell, mode="bilinear")
        texture += noise[:, :, :height, :width] / 3
    fine = 0.12 * texture + 0.12 * texture[:, :1]
    rgb_255 = ((base + fine).clamp(0, 1) * 255).round()
    return rgb_255[0].permute(1, 2, 0).to(torch.uint8).numpy()


def ramp_16(width: int = 2048, height: int = 48) -> np.ndarray:
    """A smooth 16-bit sky: red rises along the width (one level in 32), green falls, blue
    rises down the height; 2,048 distinct reds, where 8 bits keep 256."""
    across = np.linspace(0, 65535, width)
    down = np.linspace(8000, 30000, height)
    rgb = np.stack(
        np.broadcast_arrays(across[None, :], 65535 - across[None, :], down[:, None]), axis=2
    )
    return np.rint(rgb).astype(np.uint16)


def night_photo(width: int = 96, height: int = 64, seed: int = 1) -> np.ndarray:
    """make_photo under a dim blue light: a style far from the daylit make_photo's."""
    return (make_photo(width, height, seed) * np.array([0.25, 0.3, 0.5])).astype(np.uint8)


def save_photo(path: Path, rgb: np.ndarray | None = None, **options: object) -> Path:
    """Write `rgb` (default: make_photo()) to `path`, making its folder; the path back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(make_photo() if rgb is None else rgb).save(path, **options)
    return path


def rgba_photo(path: Path, seed: int = 0) -> Path:
    """A 96×64 PNG with a gradient alpha channel and an embedded sRGB profile."""
    alpha = np.tile(np.linspace(0, 255, 96).astype(np.uint8), (64, 1))
    Image.fromarray(np.dstack([make_photo(seed=seed), alpha]), "RGBA").save(path, icc_profile=SRGB)
    return path


def encoded(image: Image.Image | np.ndarray, fmt: str = "PNG", **options: object) -> bytes:
    """The bytes of a file of `image` (a PIL image or an uint8 array) in format `fmt`."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def pixels(path: Path) -> np.ndarray:
    """An image file's RGB pixels as float32, safe to subtract."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A 1×1 PNG whose header (with a correct CRC) claims width × height pixels."""
    data = bytearray(encoded(Image.new("RGB", (1, 1))))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def heic_header() -> bytes:
    """The start of a HEIC file (its `ftyp` box) and nothing a decoder could use."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\0\0\0\0" + b"mif1heic" + b"\0" * 100
