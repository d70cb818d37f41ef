"""The one writer of results: every command's output files go through `save_result`, and
stdout and the web page's responses through `encode_result`, so that what one command keeps
of its source photo (alpha, colour profile), every command keeps."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from hidt_cli.io.images import LoadedImage, encode_image, fit_alpha, write_image


@dataclass(frozen=True)
class OutputSettings:
    """How result files are written."""

    fmt: str | None = None
    """jpg, png, webp; None: from the file's suffix."""
    quality: int = 95
    """JPEG and WebP quality."""
    overwrite: bool = False


def save_result(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    source: LoadedImage | None,
    settings: OutputSettings = OutputSettings(),
) -> None:
    """Write a result (H×W×3, or H×W×4 for a sheet that carries its own alpha) atomically,
    with the alpha channel and colour profile of the photo it was made from."""
    rgb, alpha = _split(pixels, source)
    write_image(
        path,
        rgb,
        alpha,
        fmt=settings.fmt,
        quality=settings.quality,
        icc_profile=source.icc_profile if source else None,
        overwrite=settings.overwrite,
    )


def encode_result(
    pixels: np.ndarray, source: LoadedImage | None, settings: OutputSettings, fmt: str
) -> bytes:
    """A result encoded in memory as `save_result` would write it."""
    rgb, alpha = _split(pixels, source)
    icc = source.icc_profile if source else None
    return encode_image(rgb, alpha, fmt=fmt, quality=settings.quality, icc_profile=icc)


def with_alpha(pixels: np.ndarray, source: LoadedImage | None) -> np.ndarray:
    """A result with its source's alpha as a fourth channel (fitted to its size), for sheets
    that show results beside each other; unchanged when the source has none."""
    if source is None or source.alpha is None:
        return pixels
    return np.dstack((pixels, fit_alpha(source.alpha, pixels.shape[:2])))


def _split(pixels: np.ndarray, source: LoadedImage | None):
    if pixels.shape[-1] == 4:
        return np.ascontiguousarray(pixels[..., :3]), np.ascontiguousarray(pixels[..., 3])
    alpha = source.alpha if source is not None else None
    return pixels, fit_alpha(alpha, pixels.shape[:2])
