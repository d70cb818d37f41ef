"""The networks on one device: precision (bf16 autocast where it is native), memory format,
torch.compile, and bounded work per call — batches split and G_enh run on tiles when an
input is larger than `WorkLimits` allow, and a CUDA out-of-memory error halves the limits and
retries instead of failing. Everything above this module sees plain calls on [−1, 1] images.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import TypeVar

import torch

from hidt_cli import hires as scheme
from hidt_cli.devices import MIN_ENHANCER_TILE, WorkLimits, default_limits, native_bf16, pick_device
from hidt_cli.models import Content, Enhancer, Generator

T = TypeVar("T")


class Networks:
    """The generator (and G_enh, if any) placed on a device, called in bounded pieces."""

    def __init__(
        self,
        generator: Generator,
        enhancer: Enhancer | None = None,
        *,
        device: str | torch.device = "auto",
        dtype: torch.dtype | None = None,
        channels_last: bool | None = None,
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
        self.limits = limits or default_limits(self.device)
        wrap = torch.compile if compile_networks else (lambda fn: fn)
        self._encode_content = wrap(self.generator.encode_content)
        self._decode = wrap(self.generator.decode)
        self._enhance = wrap(self.enhancer) if self.enhancer is not None else None

    @property
    def style_dim(self) -> int:
        return self.generator.config.style_dim

    @property
    def detail_dtype(self) -> torch.dtype:
        """Precision of the detail stage's per-pixel passes: bf16 halves their memory traffic
        on a GPU; on a CPU it measured no faster than float32 (0.27 vs 0.24 s CPU per 6 MP),
        so float32 stays there."""
        on_gpu_bf16 = self.device.type == "cuda" and self.dtype == torch.bfloat16
        return torch.bfloat16 if on_gpu_bf16 else torch.float32

    def _autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _input(self, images_pm1: torch.Tensor, memory_format: torch.memory_format) -> torch.Tensor:
        x = images_pm1.to(self.device, torch.float32, non_blocking=True)
        return x.contiguous(memory_format=memory_format)

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
                return self._encode_content(x)

        pixels = images_pm1.shape[-2] * images_pm1.shape[-1]
        return Content.cat(self._in_pieces(encode, len(images_pm1), pixels, _generator_limit))

    @torch.inference_mode()
    def decode(self, content: Content, styles: torch.Tensor) -> torch.Tensor:
        """Content and B×style_dim styles → B×3×H×W images in [−1, 1]. A one-photo content is
        decoded with every style."""
        return self._decode_both(content, styles)[0]

    @torch.inference_mode()
    def decode_segmentation(self, content: Content, styles: torch.Tensor) -> torch.Tensor:
        """As `decode`, but the 3-channel segmentation head (after tanh)."""
        return self._decode_both(content, styles)[1]

    def _decode_both(
        self, content: Content, styles: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        styles = styles.to(self.device, torch.float32).reshape(len(styles), -1)
        if len(content.content) == 1 and len(styles) > 1:
            content = content.expand(len(styles))

        def decode(start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
            with self._autocast():
                images, segmentation = self._decode(
                    content.slice(start, stop - start), styles[start:stop]
                )
            return images.float(), segmentation.float()

        pixels = content.skip_full.shape[-2] * content.skip_full.shape[-1]
        return _concat(self._in_pieces(decode, len(styles), pixels, _generator_limit))

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
            return self._enhance(x).float().clamp_(-1, 1)

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


def _memory_format(channels_last: bool) -> torch.memory_format:
    return torch.channels_last if channels_last else torch.contiguous_format


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
