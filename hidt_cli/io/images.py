"""Still images in and out, in one import: read_image (every format, upright, 8 and 16 bits),
encode_image / write_image (the one writer), read_recipe, and what they take and give.

The work is done in the modules named for it: read, write, formats, metadata (exif, xmp),
and one per container that needs its own code (heif, raw, png, tiff)."""

from hidt_cli.io.errors import ImageError
from hidt_cli.io.errors import ImageExistsError as OutputExistsError
from hidt_cli.io.formats import SUPPORTED_OUTPUT_FORMATS, format_for_path
from hidt_cli.io.loaded import LoadedImage
from hidt_cli.io.metadata import ImageMetadata
from hidt_cli.io.read import DEFAULT_MAX_PIXELS, read_image, read_recipe
from hidt_cli.io.write import encode_image, fit_alpha, write_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SUPPORTED_OUTPUT_FORMATS",
    "ImageError",
    "ImageMetadata",
    "LoadedImage",
    "OutputExistsError",
    "encode_image",
    "fit_alpha",
    "format_for_path",
    "read_image",
    "read_recipe",
    "write_image",
]
