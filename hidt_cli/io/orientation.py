"""Turn stored pixels upright by the EXIF Orientation value (1–8), the same way for 8-bit,
16-bit and alpha arrays."""

from __future__ import annotations

import numpy as np

ORIENTATION_TAG = 0x0112


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """H×W or H×W×C pixels as stored → as shown (a contiguous copy); unknown values: unchanged."""
    turned = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: a[::-1].swapaxes(0, 1),  # stored turned left: shown turned right
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: a[:, ::-1].swapaxes(0, 1),
    }.get(orientation, lambda a: a)(pixels)
    return np.ascontiguousarray(turned)
