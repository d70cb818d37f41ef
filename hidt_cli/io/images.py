"""Read any still image as upright 8-bit RGB, and write results without ever leaving half a file."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, ImageOps

from hidt_cli.io import errors
from hidt_cli.io.errors import PathError
from hidt_cli.io.publish import publish

DEFAULT_MAX_PIXELS = 200_000_000
SUPPORTED_OUTPUT_FORMATS = ("jpg", "png", "webp")

_SUFFIX_FORMATS = {".jpg": "jpg", ".jpeg": "jpg", ".png": "png", ".webp": "webp"}
_PIL_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}
_ANIMATED_FORMATS = {"GIF", "PNG", "WEBP"}
# Pillow's conversion to 8 bits clips these at 255, so they are rescaled here instead.
_WIDE_GRAY_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_CONTAINER_BRANDS = {b"mif1", b"msf1"}  # shared with AVIF, which Pillow can read
_AVIF_BRANDS = {b"avif", b"avis"}

# Pillow's decompression-bomb guard reads the module-global Image.MAX_IMAGE_PIXELS, with a
# default unrelated to --max-pixels. Opening a file (which reads only its header) switches it
# off for that moment and our own limit is applied to the header's size instead; the lock
# keeps concurrent opens from seeing each other's values. Decoding runs outside the lock.
# The warnings filters are process-wide too: Pillow's warnings about damaged metadata, which
# it gives while opening and reading EXIF, are recorded under the lock and become notes.
_PIL_LOCK = threading.Lock()


class ImageError(PathError):
    """An image that cannot be read or written."""


class OutputExistsError(ImageError, errors.OutputExistsError):
    """The output is already there and overwriting was not asked for."""


@dataclass
class LoadedImage:
    """An upright 8-bit RGB picture, its alpha if any, and what writing it back faithfully needs."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    icc_profile: bytes | None
    notes: list[str] = field(default_factory=list)
    path: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), the order Pillow and OpenCV use."""
        return self.rgb.shape[1], self.rgb.shape[0]


def read_image(
    source: str | os.PathLike[str] | bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> LoadedImage:
    """Decode a file (or stdin's bytes) fully, so that every failure surfaces here as ImageError."""
    if isinstance(source, bytes):
        label = name or "<stdin>"
        stream: BinaryIO = io.BytesIO(source)
    else:
        label = name or os.fspath(source)
        stream = _open_file(source, label)
    with stream:
        head = stream.read(64)
        if not head:
            raise ImageError(label, "empty file")
        if _is_heif(head):
            raise ImageError(
                label, "HEIC/HEIF images are not supported; convert to JPEG or PNG first"
            )
        stream.seek(0)
        return _decode(stream, label, max_pixels)


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The output format named by a file's suffix, so users pick it with the file name."""
    suffix = Path(path).suffix
    try:
        return _SUFFIX_FORMATS[suffix.lower()]
    except KeyError:
        what = (
            f"'{suffix}' is not a supported output format"
            if suffix
            else "no file extension to pick a format from"
        )
        raise ValueError(f"{os.fspath(path)}: {what} (use .jpg, .png or .webp)") from None


def encode_image(
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    fmt: str = "png",
    quality: int = 95,
    icc_profile: bytes | None = None,
) -> bytes:
    """Encode in memory, so that a file is only created once the whole encoding succeeded."""
    _check_request(rgb, alpha, fmt)
    if alpha is None or fmt == "jpg":  # JPEG has no alpha channel, so it is dropped
        image = Image.fromarray(rgb)
    else:
        image = Image.fromarray(np.dstack((rgb, alpha)))
    options: dict[str, object] = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if fmt == "jpg":
        options.update(quality=quality, subsampling="4:2:0")
    elif fmt == "webp":
        options["quality"] = quality
    buffer = io.BytesIO()
    image.save(buffer, format=_PIL_FORMATS[fmt], **options)
    return buffer.getvalue()


def write_image(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    fmt: str | None = None,
    quality: int = 95,
    icc_profile: bytes | None = None,
    overwrite: bool = False,
) -> None:
    """Write a temporary file and rename it, so the final name never holds a partial image."""
    target = Path(path)
    fmt = fmt or format_for_path(target)
    if not overwrite and os.path.lexists(target):
        raise OutputExistsError(target, "exists (use --overwrite)")
    _check_request(rgb, alpha, fmt)  # so any ValueError left below comes from the encoder
    try:
        data = encode_image(rgb, alpha, fmt=fmt, quality=quality, icc_profile=icc_profile)
    except (OSError, ValueError) as exc:  # encoder limits, e.g. WebP's 16383 pixels
        raise ImageError(target, f"cannot encode as {fmt.upper()}: {exc}") from exc
    _write_atomic(target, data, overwrite)


def _open_file(path: str | os.PathLike[str], label: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "is a directory"
    except PermissionError:  # Windows reports directories this way too
        reason = "is a directory" if os.path.isdir(path) else "permission denied"
    except OSError as exc:
        reason = f"cannot read: {_describe(exc)}"
    raise ImageError(label, reason)


def _is_heif(head: bytes) -> bool:
    """HEIC files would otherwise be reported as unrecognised, which hides the easy fix."""
    if head[4:8] != b"ftyp":
        return False
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    # Major brand, minor version, then compatible brands.
    brands = {head[i : i + 4] for i in range(8, box_end - 3, 4)}
    return bool(brands & _HEIF_BRANDS) or (
        bool(brands & _HEIF_CONTAINER_BRANDS) and not brands & _AVIF_BRANDS
    )


def _decode(stream: BinaryIO, label: str, max_pixels: int) -> LoadedImage:
    try:
        image, notes = _load(stream, label, max_pixels)
        icc = image.info.get("icc_profile") or None
        image = _upright(image, notes)
        image, icc = _keep_rgb_profile(image, icc, notes)
        rgb, alpha = _to_arrays(image)
    except ImageError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageError(label, "not an image file (unrecognised format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            label, f"image data is over the pixel limit of {max_pixels} (use --max-pixels)"
        ) from None
    except MemoryError:
        raise ImageError(label, "not enough memory to decode the image") from None
    # Pillow's decoders raise OSError, SyntaxError, EOFError, struct.error and more on bad data.
    except Exception as exc:
        raise ImageError(label, "truncated or corrupt image data") from exc
    return LoadedImage(rgb=rgb, alpha=alpha, icc_profile=icc, notes=notes, path=label)


def _load(stream: BinaryIO, label: str, max_pixels: int) -> tuple[Image.Image, list[str]]:
    """Decode the first frame fully, checking the pixel count before any pixel data is read."""
    with _PIL_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        saved_limit = Image.MAX_IMAGE_PIXELS
        try:
            # Opening reads only the header; its size is checked against our own limit below.
            Image.MAX_IMAGE_PIXELS = None
            image = Image.open(stream)
        finally:
            Image.MAX_IMAGE_PIXELS = saved_limit
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            label, f"{width * height} pixels is over the limit of {max_pixels} (use --max-pixels)"
        )
    notes = _warning_notes(caught)
    frames = getattr(image, "n_frames", 1)
    # MPO's extra frames are camera previews, not content.
    if frames > 1 and image.format != "MPO":
        kind = "animated" if image.format in _ANIMATED_FORMATS else "multi-page"
        notes.append(f"{kind} image: used the first of {frames} frames")
    image.load()  # outside the lock: decoding runs in parallel on the read-ahead threads
    return image, notes


def _upright(image: Image.Image, notes: list[str]) -> Image.Image:
    with _PIL_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            upright = ImageOps.exif_transpose(image)
        except Exception:  # malformed EXIF should not cost the picture itself
            notes.append("could not read the EXIF orientation; used the image as stored")
            upright = image
    notes.extend(_warning_notes(caught))
    return upright


def _warning_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    """Pillow's warnings (e.g. corrupt EXIF data) as one note each, instead of stray stderr."""
    messages = dict.fromkeys(" ".join(str(w.message).split()) for w in caught)
    return [f"damaged metadata: {message}" for message in messages]


def _keep_rgb_profile(
    image: Image.Image, icc: bytes | None, notes: list[str]
) -> tuple[Image.Image, bytes | None]:
    """Only RGB profiles describe the RGB pixels returned; a CMYK one is used converting to sRGB."""
    if icc is None or icc[16:20] == b"RGB ":
        return image, icc
    space = icc[16:20]
    if image.mode == "CMYK" and space == b"CMYK":
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            converted = ImageCms.buildTransform(source, srgb, "CMYK", "RGB").apply(image)
            notes.append("converted CMYK to sRGB with the embedded colour profile")
            return converted, None
        except ImageCms.PyCMSError:
            pass  # an unusable profile: fall back to Pillow's plain conversion
    notes.append(f"dropped the embedded {space.decode('latin-1').strip()} colour profile")
    return image, None


def _to_arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    if image.mode in _WIDE_GRAY_MODES:
        # 0..65535 maps onto 0..255 with rounding; Pillow also uses "I" for 16-bit data,
        # so it is clipped to that range.
        wide = np.clip(np.asarray(image), 0, 65535).astype(np.uint32)
        return _gray_to_rgb(((wide + 128) // 257).astype(np.uint8)), None
    if image.mode == "F":  # Pillow's 0..255 scale, but rounded where Pillow truncates
        return _gray_to_rgb(np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8)), None
    if image.has_transparency_data:
        pixels = np.asarray(image.convert("RGBA"))
        return np.ascontiguousarray(pixels[:, :, :3]), np.ascontiguousarray(pixels[:, :, 3])
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))), None


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def _check_request(rgb: np.ndarray, alpha: np.ndarray | None, fmt: str) -> None:
    if fmt not in _PIL_FORMATS:
        raise ValueError(
            f"unsupported output format {fmt!r} (choose from {', '.join(SUPPORTED_OUTPUT_FORMATS)})"
        )
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 uint8 array, got {rgb.dtype} with shape {rgb.shape}")
    if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]):
        raise ValueError(
            f"expected an H×W uint8 alpha of shape {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}"
        )


def _write_atomic(target: Path, data: bytes, overwrite: bool) -> None:
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
        publish(temp, target, overwrite, OutputExistsError)
        temp = None
    except OutputExistsError:
        raise
    except OSError as exc:
        raise ImageError(target, f"cannot write: {_describe(exc)}") from exc
    finally:  # also runs on KeyboardInterrupt
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _describe(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return reason[:1].lower() + reason[1:]


def fit_alpha(alpha: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """An alpha channel brought to an output's H×W (bilinear), or unchanged when it fits."""
    if alpha is None or alpha.shape == tuple(shape):
        return alpha
    return np.asarray(Image.fromarray(alpha).resize((shape[1], shape[0]), Image.BILINEAR))
