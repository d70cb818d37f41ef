"""Which image formats are read and written, their file suffixes, and how a file's content
tells its format when its name does not (a PNG named .jpg, a JPEG named .heic)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

RAW_SUFFIXES = frozenset({".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef"})
READ_SUFFIXES = (
    frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
    | frozenset({".heic", ".heif", ".avif"})
    | RAW_SUFFIXES
)
# Not readable, but taken from folders too, so that each such photo is named in an error.
UNREADABLE_SUFFIXES = frozenset({".jxl"})

SUPPORTED_OUTPUT_FORMATS = ("jpg", "png", "webp", "tiff", "avif", "heic")
_SUFFIX_FORMATS = {
    ".jpg": "jpg",
    ".jpeg": "jpg",
    ".png": "png",
    ".webp": "webp",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".avif": "avif",
    ".heic": "heic",
    ".heif": "heic",
}
OUTPUT_SUFFIXES = frozenset(_SUFFIX_FORMATS)

DEEP_BITS = {"png": 16, "tiff": 16, "heic": 10, "avif": 10}
"""Bits per channel each format keeps of 16-bit pixels; the others hold 8."""

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_CONTAINER_BRANDS = {b"mif1", b"msf1"}  # shared with AVIF
_AVIF_BRANDS = {b"avif", b"avis"}
_DNG_VERSION_TAG = 50706


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The output format named by a file's suffix, so users pick it with the file name."""
    suffix = Path(path).suffix
    try:
        return _SUFFIX_FORMATS[suffix.lower()]
    except KeyError:
        what = (
            f"'{suffix}' is not a supported output format"
            if suffix
            else "no file extension to pick a format from"
        )
        raise ValueError(
            f"{os.fspath(path)}: {what} (use .jpg, .png, .webp, .tif, .avif or .heic)"
        ) from None


def output_extension(input_suffix: str) -> str:
    """The extension of an output written in its input's format: the input's own suffix when
    it is writable, .tif for RAW (16 bits, like the RAW's development), else .png."""
    if input_suffix.lower() in OUTPUT_SUFFIXES:
        return input_suffix[1:]
    return "tif" if input_suffix.lower() in RAW_SUFFIXES else "png"


def sniff(head: bytes) -> str | None:
    """The format a file's first bytes show: jpg, png, gif, bmp, webp, tiff, heic, avif, raw
    or jxl; None when they show none of these (Pillow may still know it)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"BM"):
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "jxl"
    if head.startswith((b"FUJIFILMCCD-RAW", b"IIRO", b"IIRS", b"MMOR", b"IIU\x00")):
        return "raw"  # RAF, ORF and RW2: TIFF-like, with magic numbers of their own
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "raw" if head[8:10] == b"CR" or _has_dng_tag(head) else "tiff"
    if head[4:8] == b"ftyp":
        return _iso_media_format(head)
    return None


def _iso_media_format(head: bytes) -> str | None:
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    # Major brand, minor version, then compatible brands.
    brands = {head[i : i + 4] for i in range(8, box_end - 3, 4)}
    if b"crx " in brands:
        return "raw"  # CR3
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & (_HEIF_BRANDS | _HEIF_CONTAINER_BRANDS):
        return "heic"
    return None


def _has_dng_tag(head: bytes) -> bool:
    """DNG, unlike a plain TIFF, names its version in the first directory."""
    order = "<" if head[:2] == b"II" else ">"
    (start,) = struct.unpack_from(f"{order}I", head, 4)
    if start + 2 > len(head):
        return False
    (count,) = struct.unpack_from(f"{order}H", head, start)
    entries = range(start + 2, min(start + 2 + 12 * count, len(head) - 1), 12)
    return any(struct.unpack_from(f"{order}H", head, at)[0] == _DNG_VERSION_TAG for at in entries)
