"""A minimal DNG writer for tests: one uncompressed 16-bit RGGB mosaic in the first directory,
with the tags LibRaw needs to develop it (CFA layout, colour matrix, white balance as shot,
orientation) and a camera name in EXIF's place."""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np

_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _SRATIONAL = 1, 2, 3, 4, 5, 10
# XYZ (D65) → linear sRGB: with it as ColorMatrix1, the "camera" sees linear sRGB.
_XYZ_TO_SRGB = (
    (3.2406, -1.5372, -0.4986),
    (-0.9689, 1.8758, 0.0415),
    (0.0557, -0.2040, 1.0570),
)
MAKE, MODEL = "Example Optics", "Mosaic 1"


def dng_bytes(
    linear_rgb_65535: np.ndarray,
    *,
    orientation: int = 1,
    as_shot_neutral: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> bytes:
    """A DNG of an H×W×3 linear scene (even H and W) as the sensor records it: each channel
    scaled by `as_shot_neutral` (the camera's view of a neutral grey), sampled RGGB."""
    scene = linear_rgb_65535.astype(np.float64) * np.asarray(as_shot_neutral)
    mosaic = np.empty(scene.shape[:2], np.uint16)
    for (row, col), channel in {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 2}.items():
        mosaic[row::2, col::2] = np.clip(np.rint(scene[row::2, col::2, channel]), 0, 65535)
    height, width = mosaic.shape
    data = mosaic.astype("<u2").tobytes()
    entries = {
        254: (_LONG, [0]),  # the full-size image
        256: (_LONG, [width]),
        257: (_LONG, [height]),
        258: (_SHORT, [16]),
        259: (_SHORT, [1]),  # uncompressed
        262: (_SHORT, [32803]),  # colour filter array
        271: (_ASCII, MAKE),
        272: (_ASCII, MODEL),
        273: (_LONG, [0]),  # strip offset, set below
        274: (_SHORT, [orientation]),
        277: (_SHORT, [1]),
        278: (_LONG, [height]),
        279: (_LONG, [len(data)]),
        284: (_SHORT, [1]),
        33421: (_SHORT, [2, 2]),  # CFARepeatPatternDim
        33422: (_BYTE, [0, 1, 1, 2]),  # CFAPattern: R G / G B
        50706: (_BYTE, [1, 4, 0, 0]),  # DNGVersion
        50707: (_BYTE, [1, 1, 0, 0]),  # DNGBackwardVersion
        50708: (_ASCII, f"{MAKE} {MODEL}"),  # UniqueCameraModel
        50714: (_LONG, [0]),  # BlackLevel
        50717: (_LONG, [65535]),  # WhiteLevel
        50721: (_SRATIONAL, [value for row in _XYZ_TO_SRGB for value in row]),  # ColorMatrix1
        50728: (_RATIONAL, list(as_shot_neutral)),  # AsShotNeutral
        50778: (_SHORT, [21]),  # CalibrationIlluminant1: D65
    }
    return _tiff(entries, data)


def _tiff(entries: dict[int, tuple[int, object]], strip: bytes) -> bytes:
    """Little-endian TIFF: header, one directory, its out-of-line values, then the strip."""
    values = {tag: _pack(kind, value) for tag, (kind, value) in entries.items()}
    directory_end = 8 + 2 + 12 * len(entries) + 4
    extra = bytearray()
    directory = bytearray(struct.pack("<H", len(entries)))
    strip_entry = 0
    for tag in sorted(entries):
        kind, value = entries[tag]
        packed, count = values[tag]
        if tag == 273:
            strip_entry = len(directory) + 8
        if len(packed) <= 4:
            directory += struct.pack("<HHI", tag, kind, count) + packed.ljust(4, b"\0")
        else:
            directory += struct.pack("<HHII", tag, kind, count, directory_end + len(extra))
            extra += packed + b"\0" * (len(packed) % 2)
    directory += b"\0\0\0\0"  # no next directory
    struct.pack_into("<I", directory, strip_entry, directory_end + len(extra))
    return b"II*\0" + struct.pack("<I", 8) + bytes(directory) + bytes(extra) + strip


def _pack(kind: int, value: object) -> tuple[bytes, int]:
    if kind == _ASCII:
        text = str(value).encode() + b"\0"
        return text, len(text)
    numbers = list(value)  # type: ignore[call-overload]
    if kind == _BYTE:
        return bytes(numbers), len(numbers)
    if kind in (_SHORT, _LONG):
        return struct.pack(f"<{len(numbers)}{'H' if kind == _SHORT else 'I'}", *numbers), len(
            numbers
        )
    code = "i" if kind == _SRATIONAL else "I"
    fractions = [Fraction(number).limit_denominator(10_000) for number in numbers]
    packed = b"".join(struct.pack(f"<{code}{code}", f.numerator, f.denominator) for f in fractions)
    return packed, len(numbers)
