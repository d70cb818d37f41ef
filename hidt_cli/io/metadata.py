"""What a photo carries besides its pixels, and what of it an output carries."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from hidt_cli.io.exif import exif_for_output
from hidt_cli.io.xmp import with_recipe, xmp_for_output


@dataclass(frozen=True)
class ImageMetadata:
    """A photo's metadata as read.

    `exif` is in JPEG's APP1 form (b"Exif\\0\\0" and a TIFF structure), `xmp` the XMP packet,
    `icc_profile` an RGB profile (the only kind kept, since the pixels are RGB);
    `source_format` is what the content showed (jpg, png, webp, tiff, heic, avif, raw, gif,
    bmp, …) and `bit_depth` 16 when the source held more than 8 bits per channel, else 8.
    """

    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    source_format: str = ""
    bit_depth: int = 8


def rgb_profile(icc: bytes | None, notes: list[str]) -> bytes | None:
    """`icc` when it is an RGB profile; any other kind does not describe RGB pixels, so it is
    dropped, with a note."""
    if icc is None or icc[16:20] == b"RGB ":
        return icc
    notes.append(f"dropped the embedded {icc[16:20].decode('latin-1').strip()} colour profile")
    return None


@dataclass(frozen=True)
class OutputMetadata:
    """What one output carries: its formats' encoders embed each part they can hold."""

    icc_profile: bytes | None
    exif: Image.Exif | None
    xmp: bytes | None

    @property
    def exif_bytes(self) -> bytes | None:
        return self.exif.tobytes() if self.exif is not None else None


def output_metadata(
    metadata: ImageMetadata | None,
    size: tuple[int, int],
    *,
    icc_profile: bytes | None = None,
    strip: bool = False,
    recipe: str | None = None,
) -> OutputMetadata:
    """The metadata of an upright output of `size` (width, height) made from a photo.

    EXIF and XMP are kept and brought up to date (see exif_for_output, xmp_for_output);
    `strip` drops both (camera, dates, GPS: whatever could identify a person or place) and
    keeps only the ICC profile, which describes the pixels' colours rather than the photo.
    `icc_profile` given wins over the photo's own. `recipe` is stored either way: it names
    how the output was made and holds nothing personal.
    """
    source = metadata or ImageMetadata()
    icc = icc_profile or source.icc_profile
    exif = None if strip else exif_for_output(source.exif, size)
    xmp = None if strip else xmp_for_output(source.xmp, size)
    if recipe is not None:
        xmp = with_recipe(xmp, recipe)
    return OutputMetadata(icc_profile=icc, exif=exif, xmp=xmp)
