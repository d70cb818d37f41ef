"""Read any still image as upright RGB: 8 bits for the networks, and 16 as well where the source
holds more, so that a deep photo can be written back without banding."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
import pillow_heif
from PIL import Image, ImageCms

from hidt_cli.io import png, raw
from hidt_cli.io.depth import from_codes, to_16bit
from hidt_cli.io.errors import ImageError, describe
from hidt_cli.io.exif import app1_form
from hidt_cli.io.formats import RAW_SUFFIXES, sniff
from hidt_cli.io.heif import read_heif
from hidt_cli.io.loaded import LoadedImage
from hidt_cli.io.metadata import ImageMetadata, rgb_profile
from hidt_cli.io.orientation import ORIENTATION_TAG, upright
from hidt_cli.io.pillow_lock import warnings_as_notes
from hidt_cli.io.xmp import recipe_of

DEFAULT_MAX_PIXELS = 200_000_000

_HEAD_BYTES = 1 << 16  # enough for every format's signature and a TIFF's first directory
_ANIMATED_FORMATS = {"GIF", "PNG", "WEBP"}
# Pillow's conversion to 8 bits clips these at 255, so they are rescaled here instead.
_WIDE_GRAY_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
# Pillow decodes deeper sources in these modes at 8 bits; OpenCV decodes them whole.
_CUT_MODES = {"RGB", "RGBA", "LA"}
_UNREADABLE = {"jxl": "JPEG XL images are not supported; convert to JPEG, PNG or TIFF first"}

# OpenCV would print its own lines about a damaged file; the one-line ImageError says it.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def read_image(
    source: str | os.PathLike[str] | bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> LoadedImage:
    """Decode a file (or stdin's bytes) fully, so that every failure surfaces here as ImageError.

    The content decides the format, not the name: a PNG named .jpg is read as PNG. A TIFF
    named like a RAW is developed as RAW when LibRaw knows it, else read as TIFF.
    """
    if isinstance(source, bytes):
        label = name or "<stdin>"
        stream: BinaryIO = io.BytesIO(source)
    else:
        label = name or os.fspath(source)
        stream = _open_file(source, label)
    with stream:
        head = stream.read(_HEAD_BYTES)
        if not head:
            raise ImageError(label, "empty file")
        kind = sniff(head)
        if kind in _UNREADABLE:
            raise ImageError(label, _UNREADABLE[kind])
        stream.seek(0)
        try:
            return _decode(stream, head, kind, label, max_pixels)
        except ImageError:
            raise
        except Image.UnidentifiedImageError:
            raise ImageError(label, "not an image file (unrecognised format)") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(
                label, f"image data is over the pixel limit of {max_pixels} (use --max-pixels)"
            ) from None
        except MemoryError:
            raise ImageError(label, "not enough memory to decode the image") from None
        # The decoders raise OSError, SyntaxError, EOFError, struct.error and more on bad data.
        except Exception as exc:
            raise ImageError(label, "truncated or corrupt image data") from exc


def read_recipe(path: str | os.PathLike[str]) -> str | None:
    """The recipe an output of write_image records, read from its header without decoding any
    pixel; None when the file has none or cannot be read."""
    try:
        with open(path, "rb") as stream:
            kind = sniff(stream.read(_HEAD_BYTES))
            stream.seek(0)
            if kind == "heic":
                xmp = pillow_heif.open_heif(stream).info.get("xmp")
            elif kind in ("raw", "jxl"):
                return None
            else:
                with warnings_as_notes([]):  # the lock; a damaged header has no recipe anyway
                    image = _open_pillow(stream)
                with image:
                    xmp = image.info.get("xmp")
    except Exception:  # no file, or not an image: either way it records no recipe
        return None
    return recipe_of(xmp)


def _open_file(path: str | os.PathLike[str], label: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "is a directory"
    except PermissionError:  # Windows reports directories this way too
        reason = "is a directory" if os.path.isdir(path) else "permission denied"
    except OSError as exc:
        reason = f"cannot read: {describe(exc)}"
    raise ImageError(label, reason)


def _decode(
    stream: BinaryIO, head: bytes, kind: str | None, label: str, max_pixels: int
) -> LoadedImage:
    if kind == "heic":
        return read_heif(stream, label, max_pixels)
    if kind == "raw" or (kind == "tiff" and Path(label).suffix.lower() in RAW_SUFFIXES):
        try:
            return raw.read_raw(stream.read(), label, max_pixels)
        except raw.NotRawError:
            if kind == "raw":
                raise ImageError(label, raw.UNSUPPORTED) from None
            stream.seek(0)  # a TIFF named like a RAW
    return _decode_with_pillow(stream, head, kind, label, max_pixels)


def _decode_with_pillow(
    stream: BinaryIO, head: bytes, kind: str | None, label: str, max_pixels: int
) -> LoadedImage:
    image, notes = _load_header(stream, label, max_pixels)
    bits = _source_bits(image, head)
    deep_source = bits > 8 and image.mode in _CUT_MODES
    if deep_source:
        stream.seek(0)
        data = stream.read()
        if image.format == "PNG" and "exif" not in image.info:
            # Pillow would decode every pixel to look for EXIF after them; this finds it.
            image.info["exif"] = png.find_chunk(data, b"eXIf") or b""
    else:
        image.load()  # outside the lock: decoding runs in parallel on the read-ahead threads
    orientation, exif = _orientation_and_exif(image, notes)
    metadata = ImageMetadata(
        icc_profile=image.info.get("icc_profile") or None,
        exif=exif,
        xmp=_xmp(image),
        source_format=kind or (image.format or "").lower(),
    )
    if deep_source:
        deep, alpha_deep = _decode_deep(data, image.format, bits)
        icc = rgb_profile(metadata.icc_profile, notes)
        return LoadedImage.from_deep(
            upright(deep, orientation),
            _upright(alpha_deep, orientation),
            dataclasses.replace(metadata, icc_profile=icc, bit_depth=16),
            notes,
            label,
        )
    image, icc = _keep_rgb_profile(image, metadata.icc_profile, notes)
    if image.mode in _WIDE_GRAY_MODES:
        # Pillow also uses "I" for 16-bit data, so it is clipped to that range.
        gray = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
        deep = upright(np.repeat(gray[:, :, None], 3, axis=2), orientation)
        metadata = dataclasses.replace(metadata, icc_profile=icc, bit_depth=16)
        return LoadedImage.from_deep(deep, None, metadata, notes, label)
    rgb, alpha = _to_arrays(image)
    return LoadedImage(
        rgb=upright(rgb, orientation),
        alpha=_upright(alpha, orientation),
        metadata=dataclasses.replace(metadata, icc_profile=icc),
        notes=notes,
        path=label,
    )


def _open_pillow(stream: BinaryIO) -> Image.Image:
    """Open (read the header only) with Pillow's own pixel limit switched off: the caller
    applies --max-pixels to the header's size instead."""
    saved_limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None
        return Image.open(stream)
    finally:
        Image.MAX_IMAGE_PIXELS = saved_limit


def _load_header(stream: BinaryIO, label: str, max_pixels: int) -> tuple[Image.Image, list[str]]:
    """Open the first frame, checking the pixel count before any pixel data is read."""
    notes: list[str] = []
    with warnings_as_notes(notes):
        image = _open_pillow(stream)
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            label, f"{width * height} pixels is over the limit of {max_pixels} (use --max-pixels)"
        )
    frames = getattr(image, "n_frames", 1)
    # MPO's extra frames are camera previews, not content.
    if frames > 1 and image.format != "MPO":
        kind = "animated" if image.format in _ANIMATED_FORMATS else "multi-page"
        notes.append(f"{kind} image: used the first of {frames} frames")
    return image, notes


