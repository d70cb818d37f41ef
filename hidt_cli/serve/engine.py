"""The one place where the server calls the model: photos in, rendered bytes out.

Every result goes through the CLI's render core and writer (the same RenderSpec and inference
size; alpha, metadata and 16-bit depth kept by io/output), so an export from the page is
`hidt translate` of the same photo and settings. A photo is encoded once (render.Encoded):
a style change only decodes and runs the detail stage, onto the preview copy. Renders hold
one lock: on a CPU one render already keeps every core busy, and eight at once would each be
eight times slower and hold eight times the memory. What a photo costs to prepare (decoding,
its copies, its content code, its own style code) is done once and kept in a byte-bounded LRU.
"""

from __future__ import annotations

import math
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hidt_cli.hires import resize_255
from hidt_cli.io import depth
from hidt_cli.io.images import ImageError, LoadedImage, encode_image, format_for_path
from hidt_cli.io.output import OutputSettings, encode_result, source_pixels
from hidt_cli.io.video import write_frames
from hidt_cli.lut import cube_text, fit_lut
from hidt_cli.model import HiDT
from hidt_cli.ranges import photo_tensor, to_8bit
from hidt_cli.render import Encoded, RenderSpec
from hidt_cli.serve.settings import PREVIEW_PIXELS, THUMBNAIL_SIDE, ServeSettings
from hidt_cli.serve.store import LruCache, PhotoStore, Source
from hidt_cli.styles import StyleError, interpolate_codes, sample_prior
from hidt_cli.timelapse import keyframe_codes

PREVIEW_QUALITY = 85
VIEW_QUALITY = 92
"""JPEG quality of what the page only shows (previews, the 100 % view); exports use 95 as the CLI."""
EXPORT_QUALITY = 95
TIMELAPSE_SIDE = 640
"""Longer side of a timelapse preview's frames: small, so it renders in seconds."""
STYLES_PER_RENDER = 8

Advance = Callable[[int], None]
"""Told of every n items done; raises to stop the work (a cancelled job)."""


@dataclass
class Prepared:
    """A decoded photo and the copies the page works on, made once per photo."""

    source: Source
    loaded: LoadedImage
    photo: torch.Tensor
    """1×3×H×W on the device at the photo's depth (uint16 for 16-bit photos): what exports
    render onto."""
    preview_255: torch.Tensor
    """At most PREVIEW_PIXELS, 8-bit: what a style change re-renders onto."""
    thumb_255: torch.Tensor
    """Longer side at most THUMBNAIL_SIDE: the gallery's and the photo list's copy."""
    encoded: Encoded | None = None
    """The photo's content code, for every render of it (made when first needed)."""
    own_code: torch.Tensor | None = None
    """1×style_dim: the photo's own style, where strength 0 starts (found when first asked:
    a photo list's thumbnails need none)."""

    @property
    def nbytes(self) -> int:
        alpha = 0 if self.loaded.alpha is None else self.loaded.alpha.nbytes
        copies = self.preview_255.numel() + self.thumb_255.numel()
        deep = 0 if self.loaded.deep is None else self.loaded.deep.nbytes
        on_cpu = self.photo.device.type == "cpu"  # then the loaded pixels are a view of photo
        return (self.loaded.rgb.nbytes + deep) * (1 if on_cpu else 2) + alpha + copies

    @property
    def output_format(self) -> str:
        """The format an export takes unless asked otherwise."""
        return default_format(self.source.name)

    def describe(self) -> dict:
        """What the API tells about the photo (its own code found)."""
        width, height = self.loaded.size
        return {
            "id": self.source.id,
            "name": self.source.name,
            "origin": self.source.origin,
            "width": width,
            "height": height,
            "has_alpha": self.loaded.alpha is not None,
            "format": self.output_format,
            "own_code": _numbers(self.own_code),
            "notes": list(self.loaded.notes),
        }


