"""EXIF carried from a photo to its outputs: the camera's record (make, lens, date, exposure,
GPS) kept, what described the stored pixels brought up to date."""

from __future__ import annotations

from PIL import Image

from hidt_cli.io.orientation import ORIENTATION_TAG
from hidt_cli.io.pillow_lock import warnings_as_notes

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
_IMAGE_WIDTH, _IMAGE_LENGTH = 0x0100, 0x0101
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
# Tags that describe how a TIFF (or a RAW) stores its pixels; in an output they would
# describe pixels that are not there, so they are dropped. The writer of a TIFF sets its own.
_STORAGE_TAGS = frozenset(
    {0x00FE, 0x00FF, 0x0102, 0x0103, 0x0106, 0x0107, 0x010A, 0x0111, 0x0115, 0x0116, 0x0117}
    | {0x011C, 0x013D, 0x0140, 0x0142, 0x0143, 0x0144, 0x0145, 0x014A, 0x0152, 0x0153}
    | {0x0201, 0x0202, 0x0211, 0x0212, 0x02BC, 0x828D, 0x828E, 0x8773}
)
_DNG_TAGS = range(50706, 52600)  # DNG's own tags: versions, matrices, calibration, profiles


def app1_form(data: bytes | None) -> bytes | None:
    """EXIF as JPEG's APP1 holds it (b"Exif\\0\\0", then TIFF), the one form kept in memory;
    PNG's eXIf and HEIF store the TIFF part alone."""
    if not data:
        return None
    return data if data.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + data


def load_exif(data: bytes | None) -> Image.Exif | None:
    """Parsed EXIF (from JPEG's APP1 form, with or without the 'Exif' prefix), or None when
    there is none or it cannot be parsed."""
    if not data:
        return None
    exif = Image.Exif()
    try:
        exif.load(data)
        for tag in (EXIF_IFD, GPS_IFD):
            if tag in exif:  # parse the sub-directories now, so damage shows here
                exif.get_ifd(tag)
    except Exception:  # Pillow raises many kinds on damaged EXIF
        return None
    return exif if len(exif) else None


def exif_for_output(data: bytes | None, size: tuple[int, int]) -> Image.Exif | None:
    """The source's EXIF for an output of `size` (width, height) whose pixels are upright:
    Orientation 1, the pixel dimensions of the output, no thumbnail (IFD1 is not written, so
    a stale preview of the input never travels) and none of the source's storage tags.
    Pillow's warnings about damage are dropped: reading the photo made them a note."""
    with warnings_as_notes([]):
        exif = load_exif(data)
    if exif is None:
        return None
    _drop_storage_tags(exif)
    exif[ORIENTATION_TAG] = 1
    width, height = size
    if _IMAGE_WIDTH in exif:
        exif[_IMAGE_WIDTH], exif[_IMAGE_LENGTH] = width, height
    camera = exif.get_ifd(EXIF_IFD)
    if EXIF_IFD not in exif:  # a new directory, which Pillow writes only once it is set
        exif[EXIF_IFD] = camera
    camera[_PIXEL_X], camera[_PIXEL_Y] = width, height
    try:
        exif.tobytes()  # a value Pillow cannot write again must not cost the output itself
    except Exception:
        return None
    return exif


def exif_of_tiff(data: bytes) -> tuple[bytes | None, bytes | None]:
    """(EXIF, XMP) of a TIFF-structured file such as most RAWs, whose first directory holds the
    camera's record beside the storage of a preview or the sensor data, which is dropped."""
    exif = load_exif(data)
    if exif is None:
        return None, None
    xmp = exif.get(0x02BC)
    if isinstance(xmp, tuple):  # Pillow gives a BYTE-typed XMP as numbers
        xmp = bytes(xmp)
    _drop_storage_tags(exif)
    return exif.tobytes(), xmp or None


def _drop_storage_tags(exif: Image.Exif) -> None:
    for tag in list(exif):
        if tag in _STORAGE_TAGS or tag in _DNG_TAGS:
            del exif[tag]
