"""RAW photos developed by LibRaw (through rawpy) the way a neutral converter would: the
camera's white balance, sRGB primaries and curve, 16 bits, no automatic brightening, and the
RAW's own orientation."""

from __future__ import annotations

import io

import rawpy
from PIL import Image

from hidt_cli.io.errors import ImageError
from hidt_cli.io.exif import app1_form, exif_of_tiff
from hidt_cli.io.loaded import LoadedImage
from hidt_cli.io.metadata import ImageMetadata
from hidt_cli.io.pillow_lock import warnings_as_notes

LIBRAW_VERSION = ".".join(map(str, rawpy.libraw_version))
_SRGB_CURVE = (2.4, 12.92)  # LibRaw's (power, toe slope) for the sRGB transfer curve
# ORF and RW2 are TIFF with magic numbers of their own; with TIFF's, their EXIF reads as TIFF.
_TIFF_LIKE = {b"IIRO": b"II*\x00", b"IIRS": b"II*\x00", b"MMOR": b"MM\x00*", b"IIU\x00": b"II*\x00"}


UNSUPPORTED = f"LibRaw {LIBRAW_VERSION} cannot decode this RAW file (unsupported camera or format)"


class NotRawError(Exception):
    """LibRaw does not know the file as a RAW (so a TIFF named .nef can be read as TIFF)."""


def read_raw(data: bytes, label: str, max_pixels: int) -> LoadedImage:
    """Develop a RAW file's bytes; the pixel count is checked before the sensor data is read."""
    raw = rawpy.RawPy()
    try:
        try:
            raw.open_buffer(io.BytesIO(data))  # reads the header only
        except rawpy.LibRawFileUnsupportedError:
            raise NotRawError from None
        pixels = raw.sizes.width * raw.sizes.height
        if pixels > max_pixels:
            raise ImageError(
                label, f"{pixels} pixels is over the limit of {max_pixels} (use --max-pixels)"
            )
        raw.unpack()
        deep = raw.postprocess(
            use_camera_wb=True,
            no_auto_bright=True,
            output_bps=16,
            output_color=rawpy.ColorSpace.sRGB,
            gamma=_SRGB_CURVE,
        )
    except rawpy.LibRawError as exc:
        reason = _libraw_reason(exc) or "unsupported camera or damaged data"
        raise ImageError(
            label, f"LibRaw {LIBRAW_VERSION} cannot decode this RAW file ({reason})"
        ) from exc
    finally:
        raw.close()
    notes: list[str] = []
    exif, xmp = _camera_record(data, notes)
    metadata = ImageMetadata(exif=exif, xmp=xmp, source_format="raw", bit_depth=16)
    return LoadedImage.from_deep(deep, None, metadata, notes, label)


def _libraw_reason(exc: rawpy.LibRawError) -> str:
    """rawpy's messages are LibRaw's, as a bytes literal: b'Input/output error'."""
    text = str(exc).strip()
    if text[:2] in ("b'", 'b"'):
        text = text[2:-1]
    return text[:1].lower() + text[1:]


def _camera_record(data: bytes, notes: list[str]) -> tuple[bytes | None, bytes | None]:
    """The RAW's EXIF and XMP: from its TIFF directory, or from the JPEG preview a RAF holds."""
    with warnings_as_notes(notes):
        if data.startswith(b"FUJIFILMCCD-RAW"):
            start, length = int.from_bytes(data[84:88], "big"), int.from_bytes(data[88:92], "big")
            try:
                with Image.open(io.BytesIO(data[start : start + length])) as preview:
                    return app1_form(preview.info.get("exif")), preview.info.get("xmp")
            except Exception:  # a damaged preview costs only the record
                return None, None
        tiff = _TIFF_LIKE[data[:4]] + data[4:] if data[:4] in _TIFF_LIKE else data
        if tiff.startswith((b"II*\x00", b"MM\x00*")):
            return exif_of_tiff(tiff)
    return None, None  # CR3 keeps its record in boxes of its own
