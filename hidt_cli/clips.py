"""A clip through the render core, streamed and steady: frames arrive decoded ahead (the
reader's thread), batches of them are encoded and translated (render.Renderer), the detail
stage's fields are fitted per frame, averaged over neighbouring frames (steady.py) and
applied to each frame at its own resolution — the same stage, settings and precision as a
photo's, `hires` included — and every finished frame is handed on at once to a writer that
encodes behind. Memory holds a few batches of frames, whatever the clip's length."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from hidt_cli.concurrency import in_order, one_thread_per_worker
from hidt_cli.detail import DetailStage
from hidt_cli.io.video import DEFAULT_CRF, Frame, VideoError, VideoReader, VideoWriter
from hidt_cli.render import Renderer, RenderSpec
from hidt_cli.steady import Steadiness, SteadyFields

StylesOf = Callable[[Sequence[Frame]], torch.Tensor]
"""The style code of each frame of a batch (B×style_dim)."""


@torch.inference_mode()
def render_clip(
    renderer: Renderer,
    frames: Iterable[Frame],
    styles_of: StylesOf,
    spec: RenderSpec | None = None,
    *,
    batch: int = 4,
    workers: int = 1,
    steadiness: Steadiness | None = None,
) -> Iterator[Frame]:
    """Yield the translated frames (H×W×3 uint8, with their source's pts and index) in
    order, steadiness.radius frames behind the input. Frames keep their size (the detail
    stage; spec.native_size and spec.plain_resize are for photos). With `workers` > 1, that
    many batches go through the networks and the fit at once, each on its own thread (on a
    CPU: give torch one thread per worker, see `one_thread_per_worker`), while this thread
    steadies and applies the fields."""
    spec = spec or RenderSpec()
    if spec.native_size or spec.plain_resize:
        raise ValueError("native_size and plain_resize are for photos: clips keep their size")
    steadiness = steadiness or Steadiness()

    @torch.inference_mode()
    def translate(job: tuple[list[Frame], torch.Tensor]):
        chunk, codes = job
        # planar, in one copy: the detail stage's passes run a sixth faster than on a view
        photos = torch.empty((len(chunk), 3, *chunk[0].rgb.shape[:2]), dtype=torch.uint8)
        for photo, frame in zip(photos, chunk, strict=True):
            photo.copy_(torch.from_numpy(frame.rgb).permute(2, 0, 1))
        encoded = renderer.encode(photos, spec)
        ((_, translated),) = renderer.translations(encoded, codes, len(chunk))
        shape = tuple(translated.shape[-2:])
        stage = renderer.detail_stage(encoded, shape)
        fields = stage.fit(encoded.guide_statistics(stage, shape), translated)
        return stage, encoded.guide_255(shape), fields, photos

    jobs = ((chunk, styles_of(chunk)) for chunk in chunks(frames, batch))  # in order, here
    window: SteadyFields[_Waiting] | None = None
    stage: DetailStage | None = None
    for (chunk, _), (stage, guides, fields, photos) in in_order(translate, jobs, workers):
        window = window or SteadyFields(steadiness.scaled(stage.finer))
        for frame, photo, field, guide in zip(chunk, photos, fields, guides, strict=True):
            # the decoded array is let go: `photo` holds the same pixels, planar
            waiting = _Waiting(frame.pts, frame.index, photo)
            yield from _finished(window.push(waiting, field, guide), stage)
    if window is not None:
        yield from _finished(window.flush(), stage)


@dataclass(frozen=True)
class _Waiting:
    """A frame waiting in the steadying window for the fields of the frames after it."""

    pts: int | None
    index: int
    photo_255: torch.Tensor  # 3×H×W uint8


def _finished(ready: list[tuple[_Waiting, torch.Tensor]], stage: DetailStage) -> Iterator[Frame]:
    for waiting, field in ready:
        rgb = np.empty((*waiting.photo_255.shape[-2:], 3), dtype=np.uint8)
        stage.apply(field[None], waiting.photo_255[None], torch.from_numpy(rgb)[None])
        yield Frame(rgb, waiting.pts, waiting.index)


def fixed_style(code: torch.Tensor) -> StylesOf:
    """One style code (1×style_dim) for every frame."""
    return lambda frames: code.expand(len(frames), -1)


def chunks(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    """Frames in lists of `size` (the last one shorter)."""
    iterator = iter(frames)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass(frozen=True)
class ClipOutput:
    """How a translated clip is written: H.264 in an MP4 (see io/video.VideoWriter)."""

    crf: int = DEFAULT_CRF
    codec: str | None = None
    overwrite: bool = False
    max_pixels: int | None = None


def translate_clip(
    renderer: Renderer,
    source: str | os.PathLike[str],
    target: Path,
    style: Callable[[VideoReader], StylesOf],
    spec: RenderSpec,
    output: ClipOutput = ClipOutput(),
    *,
    batch: int = 1,
    recipe: str | None = None,
    on_start: Callable[[VideoReader, VideoWriter], None] = lambda reader, writer: None,
    on_frame: Callable[[], None] = lambda: None,
) -> int:
    """One clip in one style into an MP4 that keeps its clock, rotation and sound, written to
    a temporary file renamed when complete; returns the frames written. `style` gives the
    frames' codes once the clip is open (a guide follows the clip's clock); `recipe` is
    recorded in the file. A clip that ends early raises IncompleteVideoError after its last
    good frame, and nothing is kept."""
    with VideoReader(source) as reader:
        info = reader.info
        if output.max_pixels is not None and info.width * info.height > output.max_pixels:
            raise VideoError(source, f"frames of {info.width}×{info.height} exceed --max-pixels")
        with (
            VideoWriter.like(
                target,
                reader,
                overwrite=output.overwrite,
                crf=output.crf,
                codec=output.codec,
                recipe=recipe,
            ) as writer,
            one_thread_per_worker(renderer.networks.device) as workers,
        ):
            on_start(reader, writer)
            frames = render_clip(
                renderer, reader.frames(), style(reader), spec, batch=batch, workers=workers
            )
            for frame in frames:
                writer.write(frame.rgb, frame.pts)
                on_frame()
        return writer.frames_written
