"""The one image writer: every output format, at 8 or 16 bits, with the photo's metadata
brought along, and never half a file under the final name."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from hidt_cli.io import png
from hidt_cli.io.depth import to_8bit, to_16bit, to_codes
from hidt_cli.io.errors import ImageError, ImageExistsError, OutputExistsError, describe
from hidt_cli.io.formats import DEEP_BITS, SUPPORTED_OUTPUT_FORMATS, format_for_path
from hidt_cli.io.heif import encode_heic
from hidt_cli.io.metadata import ImageMetadata, OutputMetadata, output_metadata
from hidt_cli.io.publish import publish
from hidt_cli.io.tiff import DEFLATE_LEVEL, encode_tiff
from hidt_cli.io.xmp import check_recipe

_PIL_FORMATS = {"jpg": "JPEG", "webp": "WEBP"}
_JPEG_EXIF_BYTES = 65533  # an APP1 segment less its length field
_JPEG_XMP_BYTES = _JPEG_EXIF_BYTES - len(b"http://ns.adobe.com/xap/1.0/\x00")
_AVIF_SPEED = 6  # libavif's middle speed, Pillow's default too


def encode_image(
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    fmt: str = "png",
    quality: int = 95,
    metadata: ImageMetadata | None = None,
    bit_depth: int | None = None,
    strip_metadata: bool = False,
    recipe: str | None = None,
    icc_profile: bytes | None = None,
) -> bytes:
    """Encode in memory, so that a file is only created once the whole encoding succeeded.

    `rgb` is H×W×3 and `alpha` H×W (same size; see fit_alpha), each uint8 or uint16 (full
    0..65535 scale). Depth: `bit_depth` 8 or 16 when given, else 16 for uint16 pixels in a
    format that holds more than 8 bits (png and tiff at 16, heic and avif at 10), else 8.
    JPEG has no alpha channel, so alpha is dropped there.

    Metadata: the photo's EXIF, XMP and ICC profile (`metadata`, as read_image gave it) go into
    every format that holds them, EXIF and XMP updated for upright pixels of the output's size.
    `strip_metadata` removes EXIF and XMP (GPS and camera details with them) and keeps only the
    ICC profile, which describes the pixels' colours and nothing about the photo. `recipe`
    (how the output was made) is recorded in the XMP either way; read_recipe reads it back.
    `icc_profile` embeds a profile where there is no `metadata` (or overrides its profile).
    """
    _check_request(rgb, alpha, fmt, bit_depth, recipe)
    depth = bit_depth or (16 if rgb.dtype == np.uint16 and fmt in DEEP_BITS else 8)
    convert = to_16bit if depth == 16 else to_8bit
    wanted = np.uint16 if depth == 16 else np.uint8
    rgb = rgb if rgb.dtype == wanted else convert(rgb)
    if alpha is not None and alpha.dtype != wanted:
        alpha = convert(alpha)
    carried = output_metadata(
        metadata,
        (rgb.shape[1], rgb.shape[0]),
        icc_profile=icc_profile,
        strip=strip_metadata,
        recipe=recipe,
    )
    return _ENCODERS[fmt](rgb, None if fmt == "jpg" else alpha, quality, carried)


def write_image(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    fmt: str | None = None,
    overwrite: bool = False,
    **encoding,
) -> None:
    """encode_image with `encoding`'s options (quality, metadata, bit_depth, strip_metadata,
    recipe, icc_profile) in the format named by the suffix unless `fmt` is given, then a
    temporary file published under the final name, so that it never holds a partial image."""
    target = Path(path)
    fmt = fmt or format_for_path(target)
    if not overwrite and os.path.lexists(target):
        raise ImageExistsError(target)
    # so that any ValueError left below comes from the encoder
    _check_request(rgb, alpha, fmt, encoding.get("bit_depth"), encoding.get("recipe"))
    try:
        data = encode_image(rgb, alpha, fmt=fmt, **encoding)
    except (OSError, ValueError, cv2.error) as exc:  # encoder limits, e.g. WebP's 16383 pixels
        raise ImageError(target, f"cannot encode as {fmt.upper()}: {exc}") from exc
    write_atomic(target, data, overwrite)


def fit_alpha(alpha: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """An alpha channel (uint8 or uint16) brought to an output's H×W (bilinear), or unchanged
    when it fits."""
    if alpha is None or alpha.shape == tuple(shape):
        return alpha
    return np.asarray(Image.fromarray(alpha).resize((shape[1], shape[0]), Image.BILINEAR))


def _check_request(
    rgb: np.ndarray,
    alpha: np.ndarray | None,
    fmt: str,
    bit_depth: int | None,
    recipe: str | None,
) -> None:
    """The caller's mistakes, as ValueError, before any encoding."""
    if fmt not in _ENCODERS:
        raise ValueError(
            f"unsupported output format {fmt!r} (choose from {', '.join(SUPPORTED_OUTPUT_FORMATS)})"
        )
    if rgb.dtype not in (np.uint8, np.uint16) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(
            f"expected an H×W×3 uint8 or uint16 array, got {rgb.dtype} with shape {rgb.shape}"
        )
    if alpha is not None and (
        alpha.dtype not in (np.uint8, np.uint16) or alpha.shape != rgb.shape[:2]
    ):
        raise ValueError(
            f"expected an H×W uint8 or uint16 alpha of shape {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}"
        )
    if bit_depth not in (None, 8, 16):
        raise ValueError(f"bit depth {bit_depth} is not 8 or 16 (--bit-depth)")
    if bit_depth == 16 and fmt not in DEEP_BITS:
        raise ValueError(
            f"{fmt.upper()} holds 8 bits per channel only: --bit-depth 16 needs "
            f"{', '.join(DEEP_BITS)}"
        )
    if recipe is not None:
        check_recipe(recipe)


