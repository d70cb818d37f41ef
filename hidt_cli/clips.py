"""A clip through the render path, streamed and steady: frames arrive decoded ahead (the
reader's thread), the networks translate batches of their small copies, the detail stage's
transforms are averaged over neighbouring frames (steady.py) and applied to each frame at its
own resolution, and every finished frame is handed on at once (for a writer that encodes
behind). Memory holds a few batches of frames, whatever the clip's length."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
import torch

from hidt_cli import detail
from hidt_cli.io.video import Frame
from hidt_cli.pipeline import HiDT, RenderSpec
from hidt_cli.steady import Steadiness, SteadyFields
from hidt_cli.workers import in_order

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
    workers: int = 1,
    steadiness: Steadiness | None = None,
) -> Iterator[Frame]:
    """Yield the translated frames (H×W×3 uint8, with their source's pts and index) in
    order, steadiness.radius frames behind the input. Frames are rendered through the detail
    stage (spec.native_size and spec.plain_resize do not apply). With `workers` > 1, that
    many batches go through the networks and the fit at once, each on its own thread (on a
    CPU: give torch one thread per worker, see `workers.one_thread_per_worker`), while this
    thread applies the transforms."""
    spec = spec or RenderSpec()
    window: SteadyFields[_Waiting] = SteadyFields(steadiness or Steadiness())
    config = spec.detail

    @torch.inference_mode()
    def translate(job: tuple[list[Frame], torch.Tensor]):
        chunk, codes = job
        # planar, in one copy: the detail stage's passes run a sixth faster than on a view
        images = torch.empty((len(chunk), 3, *chunk[0].rgb.shape[:2]), dtype=torch.uint8)
        for image, frame in zip(images, chunk, strict=True):
            image.copy_(torch.from_numpy(frame.rgb).permute(2, 0, 1))
        ((small, translated, photos),) = model.translation_pairs(images, codes, spec, len(chunk))
        return small, transforms(small, translated, config), photos

    jobs = ((chunk, styles_of(chunk)) for chunk in chunks(frames, batch))  # in order, here
    for (chunk, _), (small, fields, photos) in in_order(translate, jobs, workers):
        for frame, photo, field, copy in zip(chunk, photos, fields, small, strict=True):
            # the decoded array is let go: `photo` holds the same pixels, planar
            waiting = _Waiting(frame.pts, frame.index, photo)
            yield from _finished(window.push(waiting, field, copy), config)
    yield from _finished(window.flush(), config)


@dataclass(frozen=True)
class _Waiting:
    """A frame waiting in the steadying window for the fields of the frames after it."""

    pts: int | None
    index: int
    photo_255: torch.Tensor  # 3×H×W uint8


def _finished(ready: list[tuple[_Waiting, torch.Tensor]], config) -> Iterator[Frame]:
    for waiting, field in ready:
        rgb = apply_transforms(field, waiting.photo_255, config)
        yield Frame(rgb, waiting.pts, waiting.index)


def fixed_style(code: torch.Tensor) -> StylesOf:
    """One style code (1×style_dim) for every frame."""
    return lambda frames: code.expand(len(frames), -1)


def transforms(small_255: torch.Tensor, translated_pm1: torch.Tensor, config) -> torch.Tensor:
    """Each frame's field of transforms, small copy → translation (B×12×h×w)."""
    return detail.transforms(small_255 / 255, translated_pm1.float().add(1).mul_(0.5), config)


def apply_transforms(field: torch.Tensor, photo_255: torch.Tensor, config) -> np.ndarray:
    """One frame's field (C×h×w) applied to it at full resolution (3×H×W) → H×W×3 uint8."""
    rgb = np.empty((*photo_255.shape[-2:], 3), dtype=np.uint8)
    detail.transfer(field[None], photo_255[None], config, out=torch.from_numpy(rgb)[None])
    return rgb


def chunks(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    """Frames in lists of `size` (the last one shorter)."""
    iterator = iter(frames)
    while chunk := list(islice(iterator, size)):
        yield chunk
