"""The render core: every command, the video path, the timelapse and the web page go through
it, in the order the data flows:

1. prepare — what the networks see of the photos: a small copy (shorter side
   `inference_size`) or, with `hires`, the 16 shifted crops; their content codes are encoded
   once (`encode` → `Encoded`), so a photo renders in any number of styles without being
   encoded again;
2. networks — the decoder in each style code (and G_enh merging the 16 crops);
3. detail stage — the translation's light carried onto the photo itself at its own
   resolution and depth (detail.py), or a bicubic enlargement (`plain_resize`);
4. output — H×W×3 arrays at the photo's size and depth (uint8, or uint16 for 16-bit
   photos), or at the networks' size (`native_size`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from hidt_cli import detail
from hidt_cli import hires as scheme
from hidt_cli.models import Content
from hidt_cli.networks import Networks
from hidt_cli.ranges import from_pm1, to_8bit, to_depth, to_pm1


@dataclass(frozen=True)
class RenderSpec:
    """How a translation reaches its output size: every command renders through this."""

    hires: bool = False
    """The paper's 16-crop scheme with G_enh (4× the inference size) before the output."""
    inference_size: int = 256
    """Shorter side of the copy the networks translate."""
    native_size: bool = False
    """Keep the networks' processing size instead of the photo's."""
    plain_resize: bool = False
    """Enlarge the translation with a bicubic resize instead of the detail-transfer stage
    (soft: the networks' resolution, not the photo's)."""
    detail: detail.DetailConfig = detail.DetailConfig()


@dataclass
class Encoded:
    """Photos prepared and through the content encoder: what rendering them in new styles
    needs, kept so that only the decoder (and the detail stage) runs again."""

    photos: torch.Tensor
    """B×3×H×W as given (uint8, or uint16 for 16-bit photos): where results are applied."""
    spec: RenderSpec
    inputs_pm1: torch.Tensor
    """What the networks saw: B small copies, or 16·B shifted crops, in [−1, 1]."""
    content: Content
    _guides: dict[tuple[int, int], tuple[torch.Tensor, detail.GuideStatistics]] = field(
        default_factory=dict, repr=False
    )

    @property
    def count(self) -> int:
        return len(self.photos)

    def guide_255(self, shape: tuple[int, int]) -> torch.Tensor:
        """The photos at a translation's size, as the detail stage fits them: exactly what
        the networks saw, or (for G_enh's 4× output) the photos resized to it."""
        return self._guide(shape, None)[0]

    def guide_statistics(self, stage: detail.DetailStage, shape: tuple[int, int]):
        """The detail fit's photo-only statistics at that size, computed once."""
        return self._guide(shape, stage)[1]

    def _guide(self, shape: tuple[int, int], stage: detail.DetailStage | None):
        shape = tuple(shape)
        if shape not in self._guides or (stage is not None and self._guides[shape][1] is None):
            if self.spec.hires:
                device = self.inputs_pm1.device
                guide = scheme.resize_255(to_8bit(self.photos).to(device), shape, "bicubic")
            else:
                guide = from_pm1(self.inputs_pm1)
            self._guides[shape] = (guide, stage.guide(guide) if stage is not None else None)
        return self._guides[shape]


