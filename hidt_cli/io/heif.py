"""HEIC/HEIF, the format phones save photos in, read and written through pillow-heif (libheif),
at 8 bits or 10 (libheif's encoder writes 10 bits of 16-bit pixels; 12-bit sources read)."""

from __future__ import annotations

import io
from typing import BinaryIO

import numpy as np
import pillow_heif

from hidt_cli.io.depth import from_codes, to_codes
from hidt_cli.io.errors import ImageError
from hidt_cli.io.exif import app1_form
from hidt_cli.io.loaded import LoadedImage
from hidt_cli.io.metadata import ImageMetadata, OutputMetadata, rgb_profile

HEIC_BITS = 10


def read_heif(stream: BinaryIO, label: str, max_pixels: int) -> LoadedImage:
    """The primary image, upright: libheif applies the file's rotation and mirroring itself,
    so the EXIF Orientation (kept only as a record in HEIC) is not applied again."""
    heif = pillow_heif.open_heif(stream, convert_hdr_to_8bit=False)  # reads the header only
    width, height = heif.size
    if width * height > max_pixels:
        raise ImageError(
            label, f"{width * height} pixels is over the limit of {max_pixels} (use --max-pixels)"
        )
    notes = [f"HEIF with {len(heif)} images: used the primary one"] if len(heif) > 1 else []
    bits = int(heif.info.get("bit_depth", 8))
    pixels = np.asarray(heif)  # decodes
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    metadata = ImageMetadata(
        icc_profile=rgb_profile(heif.info.get("icc_profile") or None, notes),
        exif=app1_form(heif.info.get("exif")),
        xmp=heif.info.get("xmp") or None,
        source_format="heic",
        bit_depth=16 if bits > 8 else 8,
    )
    if bits > 8:  # pillow-heif gives the codes in the top bits of 16
        deep = from_codes(pixels >> (16 - bits), bits)
        alpha = np.ascontiguousarray(deep[:, :, 3]) if deep.shape[2] == 4 else None
        return LoadedImage.from_deep(
            np.ascontiguousarray(deep[:, :, :3]), alpha, metadata, notes, label
        )
    alpha = np.ascontiguousarray(pixels[:, :, 3]) if pixels.shape[2] == 4 else None
    return LoadedImage(
        rgb=np.ascontiguousarray(pixels[:, :, :3]),
        alpha=alpha,
        metadata=metadata,
        notes=notes,
        path=label,
    )


def encode_heic(
    rgb: np.ndarray, alpha: np.ndarray | None, quality: int, metadata: OutputMetadata
) -> bytes:
    """8-bit pixels as 8-bit HEIC, 16-bit ones as 10-bit HEIC."""
    pixels = rgb if alpha is None else np.dstack((rgb, alpha))
    mode = "RGBA" if alpha is not None else "RGB"
    if pixels.dtype == np.uint16:
        mode += ";16"
        pixels = to_codes(pixels, HEIC_BITS) << (16 - HEIC_BITS)
    heif = pillow_heif.from_bytes(
        mode, (rgb.shape[1], rgb.shape[0]), np.ascontiguousarray(pixels).tobytes()
    )
    options: dict[str, object] = {"quality": quality}
    if metadata.exif is not None:
        options["exif"] = metadata.exif_bytes
    if metadata.xmp:
        options["xmp"] = metadata.xmp
    if metadata.icc_profile:
        options["icc_profile"] = metadata.icc_profile
    buffer = io.BytesIO()
    heif.save(buffer, **options)
    return buffer.getvalue()
