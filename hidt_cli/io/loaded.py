"""A decoded photo: upright pixels at 8 bits (what networks read) and, for deep sources, at 16."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hidt_cli.io.depth import to_8bit
from hidt_cli.io.metadata import ImageMetadata


@dataclass
class LoadedImage:
    """An upright picture, its alpha if any, and what writing it back faithfully needs.

    `rgb` is H×W×3 uint8 and `alpha` H×W uint8 or None. `deep` (H×W×3 uint16, full 0..65535
    scale) and `alpha_deep` hold the same pixels at 16 bits when the source had more than 8
    bits per channel (16-bit PNG and TIFF, 10/12-bit HEIC and AVIF, RAW); `rgb` is then
    `deep` rounded to 8 bits, so both describe one picture.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    metadata: ImageMetadata = field(default_factory=ImageMetadata)
    notes: list[str] = field(default_factory=list)
    path: str = ""
    deep: np.ndarray | None = None
    alpha_deep: np.ndarray | None = None

    @classmethod
    def from_deep(
        cls,
        deep: np.ndarray,
        alpha_deep: np.ndarray | None,
        metadata: ImageMetadata,
        notes: list[str],
        path: str,
    ) -> LoadedImage:
        """A picture decoded at 16 bits, with its 8-bit version made by the one rounding rule."""
        return cls(
            rgb=to_8bit(deep),
            alpha=None if alpha_deep is None else to_8bit(alpha_deep),
            metadata=metadata,
            notes=notes,
            path=path,
            deep=deep,
            alpha_deep=alpha_deep,
        )

    @property
    def icc_profile(self) -> bytes | None:
        """The RGB colour profile the pixels are in (None: sRGB)."""
        return self.metadata.icc_profile

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), the order Pillow and OpenCV use."""
        return self.rgb.shape[1], self.rgb.shape[0]
