"""The one writer of results: every command's output files go through `save_result`, and
stdout and the web page's responses through `encode_result`, so that what one command keeps
of its source photo — alpha, colour profile, EXIF, XMP, 16-bit depth — every command keeps."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from hidt_cli.io.depth import to_8bit
from hidt_cli.io.images import LoadedImage, encode_image, fit_alpha, write_image


@dataclass(frozen=True)
class OutputSettings:
    """How result files are written."""

    fmt: str | None = None
    """jpg, png, webp, tiff, avif, heic; None: from the file's suffix."""
    quality: int = 95
    """JPEG, WebP, AVIF and HEIC quality."""
    overwrite: bool = False
    bit_depth: int | None = None
    """8 or 16; None: the result's own depth where the format holds it (a 16-bit photo's
    results are 16-bit in PNG and TIFF, 10-bit in HEIC and AVIF), else 8."""
    strip_metadata: bool = False
    """Leave out EXIF and XMP (camera, date, GPS); the colour profile stays."""


def save_result(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    source: LoadedImage | None,
    settings: OutputSettings = OutputSettings(),
    recipe: str | None = None,
) -> None:
    """Write a result (H×W×3 uint8 or uint16, or ×4 for a sheet that carries its own alpha)
    atomically, with the alpha channel and metadata of the photo it was made from; `recipe`
    (how it was made) is recorded in it."""
    rgb, alpha = _split(pixels, source)
    write_image(
        path,
        rgb,
        alpha,
        fmt=settings.fmt,
        quality=settings.quality,
        metadata=source.metadata if source else None,
        bit_depth=settings.bit_depth,
        strip_metadata=settings.strip_metadata,
        recipe=recipe,
        overwrite=settings.overwrite,
    )


def encode_result(
    pixels: np.ndarray,
    source: LoadedImage | None,
    settings: OutputSettings,
    fmt: str,
    recipe: str | None = None,
) -> bytes:
    """A result encoded in memory as `save_result` would write it."""
    rgb, alpha = _split(pixels, source)
    return encode_image(
        rgb,
        alpha,
        fmt=fmt,
        quality=settings.quality,
        metadata=source.metadata if source else None,
        bit_depth=settings.bit_depth,
        strip_metadata=settings.strip_metadata,
        recipe=recipe,
    )


def source_pixels(photo: LoadedImage) -> np.ndarray:
    """What results are rendered onto: the photo at its own depth (16-bit where it has it)."""
    return photo.deep if photo.deep is not None else photo.rgb


def sheet_cell(pixels: np.ndarray, source: LoadedImage | None) -> np.ndarray:
    """A result as a cell of a sheet that shows results side by side: 8-bit, with its source's
    alpha as a fourth channel (fitted to its size) when the source has one."""
    if pixels.dtype == np.uint16:
        pixels = to_8bit(pixels)
    if source is None or source.alpha is None:
        return pixels
    return np.dstack((pixels, fit_alpha(source.alpha, pixels.shape[:2])))


def _split(pixels: np.ndarray, source: LoadedImage | None):
    """(rgb, alpha at rgb's size): a sheet's own alpha, else the source photo's, at the
    result's depth where the source has it."""
    if pixels.shape[-1] == 4:
        return np.ascontiguousarray(pixels[..., :3]), np.ascontiguousarray(pixels[..., 3])
    if source is None:
        return pixels, None
    deep = pixels.dtype == np.uint16 and source.alpha_deep is not None
    return pixels, fit_alpha(source.alpha_deep if deep else source.alpha, pixels.shape[:2])
