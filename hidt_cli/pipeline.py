"""HiDT: the translation pipeline that composes the networks with pre- and post-processing.

Images enter as 8-bit RGB (PIL images or H×W×3 uint8 arrays), become B×3×H×W tensors in
[0, 255] on the device, are shrunk there to what the networks see, and leave as 8-bit again
at the photo's size through the detail-transfer stage (`render`). Network inputs and outputs
are in [−1, 1] (`*_pm1`). The networks run under bf16 autocast where it is native (CUDA,
CPUs with AMX or AVX512-BF16; see devices.py), in float32 elsewhere. Each network call is kept within
`WorkLimits`: batches are split and G_enh runs on tiles when an input is larger, and a CUDA
out-of-memory error halves the limits and retries instead of failing.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
from PIL import Image

from hidt_cli import detail
from hidt_cli import hires as scheme
from hidt_cli.devices import MIN_ENHANCER_TILE, WorkLimits, default_limits, native_bf16, pick_device
from hidt_cli.io.images import fit_alpha, read_image
from hidt_cli.models import Content, Enhancer, Generator
from hidt_cli.styles import StyleLike, StyleResolver
from hidt_cli.weights import LoadedWeights, resolve
from hidt_cli.weights import load as load_weights

T = TypeVar("T")


def photo_tensor(image: Image.Image | np.ndarray, device: torch.device) -> torch.Tensor:
    """PIL image or H×W×3 uint8 array → 1×3×H×W uint8 on device (on the CPU a view of the
    array, no copy): how the render path takes photos, 4× smaller than float."""
    array = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 image, got {array.dtype} {array.shape}")
    if not array.flags.writeable:  # PIL hands out read-only views; torch wants to own memory
        array = array.copy()
    tensor = torch.from_numpy(np.ascontiguousarray(array)).to(device, non_blocking=True)
    return tensor.permute(2, 0, 1)[None]


def to_tensor_255(image: Image.Image | np.ndarray, device: torch.device) -> torch.Tensor:
    """PIL image or H×W×3 uint8 array → 1×3×H×W float32 in [0, 255] on device."""
    return photo_tensor(image, device).float()


def to_uint8(images_pm1: torch.Tensor) -> np.ndarray:
    """B×3×H×W in [−1, 1] → B×H×W×3 uint8 on the CPU (one float temporary: at photo size
    these tensors are the largest of the whole run)."""
    out = images_pm1.float().add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)
    return out.permute(0, 2, 3, 1).cpu().numpy()


def _memory_format(channels_last: bool) -> torch.memory_format:
    return torch.channels_last if channels_last else torch.contiguous_format


@dataclass
class WeightsInfo:
    """Where the loaded networks came from (for `hidt info` and reports)."""

    generator: LoadedWeights
    enhancer: LoadedWeights | None


class HiDT:
    """A loaded HiDT model on one device. Build it with `hidt_cli.load()`."""

    def __init__(
        self,
        generator: Generator,
        enhancer: Enhancer | None = None,
        *,
        presets: dict[str, tuple[float, ...]] | None = None,
        device: str | torch.device = "auto",
        dtype: torch.dtype | None = None,
        channels_last: bool | None = None,
        info: WeightsInfo | None = None,
        limits: WorkLimits | None = None,
        compile_networks: bool = False,
    ) -> None:
        """dtype None = bf16 autocast where the hardware runs it natively (native_bf16),
        float32 elsewhere; channels_last None = what measured fastest (CUDA: both networks;
        CPU: G_enh only, as the generator's instance norms are slow in that layout there);
        limits None = from the device's memory;
        compile_networks: torch.compile the networks, for long GPU runs of equal-sized inputs
        (every new shape compiles again; on a 2-core CPU it measured slower, 204 vs 194 ms per
        image, after 47 s of compiling: benchmarks/RESULTS.md)."""
        self.device = pick_device(device)
        on_cuda = self.device.type == "cuda"
        self.dtype = dtype or (torch.bfloat16 if native_bf16(self.device) else torch.float32)
        self._generator_format = _memory_format(on_cuda if channels_last is None else channels_last)
        self._enhancer_format = _memory_format(
            on_cuda or self.device.type == "cpu" if channels_last is None else channels_last
        )
        self.generator = generator.eval().to(self.device, memory_format=self._generator_format)
        self.enhancer = (
            enhancer.eval().to(self.device, memory_format=self._enhancer_format)
            if enhancer
            else None
        )
        self.presets = dict(presets or {})
        self.info = info
        self.limits = limits or default_limits(self.device)
        self._networks = _Networks(self.generator, self.enhancer, compile_networks)

    @property
    def style_dim(self) -> int:
        return self.generator.config.style_dim

    def _autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _input(self, images_pm1: torch.Tensor, memory_format: torch.memory_format) -> torch.Tensor:
        x = images_pm1.to(self.device, torch.float32, non_blocking=True)
        return x.contiguous(memory_format=memory_format)

    # ------------------------------------------------------------ the networks

    @torch.inference_mode()
    def encode_style(self, images_pm1: torch.Tensor) -> torch.Tensor:
        """B×3×H×W in [−1, 1] → B×style_dim style codes (float32)."""
        with self._autocast():
            x = self._input(images_pm1, self._generator_format)
            return self.generator.encode_style(x).float()

    @torch.inference_mode()
    def encode_content(self, images_pm1: torch.Tensor) -> Content:
        """B×3×H×W in [−1, 1] (sides multiples of 4) → Content(content, skip_half, skip_full)."""

        def encode(start: int, stop: int) -> Content:
            with self._autocast():
                x = self._input(images_pm1[start:stop], self._generator_format)
                return self._networks.encode_content(x)

        pixels = images_pm1.shape[-2] * images_pm1.shape[-1]
        parts = self._in_pieces(encode, len(images_pm1), pixels, _generator_limit)
        return Content.cat(parts)

    def _decode(self, content: Content, styles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        styles = styles.to(self.device, torch.float32).reshape(len(styles), -1)
        if len(content.content) == 1 and len(styles) > 1:
            content = content.expand(len(styles))

        def decode(start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
            with self._autocast():
                images, segmentation = self._networks.decode(
                    content.slice(start, stop - start), styles[start:stop]
                )
            return images.float(), segmentation.float()

        pixels = content.skip_full.shape[-2] * content.skip_full.shape[-1]
        parts = self._in_pieces(decode, len(styles), pixels, _generator_limit)
        return _concat(parts)

    def _in_pieces(
        self,
        call: Callable[[int, int], T],
        batch: int,
        pixels_each: int,
        limit_of: Callable[[WorkLimits], int],
        may_tile: bool = False,
    ) -> list[T]:
        """Run call(start, stop) over the batch in pieces of at most limit_of(limits) pixels
        (one item at least). After a CUDA out-of-memory error the limits are halved and the
        piece is redone, as long as that makes it smaller (fewer items, or smaller tiles)."""
        results, start = [], 0
        while start < batch:
            limit = limit_of(self.limits)
            stop = min(batch, start + max(1, limit // pixels_each))
            try:
                results.append(call(start, stop))
            except torch.cuda.OutOfMemoryError:
                tiles_can_shrink = may_tile and limit > self.limits.smallest_enhancer_call
                if stop - start == 1 and not tiles_can_shrink:
                    raise
                self._shrink_limits()
                continue
            start = stop
        return results

    def _shrink_limits(self) -> None:
        self.limits = self.limits.halved()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    @torch.inference_mode()
    def decode(self, content: Content, styles: torch.Tensor) -> torch.Tensor:
        """Content and B×style_dim styles → B×3×H×W images in [−1, 1]. A one-photo content is
        decoded with every style."""
        return self._decode(content, styles)[0]

    @torch.inference_mode()
    def decode_segmentation(self, content: Content, styles: torch.Tensor) -> torch.Tensor:
        """As `decode`, but the 3-channel segmentation head (after tanh)."""
        return self._decode(content, styles)[1]

    @torch.inference_mode()
    def hires_crops(
        self, image: Image.Image | np.ndarray, inference_size: int = 256
    ) -> torch.Tensor:
        """Photo → its 16 shifted medium crops, 16×3×h×w in [−1, 1], on the device."""
        canvas = scheme.hires_canvas(to_tensor_255(image, self.device), inference_size)
        return scheme.shifted_crops(canvas, inference_size)

    @torch.inference_mode()
    def merge_input(self, translated_crops_pm1: torch.Tensor) -> torch.Tensor:
        """16·B translated crops → B×48×h×w merge input."""
        return scheme.merge_input(translated_crops_pm1.to(self.device, torch.float32))

    @torch.inference_mode()
    def enhance(self, merge_input: torch.Tensor) -> torch.Tensor:
        """B×48×h×w merge input → B×3×4h×4w in [−1, 1] through G_enh."""
        if self.enhancer is None:
            raise RuntimeError(
                "these weights have no enhancer: pass --enhancer FILE for high-resolution output"
            )
        pixels = merge_input.shape[-2] * merge_input.shape[-1]

        def enhance(start: int, stop: int) -> torch.Tensor:
            limits = self.limits
            if pixels <= limits.enhancer_pixels:
                return self._enhancer_call(merge_input[start:stop])
            side = math.isqrt(limits.enhancer_pixels) - 2 * limits.enhancer_overlap
            tile = max(MIN_ENHANCER_TILE, side)
            return scheme.tiled(
                self._enhancer_call, merge_input[start:stop], tile, limits.enhancer_overlap, 4
            )

        parts = self._in_pieces(
            enhance, len(merge_input), pixels, lambda limits: limits.enhancer_pixels, may_tile=True
        )
        return _concat(parts)

    def _enhancer_call(self, merge_input: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            x = self._input(merge_input, self._enhancer_format)
            return self._networks.enhance(x).float().clamp_(-1, 1)

    # ------------------------------------------------------------ styles

    @torch.inference_mode()
    def styles_of_images(self, images_255: torch.Tensor, inference_size: int = 256) -> torch.Tensor:
        """B×3×H×W photos in [0, 255] → their B×style_dim style codes, after the reference's
        style preprocessing (shorter side S, sides multiples of 16, bicubic)."""
        return self.encode_style(network_input(images_255, inference_size))

    def styles(self, inference_size: int = 256) -> StyleResolver:
        """What resolves presets, codes and images into this model's style codes."""

        def encode(rgb: np.ndarray) -> torch.Tensor:
            return self.styles_of_images(to_tensor_255(rgb, self.device), inference_size).cpu()

        return StyleResolver(self.presets, self.style_dim, encode)

    def style_code(self, style: StyleLike, inference_size: int = 256) -> torch.Tensor:
        """A preset name, an image (path, PIL or uint8 array) or a vector → 1×style_dim."""
        return self.styles(inference_size).resolve(style)

    # ------------------------------------------------------------ translation

    @torch.inference_mode()
    def translate_tensor(
        self,
        images_255: torch.Tensor,
        styles: torch.Tensor,
        *,
        hires: bool = False,
        inference_size: int = 256,
        max_batch: int = 8,
    ) -> torch.Tensor:
        """B×3×H×W photos in [0, 255] with K styles (K = B, or B = 1 and any K) →
        K×3×h×w in [−1, 1] at processing size (×4 with `hires`)."""
        check_inference_size(inference_size)
        x = self._network_inputs(images_255, hires, inference_size)
        return torch.cat(list(self._translations(x, len(images_255), styles, hires, max_batch)))

    def _network_inputs(self, images_255: torch.Tensor, crops: bool, size: int) -> torch.Tensor:
        """What the networks see of the photos: the 16 shifted crops, or the small copy."""
        images_255 = images_255.to(self.device)
        if crops:
            return scheme.shifted_crops(scheme.hires_canvas(images_255.float(), size), size)
        return network_input(images_255, size)

    def _translations(
        self, x: torch.Tensor, b: int, styles: torch.Tensor, crops: bool, max_batch: int
    ) -> Iterator[torch.Tensor]:
        """Network inputs of b photos with K styles → translations, max_batch styles at a
        time; the contents are encoded once."""
        k = len(styles)
        if b != k and b != 1:
            raise ValueError(f"{b} images need 1 or {b} styles, got {k}")
        content = self.encode_content(x)
        per_style = scheme.SHIFTS**2 if crops else 1
        step = max(1, max_batch)
        for start in range(0, k, step):
            chunk = styles[start : start + step].to(self.device, torch.float32)
            part = content if b == 1 else content.slice(start * per_style, len(chunk) * per_style)
            if crops:
                if b == 1 and len(chunk) > 1:
                    part = part.tile(len(chunk))
                chunk = chunk.repeat_interleave(per_style, 0)
            out = self.decode(part, chunk)
            yield self.enhance(scheme.merge_input(out)) if crops else out

    @torch.inference_mode()
    def render(
        self,
        images_255: torch.Tensor,
        styles: torch.Tensor,
        spec: RenderSpec | None = None,
        max_batch: int = 8,
    ) -> Iterator[np.ndarray]:
        """The whole render path: B×3×H×W photos (uint8 or float in [0, 255]) with K styles
        (K = B, or B = 1 and any K) → K×H×W×3 uint8 results at the photos' size (or at the
        networks' size with spec.native_size), yielded `max_batch` styles at a time.

        The networks translate a small copy; the detail-transfer stage (detail.py) carries
        their light onto the photo itself at its own resolution, unless spec.plain_resize asks
        for a bicubic enlargement of the translation."""
        spec = spec or RenderSpec()
        for guide, out, photos in self.translation_pairs(images_255, styles, spec, max_batch):
            if spec.native_size:
                yield to_uint8(out)
            elif spec.plain_resize:
                yield to_uint8(resize_pm1(out, tuple(images_255.shape[-2:])))
            else:
                finer = min(out.shape[-2:]) / min(network_shape(images_255, spec.inference_size))
                yield self._transfer_detail(guide, out, photos, spec.detail.scaled(finer))

    @torch.inference_mode()
    def translation_pairs(
        self,
        images_255: torch.Tensor,
        styles: torch.Tensor,
        spec: RenderSpec | None = None,
        max_batch: int = 8,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """The networks' part of `render`, for callers that bring translations to full size
        themselves (video smooths the detail stage over time): yields (guide, translation,
        photos) per chunk of styles — the photos as the networks saw them (in [0, 255], at the
        translation's size), their translation (in [−1, 1]) and the full-size photos."""
        spec = spec or RenderSpec()
        check_inference_size(spec.inference_size)
        x = self._network_inputs(images_255, spec.hires, spec.inference_size)
        # The photos exactly as the networks saw them, or (for the enhancer's output) at the
        # enhancer's size; made once for every chunk of styles.
        guide = None if spec.hires else x.add(1).mul_(127.5)
        done = 0
        for out in self._translations(x, len(images_255), styles, spec.hires, max_batch):
            rows = slice(0, 1) if len(images_255) == 1 else slice(done, done + len(out))
            done += len(out)
            if guide is None:
                shape = tuple(out.shape[-2:])
                guide = scheme.resize_255(images_255.to(self.device), shape, "bicubic")
            yield guide[rows], out, images_255[rows]

    def _transfer_detail(
        self,
        guide_255: torch.Tensor,
        translated_pm1: torch.Tensor,
        photos_255: torch.Tensor,
        config: detail.DetailConfig,
    ) -> np.ndarray:
        """The detail-transfer stage: fit at the translation's size, apply to the photos in
        row strips straight into the 8-bit result."""
        y_lr = translated_pm1.float().add(1).mul_(0.5)
        # bf16 halves the per-pixel passes' memory traffic on a GPU; on a CPU it measured no
        # faster than float32 (0.27 vs 0.24 s CPU per 6 MP), so float32 stays there.
        on_gpu_bf16 = self.device.type == "cuda" and self.dtype == torch.bfloat16
        dtype = torch.bfloat16 if on_gpu_bf16 else torch.float32
        result = np.empty((len(y_lr), *photos_255.shape[-2:], 3), dtype=np.uint8)
        detail.upscale(guide_255 / 255, y_lr, photos_255, config, dtype, torch.from_numpy(result))
        return result

    def translate(
        self,
        image: Image.Image | np.ndarray | str | os.PathLike,
        style: StyleLike,
        hires: bool = False,
        inference_size: int = 256,
        native_size: bool = False,
        plain_resize: bool = False,
    ) -> Image.Image:
        """One photo in one style → a PIL image, at the photo's size (through the detail-
        transfer stage, or a plain resize) unless `native_size`. An alpha channel of the
        photo is carried to the output unchanged."""
        alpha = None
        if isinstance(image, (str, os.PathLike)):
            loaded = read_image(image)
            image, alpha = loaded.rgb, loaded.alpha
        elif isinstance(image, Image.Image) and "A" in image.getbands():
            alpha = np.asarray(image.getchannel("A"))
        photo = photo_tensor(image, self.device)
        code = self.style_code(style, inference_size)
        spec = RenderSpec(hires, inference_size, native_size, plain_resize)
        rgb = next(self.render(photo, code, spec))[0]
        result = Image.fromarray(rgb)
        if alpha is not None:
            result.putalpha(Image.fromarray(fit_alpha(alpha, rgb.shape[:2])))
        return result


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


def network_shape(images_255: torch.Tensor, inference_size: int) -> tuple[int, int]:
    """(h, w) of what the networks see of these photos."""
    return scheme.inference_shape(*images_255.shape[-2:], inference_size)


def network_input(images_255: torch.Tensor, inference_size: int) -> torch.Tensor:
    """Photos in [0, 255] (uint8 or float) → what the networks see: shorter side
    `inference_size`, sides multiples of 16 (bicubic, antialiased, 8-bit levels), in [−1, 1]."""
    shape = network_shape(images_255, inference_size)
    if images_255.device.type == "cpu" and images_255.is_floating_point():
        # the same 8-bit kernel whatever the caller's dtype, so a photo gives one result
        images_255 = images_255.round().clamp_(0, 255).to(torch.uint8)
    return scheme.resize_255(images_255, shape, "bicubic") / 127.5 - 1


def resize_pm1(images_pm1: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Bicubic, antialiased resize of images in [−1, 1] to an output shape (no-op if equal)."""
    if tuple(images_pm1.shape[-2:]) == tuple(shape):
        return images_pm1
    resized = scheme.resize_255(images_pm1.add(1).mul_(127.5), shape, "bicubic")
    return resized.div_(127.5).sub_(1)  # in place: at photo size every copy counts


def check_inference_size(size: int) -> None:
    if size < 32 or size % 16:
        raise ValueError(f"inference size {size} must be a multiple of 16, at least 32")


class _Networks:
    """The three network entry points the pipeline calls, compiled with torch.compile when
    asked; kept apart from the modules so that the modules stay plain for training."""

    def __init__(self, generator: Generator, enhancer: Enhancer | None, compile_them: bool):
        wrap = torch.compile if compile_them else (lambda fn: fn)
        self.encode_content = wrap(generator.encode_content)
        self.decode = wrap(generator.decode)
        self.enhance = wrap(enhancer) if enhancer is not None else None


def _concat(parts: list[T]) -> T:
    """Join per-piece results (tensors, or tuples of them) along the batch; a single piece is
    returned as it is, without a copy."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    return tuple(torch.cat(tensors) for tensors in zip(*parts, strict=True))


def _generator_limit(limits: WorkLimits) -> int:
    return limits.generator_pixels


def load(
    weights: str | os.PathLike | None = None,
    enhancer: str | os.PathLike | None = None,
    device: str | torch.device = "auto",
    dtype: torch.dtype | None = None,
) -> HiDT:
    """Load a generator (and an enhancer when one is given or lies beside it) into a HiDT.

    weights: a file, a folder with both networks, hf://owner/repo/file[@rev], or None for the
    shipped defaults. enhancer: the same forms; by default the one in the weights' folder.
    dtype: None = bf16 autocast on CUDA and on CPUs with native bf16, float32 elsewhere.
    """
    generator_path = resolve(weights, "generator")
    if enhancer is not None:
        enhancer_path = resolve(enhancer, "enhancer")
    else:
        enhancer_path = resolve(generator_path.parent, "enhancer")
    generator = load_weights(generator_path, "generator", source=_source(weights, generator_path))
    enhancer_weights = (
        load_weights(enhancer_path, "enhancer", source=_source(enhancer or weights, enhancer_path))
        if enhancer_path
        else None
    )
    return HiDT(
        generator.build(),
        enhancer_weights.build() if enhancer_weights else None,
        presets=generator.presets,
        device=device,
        dtype=dtype,
        info=WeightsInfo(generator, enhancer_weights),
    )


def _source(spec, path) -> str:
    if spec is None:
        return f"default weights ({path})"
    return str(spec) if str(spec).startswith("hf://") else str(path)
