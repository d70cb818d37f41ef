"""How many bytes a video file lacks by its own account: the sizes its outermost structure
declares (MP4/MOV boxes, the Matroska/WebM segment, the AVI RIFF chunk), against its length.

A file cut between two packets decodes cleanly up to the cut, and when B-frames are reordered
the frames it lost may lie before the last one shown, so neither decoding nor timestamps
always tell such a file from a whole one; these sizes do.
"""

from __future__ import annotations

import os
from typing import BinaryIO

_BOX_TYPES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"})
"""Top-level box types that an MP4 or QuickTime file may start with."""
_EBML = b"\x1a\x45\xdf\xa3"
_SEGMENT = b"\x18\x53\x80\x67"


def bytes_missing(path: str | os.PathLike[str]) -> int:
    """Bytes the file's declared structure runs past its end (at least that many are gone:
    what followed the cut is not known); 0 when whole, when its format is none of the three,
    or when the sizes cannot be read (the decoder judges those)."""
    try:
        with open(path, "rb") as fh:
            length = os.fstat(fh.fileno()).st_size
            head = fh.read(12)
            if head[4:8] in _BOX_TYPES:
                return _boxes_missing(fh, length)
            if head[:4] == _EBML:
                return _segment_missing(fh, length)
            if head[:4] == b"RIFF":
                declared = 8 + int.from_bytes(head[4:8], "little")
                return max(0, declared - length)
    except OSError:
        pass
    return 0


def _boxes_missing(fh: BinaryIO, length: int) -> int:
    """Walk the top-level boxes: each starts with its size (32 bits, or 64 after a 1; 0 for
    'to the end of the file')."""
    offset = 0
    while offset < length:
        fh.seek(offset)
        header = fh.read(16)
        if len(header) < 8:
            return offset + 8 - length
        size = int.from_bytes(header[:4], "big")
        if size == 1:
            if len(header) < 16:
                return offset + 16 - length
            size = int.from_bytes(header[8:16], "big")
        elif size == 0:
            return 0
        if size < 8:  # not a box: leave the verdict to the decoder
            return 0
        offset += size
    return offset - length


def _segment_missing(fh: BinaryIO, length: int) -> int:
    """The EBML header, then one Segment whose declared size covers the rest of the file
    (all ones: unknown, as a live recording writes it)."""
    fh.seek(4)
    header_size = _read_vint(fh)
    if header_size is None:
        return 0
    fh.seek(header_size[0], os.SEEK_CUR)
    if fh.read(4) != _SEGMENT:
        return 0
    segment = _read_vint(fh)
    if segment is None or segment[1]:
        return 0
    return max(0, fh.tell() + segment[0] - length)


def _read_vint(fh: BinaryIO) -> tuple[int, bool] | None:
    """An EBML variable-length size: (value, whether it means 'unknown'), or None if bad."""
    first = fh.read(1)
    if not first or first[0] == 0:
        return None
    width = 9 - first[0].bit_length()
    rest = fh.read(width - 1)
    if len(rest) < width - 1:
        return None
    value = int.from_bytes(bytes([first[0] & (0xFF >> width)]) + rest, "big")
    return value, value == (1 << (7 * width)) - 1
