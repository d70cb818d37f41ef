"""Sample depth conversions, one rounding rule each: 8-bit, 16-bit, and the 10/12-bit codes
of HEIC and AVIF. 16-bit values always use the full 0..65535 scale."""

from __future__ import annotations

import numpy as np


def to_8bit(values_65535: np.ndarray) -> np.ndarray:
    """0..65535 onto 0..255, rounded, so 257 · v maps back to v exactly."""
    return ((values_65535.astype(np.uint32) + 128) // 257).astype(np.uint8)


def to_16bit(values_255: np.ndarray) -> np.ndarray:
    """0..255 onto 0..65535 (× 257: 255 becomes 65535, the full scale)."""
    return values_255.astype(np.uint16) * 257


def from_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Codes of a `bits`-deep image (0..2**bits−1) onto the full 16-bit scale, rounded."""
    top = (1 << bits) - 1
    return ((codes.astype(np.uint32) * 65535 + top // 2) // top).astype(np.uint16)


def to_codes(values_65535: np.ndarray, bits: int) -> np.ndarray:
    """The full 16-bit scale onto the codes of a `bits`-deep image, rounded."""
    top = (1 << bits) - 1
    return ((values_65535.astype(np.uint32) * top + 32767) // 65535).astype(np.uint16)