class Engine:
    """Renders photos of the store for the routes; thread-safe."""

    def __init__(self, model: HiDT, settings: ServeSettings, stash: Path) -> None:
        self.model = model
        self.spec = RenderSpec(inference_size=settings.inference_size)
        self.styles = model.styles(settings.inference_size)
        self.store = PhotoStore(stash, settings.stash_bytes, settings.max_pixels)
        self.cache = LruCache(settings.cache_bytes)
        self._render_lock = threading.Lock()

    # ------------------------------------------------------------ photos

    def add_upload(self, data: bytes, filename: str | None) -> dict:
        source, loaded = self.store.add_upload(data, filename)
        return self._with_own_code(self._prepared(source.id, loaded)).describe()

    def describe(self, photo_id: str) -> dict:
        return self._with_own_code(self._prepared(photo_id)).describe()

    def original(self, photo_id: str, size: str) -> bytes:
        """The photo itself as a JPEG: "thumb", "preview" (the copy previews are rendered
        on) or "full" (for the 100 % view)."""
        key = ("original", photo_id, size)
        data = self.cache.get(key)
        if data is None:
            photo = self._prepared(photo_id)
            copy = {"thumb": photo.thumb_255, "preview": photo.preview_255}.get(size)
            rgb = photo.loaded.rgb if copy is None else _to_rgb(copy)
            data = encode_image(rgb, fmt="jpg", quality=VIEW_QUALITY)
            self.cache.put(key, data, len(data))
        return data

    # ------------------------------------------------------------ styles

    def presets(self) -> dict[str, list[float]]:
        return {name: [float(v) for v in code] for name, code in self.model.presets.items()}

    def style_of(self, loaded: LoadedImage) -> torch.Tensor:
        """A reference photo's style code (what `--style IMAGE` applies)."""
        with self._render_lock:
            return self.styles.image(loaded.rgb)

    def random_codes(self, count: int, seed: int | None) -> torch.Tensor:
        """The codes of `--random count --seed seed`, in the same order."""
        return sample_prior(count, seed, self.model.style_dim)

    def target(self, photo_id: str, code: torch.Tensor, strength: float) -> torch.Tensor:
        """The code applied at a strength: 0 is the photo's own style, 1 the code itself."""
        if not (math.isfinite(strength) and 0 <= strength <= 1):
            raise StyleError(f"strength {strength} must be between 0 and 1")
        own = self._with_own_code(self._prepared(photo_id)).own_code
        return torch.lerp(own, code.to(own), strength)  # exactly `code` at strength 1

    # ------------------------------------------------------------ renders

    def preview(self, photo_id: str, code: torch.Tensor) -> bytes:
        """The preview copy in one style code, as a JPEG."""
        photo = self._prepared(photo_id)
        rgb = self._rendered(photo, code, onto=photo.preview_255)[0]
        return encode_image(rgb, fmt="jpg", quality=PREVIEW_QUALITY)

    def gallery(self, photo_id: str) -> list[dict]:
        """The photo under every preset, as small JPEGs: its content decoded with all the
        presets' codes, onto the thumbnail copy."""
        key = ("gallery", photo_id)
        tiles = self.cache.get(key)
        if tiles is None:
            photo = self._prepared(photo_id)
            presets = self.presets()
            codes = torch.tensor(list(presets.values()), dtype=torch.float32)
            tiles = []
            if presets:
                results = self._rendered(photo, codes, onto=photo.thumb_255)
                for (name, code), rgb in zip(presets.items(), results, strict=True):
                    jpeg = encode_image(rgb, fmt="jpg", quality=PREVIEW_QUALITY)
                    tiles.append({"name": name, "code": code, "jpeg": jpeg})
            self.cache.put(key, tiles, sum(len(t["jpeg"]) for t in tiles))
        return tiles

    def full(self, photo_id: str, code: torch.Tensor) -> np.ndarray:
        """The photo at its own size and depth in one style code (H×W×3): what an export
        holds. The last renders are kept, so a 100 % view followed by its export renders
        once."""
        key = ("full", photo_id, tuple(code.flatten().tolist()))
        rgb = self.cache.get(key)
        if rgb is None:
            rgb = self._rendered(self._prepared(photo_id), code)[0]
            self.cache.put(key, rgb, rgb.nbytes)
        return rgb

    def view(self, photo_id: str, code: torch.Tensor) -> bytes:
        """The full-size result as a JPEG, for the 100 % view."""
        rgb = self.full(photo_id, code)
        rgb = rgb if rgb.dtype == np.uint8 else depth.to_8bit(rgb)
        return encode_image(rgb, fmt="jpg", quality=VIEW_QUALITY)

    def export(self, photo_id: str, code: torch.Tensor, fmt: str | None = None) -> bytes:
        """The full-size result encoded as the CLI writes it (alpha, metadata, depth kept)."""
        photo = self._prepared(photo_id)
        return _encoded(photo.loaded, self.full(photo_id, code), fmt or photo.output_format)

    def export_name(self, photo_id: str, label: str, fmt: str | None = None) -> str:
        """`<stem>_<label>.<ext>`, the name `hidt translate` gives the same result."""
        photo = self._prepared(photo_id)
        stem = Path(photo.source.name).stem or "photo"
        return f"{stem}_{label}.{fmt or photo.output_format}"

    def translate(self, loaded: LoadedImage, code: torch.Tensor, fmt: str) -> bytes:
        """A photo not kept by the server (`POST /api/translate`) in one style code."""
        with self._render_lock:
            pixels = photo_tensor(source_pixels(loaded), self.model.device)
            rgb = next(self.model.render(pixels, code, self.spec))[0]
        return _encoded(loaded, rgb, fmt)

    def export_all(
        self,
        photo_ids: list[str],
        code: torch.Tensor,
        strength: float,
        fmt: str | None,
        label: str,
        target: Path,
        advance: Advance,
    ) -> list[str]:
        """Every photo at full size (the code applied at `strength` to each photo's own
        style) into one ZIP file; returns one line for each photo that failed."""
        problems: list[str] = []
        names: set[str] = set()
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
            for photo_id in photo_ids:
                try:
                    name = _unique(self.export_name(photo_id, label, fmt), names)
                    data = self.export(photo_id, self.target(photo_id, code, strength), fmt)
                    archive.writestr(name, data)
                except (ImageError, KeyError) as exc:
                    problems.append(str(exc))
                advance(1)
        return problems

    def timelapse(
        self, photo_id: str, keyframes: str, frames: int, fps: float, target: Path, advance: Advance
    ) -> None:
        """An MP4 of the photo (shrunk to TIMELAPSE_SIDE) through the keyframes — preset
        names or codes joined by colons, as `hidt timelapse --presets` takes them."""
        codes = interpolate_codes(self.keyframe_codes(keyframes), frames)
        photo = self._prepared(photo_id)
        small = _shrunk(photo.preview_255, side=TIMELAPSE_SIDE)

        def batches() -> Iterator[np.ndarray]:
            for chunk in torch.split(codes, STYLES_PER_RENDER):
                rgb = self._rendered(photo, chunk, onto=small)
                advance(len(chunk))
                yield rgb

        write_frames(target, batches(), fps, overwrite=True)

    def keyframe_codes(self, keyframes: str) -> torch.Tensor:
        """Keyframes as `hidt timelapse --presets` takes them."""
        return keyframe_codes(self.model, keyframes)

    # ------------------------------------------------------------ the look as a LUT

    def lut(self, photo_id: str, code: torch.Tensor, size: int) -> str:
        """The look of this code on this photo as `.cube` text, a global 3D LUT fitted (as
        `hidt lut` does) on the preview copy and its translation."""
        photo = self._prepared(photo_id)
        translated = self._rendered(photo, code, onto=photo.preview_255)[0]
        return cube_text(fit_lut(_to_rgb(photo.preview_255), translated, size), title="hidt look")

    # ------------------------------------------------------------ internals

    def _prepared(self, photo_id: str, loaded: LoadedImage | None = None) -> Prepared:
        source = self.store.source(photo_id)  # UnknownPhoto, also for a dropped upload
        key = ("photo", photo_id)
        photo = self.cache.get(key)
        if photo is None:
            loaded = loaded or self.store.read(photo_id)
            pixels = photo_tensor(source_pixels(loaded), self.model.device)
            if pixels.device.type == "cpu":  # photo_tensor copied the read-only array:
                view = _to_rgb(pixels)  # keep one copy, viewed both ways
                if loaded.deep is not None:
                    loaded.deep = view
                else:
                    loaded.rgb = view
            eight = to_8bit(pixels)
            photo = Prepared(
                source,
                loaded,
                pixels,
                _shrunk(eight, pixels=PREVIEW_PIXELS),
                _shrunk(eight, side=THUMBNAIL_SIDE),
            )
            self.cache.put(key, photo, photo.nbytes)
        return photo

    def _with_own_code(self, photo: Prepared) -> Prepared:
        """The photo with its own style code: what `--style` of this photo would apply."""
        if photo.own_code is None:
            with self._render_lock:
                eight = to_8bit(photo.photo)
                own = self.model.styles_of_images(eight, self.spec.inference_size)
            photo.own_code = own.cpu()
        return photo

    def _rendered(
        self, photo: Prepared, codes: torch.Tensor, onto: torch.Tensor | None = None
    ) -> np.ndarray:
        """K×H×W×3: the photo in K codes through the CLI's render core, its content encoded
        once for all its renders; at its own size and depth, or onto a smaller copy."""
        with self._render_lock:
            if photo.encoded is None:
                photo.encoded = self.model.encode(photo.photo, self.spec)
            parts = self.model.render_encoded(photo.encoded, codes, onto, STYLES_PER_RENDER)
            return np.concatenate(list(parts))