def _orientation_and_exif(image: Image.Image, notes: list[str]) -> tuple[int, bytes | None]:
    """The EXIF Orientation to apply (1 when unreadable) and the EXIF to carry, if readable."""
    try:
        with warnings_as_notes(notes):
            exif = image.getexif()
            orientation = int(exif.get(ORIENTATION_TAG, 1))
            data = app1_form(image.info.get("exif")) or (exif.tobytes() if len(exif) else None)
    except Exception:  # malformed EXIF should not cost the picture itself
        notes.append("could not read the EXIF orientation; used the image as stored")
        return 1, None
    return orientation, data


def _xmp(image: Image.Image) -> bytes | None:
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    return xmp.encode() if isinstance(xmp, str) else xmp or None


def _source_bits(image: Image.Image, head: bytes) -> int:
    """Bits per channel the file stores, which Pillow's RGB modes do not tell."""
    if image.format == "PNG":
        return head[24]
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, 8)
        return max(bits) if isinstance(bits, tuple) else int(bits)
    if image.format == "AVIF":
        return _avif_bits(head)
    return 8


def _avif_bits(head: bytes) -> int:
    """From the AV1 configuration box: its high_bitdepth and twelve_bit flags."""
    at = head.find(b"av1C")
    if at < 0 or at + 7 > len(head):
        return 8
    flags = head[at + 6]
    return 12 if flags & 0x20 else 10 if flags & 0x40 else 8


def _decode_deep(
    data: bytes, pil_format: str | None, bits: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """(H×W×3 uint16 RGB, H×W uint16 alpha or None) as stored, by OpenCV (first page only)."""
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ValueError("OpenCV could not decode the pixel data")
    if pixels.dtype == np.uint8:
        pixels = to_16bit(pixels)
    elif pil_format == "AVIF":  # AVIF's decoder gives the 10- or 12-bit codes themselves
        pixels = from_codes(pixels, bits)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    channels = pixels.shape[2]
    if channels <= 2:  # gray, and gray with alpha
        rgb = np.repeat(pixels[:, :, :1], 3, axis=2)
        alpha = pixels[:, :, 1] if channels == 2 else None
    else:
        rgb = pixels[:, :, 2::-1]  # OpenCV's order is BGR(A)
        alpha = pixels[:, :, 3] if channels == 4 else None
    return np.ascontiguousarray(rgb), None if alpha is None else np.ascontiguousarray(alpha)


def _upright(pixels: np.ndarray | None, orientation: int) -> np.ndarray | None:
    return None if pixels is None else upright(pixels, orientation)


def _keep_rgb_profile(
    image: Image.Image, icc: bytes | None, notes: list[str]
) -> tuple[Image.Image, bytes | None]:
    """Only RGB profiles describe the RGB pixels returned; a CMYK one is used converting to sRGB."""
    if image.mode == "CMYK" and icc is not None and icc[16:20] == b"CMYK":
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            converted = ImageCms.buildTransform(source, srgb, "CMYK", "RGB").apply(image)
            notes.append("converted CMYK to sRGB with the embedded colour profile")
            return converted, None
        except ImageCms.PyCMSError:
            pass  # an unusable profile: fall back to Pillow's plain conversion
    return image, rgb_profile(icc, notes)


def _to_arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    if image.mode == "F":  # Pillow's 0..255 scale, but rounded where Pillow truncates
        gray = np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2)), None
    if image.has_transparency_data:
        pixels = np.asarray(image.convert("RGBA"))
        return np.ascontiguousarray(pixels[:, :, :3]), np.ascontiguousarray(pixels[:, :, 3])
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))), None
