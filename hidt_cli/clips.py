"""A clip through the render path, streamed and steady: frames arrive decoded ahead (the
reader's thread), the networks translate batches of their small copies, the detail stage's
transforms are averaged over neighbouring frames (steady.py) and applied to each frame at its
own resolution, and every finished frame is handed on at once (for a writer that encodes
behind). Memory holds a few batches of frames, whatever the clip's length."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

import numpy as np
import torch

from hidt_cli import detail
from hidt_cli.io.video import Frame
from hidt_cli.pipeline import HiDT, RenderSpec
from hidt_cli.steady import Steadiness, SteadyFields

StylesOf = Callable[[Sequence[Frame]], torch.Tensor]
"""The style code of each frame of a batch (B×style_dim)."""


@torch.inference_mode()
def render_clip(
    model: HiDT,
    frames: Iterable[Frame],
    styles_of: StylesOf,
    spec: RenderSpec | None = None,
    *,
    batch: int = 4,
    steadiness: Steadiness | None = None,
) -> Iterator[tuple[Frame, np.ndarray]]:
    """Yield (source frame, H×W×3 uint8 result) in order, steadiness.radius frames behind
    the input. Frames are rendered through the detail stage (spec.native_size and
    spec.plain_resize do not apply)."""
    spec = spec or RenderSpec()
    window: SteadyFields[tuple[Frame, torch.Tensor]] = SteadyFields(steadiness or Steadiness())
    config = spec.detail
    for chunk in chunks(frames, batch):
        images = torch.from_numpy(np.stack([frame.rgb for frame in chunk])).permute(0, 3, 1, 2)
        pairs = model.translation_pairs(images, styles_of(chunk), spec, len(chunk))
        for small, translated, photos in pairs:
            fields = _fields(small, translated, config)
            for frame, photo, field, copy in zip(chunk, photos, fields, small, strict=True):
                for ready in window.push((frame, photo), field, copy):
                    yield _finish(ready, config)
    for ready in window.flush():
        yield _finish(ready, config)


def fixed_style(code: torch.Tensor) -> StylesOf:
    """One style code (1×style_dim) for every frame."""
    return lambda frames: code.expand(len(frames), -1)


def _fields(small_255: torch.Tensor, translated_pm1: torch.Tensor, config) -> torch.Tensor:
    """Each frame's transforms (and, when the config adds it back, its low-res residual)."""
    x, y = small_255 / 255, translated_pm1.float().add(1).mul_(0.5)
    coefficients = detail.fit(x, y, config)
    if not config.residual:
        return coefficients
    return torch.cat([coefficients, detail.residual(coefficients, x, y)], 1)


def _finish(ready: tuple[tuple[Frame, torch.Tensor], torch.Tensor], config):
    """Apply a frame's averaged transforms to it at full resolution."""
    (frame, photo), field = ready
    field = field[None]
    leftover = field[:, detail.COEFFICIENTS :] if config.residual else None
    strips = detail.transfer(field[:, : detail.COEFFICIENTS], photo[None], config, leftover)
    rgb = np.empty_like(frame.rgb)
    for top, strip in strips:
        rgb[top : top + strip.shape[-2]] = strip[0].permute(1, 2, 0).cpu().numpy()
    return frame, rgb


def chunks(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    """Frames in lists of `size` (the last one shorter)."""
    iterator = iter(frames)
    while chunk := list(islice(iterator, size)):
        yield chunk