def default_format(name: str) -> str:
    """The CLI's rule for an output's format: the input's own where it is writable, else PNG."""
    try:
        return format_for_path(name)
    except ValueError:
        return "png"


def _encoded(loaded: LoadedImage, rgb: np.ndarray, fmt: str) -> bytes:
    """A result as the CLI's writer encodes it (alpha, metadata and depth of the photo)."""
    try:
        return encode_result(rgb, loaded, OutputSettings(quality=EXPORT_QUALITY), fmt)
    except (OSError, ValueError) as exc:  # encoder limits, e.g. WebP's 16383 pixels
        raise ImageError(loaded.path, f"cannot encode as {fmt.upper()}: {exc}") from exc


def _shrunk(photo_255: torch.Tensor, *, pixels: int | None = None, side: int | None = None):
    """A smaller uint8 copy (antialiased bicubic) within `pixels` or a longer `side`; the
    photo itself when it is already within."""
    h, w = photo_255.shape[-2:]
    scale = min(
        1.0,
        math.sqrt(pixels / (h * w)) if pixels else 1.0,
        side / max(h, w) if side else 1.0,
    )
    if scale >= 1:
        return photo_255
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    return resize_255(photo_255, shape, "bicubic").to(torch.uint8)  # already rounded levels


def _to_rgb(photo_255: torch.Tensor) -> np.ndarray:
    return photo_255[0].permute(1, 2, 0).contiguous().cpu().numpy()


def _numbers(code: torch.Tensor) -> list[float]:
    """A code for JSON, unrounded: sent back, it parses to the same float32 code."""
    return [float(v) for v in code.flatten()]


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}{dot}{ext}"
    taken.add(candidate)
    return candidate