class Renderer:
    """The render core over one set of networks (see the module docstring for its stages)."""

    def __init__(self, networks: Networks) -> None:
        self.networks = networks

    # 1. prepare -------------------------------------------------------------------------

    @torch.inference_mode()
    def encode(self, photos: torch.Tensor, spec: RenderSpec | None = None) -> Encoded:
        """B×3×H×W photos (uint8 or uint16; float in [0, 255] is taken too) → their content
        codes and what the detail stage needs, for any number of `render_encoded` calls."""
        spec = spec or RenderSpec()
        check_inference_size(spec.inference_size)
        inputs = self.network_inputs(photos, spec)
        return Encoded(photos, spec, inputs, self.networks.encode_content(inputs))

    def network_inputs(self, photos: torch.Tensor, spec: RenderSpec) -> torch.Tensor:
        """What the networks see of the photos: the 16 shifted crops, or the small copy."""
        eight = to_8bit(photos).to(self.networks.device)
        size = spec.inference_size
        if spec.hires:
            return scheme.shifted_crops(scheme.hires_canvas(eight.float(), size), size)
        return network_input(eight, size)

    # 2. networks ------------------------------------------------------------------------

    @torch.inference_mode()
    def translations(
        self, encoded: Encoded, codes: torch.Tensor, max_batch: int = 8
    ) -> Iterator[tuple[slice, torch.Tensor]]:
        """(photos, translations) for each chunk of at most max_batch styles: K codes for B
        photos (K = B, or B = 1 and any K) → which photos (rows of `encoded.photos`) and
        their translations in [−1, 1] at the networks' size (4× with hires)."""
        b, k = encoded.count, len(codes)
        if b != k and b != 1:
            raise ValueError(f"{b} images need 1 or {b} styles, got {k}")
        hires = encoded.spec.hires
        per_style = scheme.SHIFTS**2 if hires else 1
        step = max(1, max_batch)
        for start in range(0, k, step):
            chunk = codes[start : start + step].to(self.networks.device, torch.float32)
            rows = slice(0, 1) if b == 1 else slice(start, start + len(chunk))
            part = encoded.content
            if b > 1:
                part = part.slice(start * per_style, len(chunk) * per_style)
            if hires:
                if b == 1 and len(chunk) > 1:
                    part = part.tile(len(chunk))
                chunk = chunk.repeat_interleave(per_style, 0)
            out = self.networks.decode(part, chunk)
            yield rows, self.networks.enhance(scheme.merge_input(out)) if hires else out

    # 3. detail stage --------------------------------------------------------------------

    def detail_stage(self, encoded: Encoded, translated_shape: tuple[int, int]):
        """The detail stage for translations of this size: settings scaled by how much finer
        they are than what the networks saw, at the device's per-pixel precision."""
        seen = network_shape(encoded.photos, encoded.spec.inference_size)
        finer = min(translated_shape) / min(seen)
        return detail.DetailStage.for_translation(
            encoded.spec.detail, finer, self.networks.detail_dtype
        )

    # 4. output --------------------------------------------------------------------------

    @torch.inference_mode()
    def finish(
        self,
        encoded: Encoded,
        rows: slice,
        translated_pm1: torch.Tensor,
        onto: torch.Tensor | None = None,
    ) -> np.ndarray:
        """Translations of photos `rows` → K×H×W×3 results at the photos' size and depth (or
        onto `onto`, e.g. a preview-sized copy of the one photo; or at the networks' size)."""
        target = encoded.photos[rows] if onto is None else onto
        depth = torch.uint16 if target.dtype == torch.uint16 else torch.uint8
        spec = encoded.spec
        if spec.native_size:
            return to_depth(translated_pm1, depth)
        if spec.plain_resize:
            return to_depth(resize_pm1(translated_pm1, tuple(target.shape[-2:])), depth)
        shape = tuple(translated_pm1.shape[-2:])
        stage = self.detail_stage(encoded, shape)
        guide = encoded.guide_statistics(stage, shape).rows(rows)
        fields = stage.fit(guide, translated_pm1)
        numpy_dtype = np.uint16 if depth == torch.uint16 else np.uint8
        result = np.empty((len(fields), *target.shape[-2:], 3), dtype=numpy_dtype)
        stage.apply(fields, target, torch.from_numpy(result))
        return result

    # the whole path ---------------------------------------------------------------------

    def render_encoded(
        self,
        encoded: Encoded,
        codes: torch.Tensor,
        onto: torch.Tensor | None = None,
        max_batch: int = 8,
    ) -> Iterator[np.ndarray]:
        """Encoded photos in K styles → K×H×W×3 results, `max_batch` styles at a time."""
        for rows, translated in self.translations(encoded, codes, max_batch):
            yield self.finish(encoded, rows, translated, onto)

    def render(
        self,
        photos: torch.Tensor,
        codes: torch.Tensor,
        spec: RenderSpec | None = None,
        max_batch: int = 8,
    ) -> Iterator[np.ndarray]:
        """Prepare, networks, detail stage, output: B×3×H×W photos with K styles (K = B, or
        B = 1 and any K) → K×H×W×3 results, yielded `max_batch` styles at a time."""
        yield from self.render_encoded(self.encode(photos, spec), codes, max_batch=max_batch)


def batch_size(
    device: torch.device, *, hires: bool = False, styles: int | None = None, workers: int = 1
) -> int:
    """How many items go through the networks at once — the one batch policy. Photos or
    frames (styles None): 8 on an accelerator; on a CPU one, since its network calls run one
    crop at a time anyway (cache-sized, devices.WorkLimits) and every item in flight holds a
    photo's memory. Styles of one photo: 8 on an accelerator; on a CPU up to 4 per worker (a
    4K timelapse frame 0.31 s in batches of 4, 0.35 s in 2), fewer when that would leave a
    worker idle, and 1 with hires (each is already a batch of 16 crops)."""
    if device.type != "cpu":
        return 8
    if styles is None:
        return 1
    return max(1, min(1 if hires else 4, math.ceil(styles / max(1, workers))))


def network_shape(images: torch.Tensor, inference_size: int) -> tuple[int, int]:
    """(h, w) of what the networks see of these photos."""
    return scheme.inference_shape(*images.shape[-2:], inference_size)


def network_input(images_255: torch.Tensor, inference_size: int) -> torch.Tensor:
    """Photos in [0, 255] (uint8 or float) → what the networks see: shorter side
    `inference_size`, sides multiples of 16 (bicubic, antialiased, 8-bit levels), in [−1, 1]."""
    shape = network_shape(images_255, inference_size)
    if images_255.device.type == "cpu" and images_255.is_floating_point():
        # the same 8-bit kernel whatever the caller's dtype, so a photo gives one result
        images_255 = images_255.round().clamp_(0, 255).to(torch.uint8)
    return to_pm1(scheme.resize_255(images_255, shape, "bicubic"))


def resize_pm1(images_pm1: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Bicubic, antialiased resize of images in [−1, 1] to an output shape (no-op if equal)."""
    if tuple(images_pm1.shape[-2:]) == tuple(shape):
        return images_pm1
    return to_pm1(scheme.resize_255(from_pm1(images_pm1), shape, "bicubic"))


def check_inference_size(size: int) -> None:
    if size < 32 or size % 16:
        raise ValueError(f"inference size {size} must be a multiple of 16, at least 32")
