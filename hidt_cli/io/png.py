"""Metadata chunks added to an encoded PNG: the pixel encoders (Pillow for 8 bits, OpenCV for
16) write pixels only, and this one place writes the ICC profile, EXIF and XMP for both."""

from __future__ import annotations

import struct
import zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR_END = len(_SIGNATURE) + 4 + 4 + 13 + 4  # length, type, 13 bytes of header, CRC


def with_metadata(
    png: bytes, *, icc_profile: bytes | None, exif: bytes | None, xmp: bytes | None
) -> bytes:
    """`png` with iCCP, eXIf and an XMP iTXt chunk right after its header, before the pixel
    data, where readers (and read_recipe) find them without decoding a pixel."""
    if not png.startswith(_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG stream")
    chunks = []
    if icc_profile:
        chunks.append(_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))
    if exif:
        chunks.append(_chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00")))
    if xmp:
        # keyword, no compression (flag 0, method 0), no language tag, no translated keyword
        chunks.append(_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp))
    return png[:_IHDR_END] + b"".join(chunks) + png[_IHDR_END:]


def find_chunk(png: bytes, kind: bytes) -> bytes | None:
    """The data of the first chunk of `kind`, wherever it lies (EXIF may follow the pixels)."""
    at = len(_SIGNATURE)
    while at + 8 <= len(png):
        (length,) = struct.unpack_from(">I", png, at)
        if png[at + 4 : at + 8] == kind:
            return png[at + 8 : at + 8 + length]
        at += 12 + length
    return None


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