def _encode_with_pillow(
    rgb: np.ndarray, alpha: np.ndarray | None, quality: int, carried: OutputMetadata, fmt: str
) -> bytes:
    """JPEG and WebP, 8 bits only, whose Pillow encoders embed all three kinds of metadata."""
    image = Image.fromarray(rgb if alpha is None else np.dstack((rgb, alpha)))
    options: dict[str, object] = {"quality": quality}
    if fmt == "jpg":
        options["subsampling"] = "4:2:0"
    if carried.icc_profile:
        options["icc_profile"] = carried.icc_profile
    exif, xmp = carried.exif_bytes, carried.xmp
    if fmt == "jpg":  # each goes into one APP1 segment, which holds 64 KiB at most
        exif = exif if exif and len(exif) <= _JPEG_EXIF_BYTES else None
        xmp = xmp if xmp and len(xmp) <= _JPEG_XMP_BYTES else None
    if exif:
        options["exif"] = exif
    if xmp:
        options["xmp"] = xmp
    buffer = io.BytesIO()
    image.save(buffer, format=_PIL_FORMATS[fmt], **options)
    return buffer.getvalue()


def _encode_png(
    rgb: np.ndarray, alpha: np.ndarray | None, quality: int, carried: OutputMetadata
) -> bytes:
    """8 bits through Pillow, 16 through OpenCV (Pillow has no 16-bit RGB); `quality` does
    not apply (PNG is lossless)."""
    if rgb.dtype == np.uint16:
        ok, encoded = cv2.imencode(
            ".png", _bgr(rgb, alpha), [cv2.IMWRITE_PNG_COMPRESSION, DEFLATE_LEVEL]
        )
        if not ok:
            raise ValueError("OpenCV could not encode the pixels")
        pixels = encoded.tobytes()
    else:
        buffer = io.BytesIO()
        Image.fromarray(rgb if alpha is None else np.dstack((rgb, alpha))).save(buffer, "PNG")
        pixels = buffer.getvalue()
    return png.with_metadata(
        pixels, icc_profile=carried.icc_profile, exif=carried.exif_bytes, xmp=carried.xmp
    )


def _encode_tiff(
    rgb: np.ndarray, alpha: np.ndarray | None, quality: int, carried: OutputMetadata
) -> bytes:
    """Lossless (Deflate), so `quality` does not apply."""
    pixels = rgb if alpha is None else np.dstack((rgb, alpha))
    return encode_tiff(pixels, exif=carried.exif, icc_profile=carried.icc_profile, xmp=carried.xmp)


def _encode_avif(
    rgb: np.ndarray, alpha: np.ndarray | None, quality: int, carried: OutputMetadata
) -> bytes:
    """Through OpenCV's libavif, the encoder here that writes 10 bits as well as 8."""
    bits = DEEP_BITS["avif"] if rgb.dtype == np.uint16 else 8
    pixels = _bgr(rgb, alpha)
    if bits > 8:
        pixels = to_codes(pixels, bits)
    kinds, chunks = [], []
    for kind, chunk in (
        (cv2.IMAGE_METADATA_EXIF, (carried.exif_bytes or b"").removeprefix(b"Exif\x00\x00")),
        (cv2.IMAGE_METADATA_XMP, carried.xmp),
        (cv2.IMAGE_METADATA_ICCP, carried.icc_profile),
    ):
        if chunk:
            kinds.append(kind)
            chunks.append(np.frombuffer(chunk, np.uint8))
    params = [
        cv2.IMWRITE_AVIF_DEPTH, bits, cv2.IMWRITE_AVIF_QUALITY, quality,
        cv2.IMWRITE_AVIF_SPEED, _AVIF_SPEED,
    ]  # fmt: skip
    ok, encoded = cv2.imencodeWithMetadata(".avif", pixels, kinds, chunks, params)
    if not ok:
        raise ValueError("OpenCV could not encode the pixels")
    return encoded.tobytes()


def _bgr(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """OpenCV's channel order: BGR, or BGRA."""
    channels = [rgb[:, :, 2], rgb[:, :, 1], rgb[:, :, 0]] + ([] if alpha is None else [alpha])
    return np.ascontiguousarray(np.dstack(channels))


_ENCODERS: dict[str, Callable[[np.ndarray, np.ndarray | None, int, OutputMetadata], bytes]] = {
    "jpg": functools.partial(_encode_with_pillow, fmt="jpg"),
    "webp": functools.partial(_encode_with_pillow, fmt="webp"),
    "png": _encode_png,
    "tiff": _encode_tiff,
    "avif": _encode_avif,
    "heic": encode_heic,
}


def write_atomic(target: Path, data: bytes, overwrite: bool) -> None:
    """Bytes under a temporary name in the target's folder, published when complete (never
    over a file that appeared meanwhile unless `overwrite`): the one way files are written."""
    temp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        name = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        # Unlike mkstemp's private 0600 files, 0o666 lets the umask give the usual permissions.
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        temp = name
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        publish(temp, target, overwrite, ImageExistsError)
        temp = None
    except OutputExistsError:
        raise
    except OSError as exc:
        raise ImageError(target, f"cannot write: {describe(exc)}") from exc
    finally:  # also runs on KeyboardInterrupt
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)
