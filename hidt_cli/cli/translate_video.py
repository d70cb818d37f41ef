"""The video side of `hidt translate`: each clip, frame by frame, into an H.264 MP4 that keeps
its clock, rotation and sound, one clip at a time with a bar in frames."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Protocol

import torch
import typer

from hidt_cli.cli import common
from hidt_cli.cli.batch import BatchReport, Outcome
from hidt_cli.cli.common import fail
from hidt_cli.clips import StylesOf, fixed_style, render_clip
from hidt_cli.guide import Clock, GuideStyles, guide_styles
from hidt_cli.io.paths import InputItem
from hidt_cli.io.video import (
    DEFAULT_CRF,
    EncoderNotFoundError,
    Frame,
    VideoError,
    VideoReader,
    VideoWriter,
    probe_video,
)
from hidt_cli.pipeline import HiDT, RenderSpec
from hidt_cli.workers import one_thread_per_worker

GUIDE_SMOOTHING = 2.0
"""Gaussian smoothing of the guide's styles over time, in guide frames (as `timelapse`)."""

Guide = Annotated[
    Path | None,
    typer.Option(
        "--guide",
        "-g",
        help="Videos: take each frame's style from this video's frame at the same moment.",
        rich_help_panel="Style",
    ),
]
Crf = Annotated[
    int,
    typer.Option(
        min=0, max=51, help="Videos: H.264 quality, 0 (lossless) to 51; lower is better, larger."
    ),
]
VideoCodec = Annotated[
    str | None,
    typer.Option(
        "--video-codec", help="Videos: FFmpeg encoder name (default: libx264, else libopenh264)."
    ),
]


class ClipJob(Protocol):
    """A video input and the output of each style applied to it (translate.Job)."""

    item: InputItem
    outputs: list[Path]


@dataclass(frozen=True)
class ClipSettings:
    """What the command line asked of the videos."""

    spec: RenderSpec
    codes: torch.Tensor | None
    """One style code per output of a clip; None with a guide."""
    guide: Path | None
    batch: int
    """Frames through the networks at once."""
    crf: int = DEFAULT_CRF
    codec: str | None = None
    overwrite: bool = False
    max_pixels: int | None = None
    quiet: bool = False


def check_video_options(
    items: Sequence[InputItem],
    *,
    guide: Path | None,
    output: Path | None,
    native_size: bool,
    plain_resize: bool,
) -> None:
    """Usage errors of the video options, found before the model loads."""
    videos = [item for item in items if item.is_video]
    if guide is not None and len(videos) < len(items):
        fail(
            "--guide styles videos frame by frame; give photos a --style, --preset or --style-code"
        )
    if not videos:
        return
    if native_size or plain_resize:
        fail("--native-size and --plain-resize are for photos: videos keep their own resolution")
    if output is not None and str(output) == "-":
        fail("a video cannot be written to stdout: give --output FILE.mp4 or --output-dir")
    if output is not None and output.suffix.lower() != ".mp4":
        fail(f"{output}: a video is written as an MP4; give the output the .mp4 extension")


def translate_clips(
    model: HiDT,
    jobs: Sequence[ClipJob],
    settings: ClipSettings,
    report: BatchReport,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Translate each clip into each of its outputs; a clip that fails is reported and the
    next one goes on. A missing encoder stops the command (exit 4): no clip could be written."""
    if not jobs:
        return
    guided = _read_guide(model, settings) if settings.guide is not None else None
    for job in jobs:
        path = job.item.path
        try:
            with one_thread_per_worker(model.device) as workers:
                for k, target in enumerate(job.outputs):
                    _translate_clip(model, path, target, k, guided, settings, workers)
        except EncoderNotFoundError as exc:
            fail(str(exc), common.EXIT_INPUT)
        except (VideoError, RuntimeError, ValueError) as exc:
            error = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
            report.add(Outcome(str(path), "failed", error=error))
        else:
            report.add(Outcome(str(path), "converted", [str(t) for t in job.outputs]))
        if on_progress is not None:
            on_progress(1)


def _read_guide(model: HiDT, settings: ClipSettings) -> GuideStyles:
    info = probe_video(settings.guide)
    with common.progress(settings.quiet) as bar:
        task = bar.add_task(f"styles of {settings.guide.name}", total=info.frame_count or None)
        return guide_styles(
            model,
            settings.guide,
            sigma=GUIDE_SMOOTHING,
            inference_size=settings.spec.inference_size,
            advance=lambda n: bar.advance(task, n),
        )


def _translate_clip(
    model: HiDT,
    path: Path,
    target: Path,
    k: int,
    guided: GuideStyles | None,
    settings: ClipSettings,
    workers: int,
) -> None:
    """One clip in its k-th style, written to a temporary file renamed when complete, with a
    bar in frames."""
    with VideoReader(path) as reader:
        info = reader.info
        if settings.max_pixels is not None and info.width * info.height > settings.max_pixels:
            raise VideoError(path, f"frames of {info.width}×{info.height} exceed --max-pixels")
        if info.fps_guessed:
            common.note(f"{path}: no frame rate given; assuming {info.fps:g} fps", settings.quiet)
        if guided is None:
            styles_of = fixed_style(settings.codes[k : k + 1])
        else:
            styles_of = _follow(guided, Clock(info))
        with (
            VideoWriter.like(
                target,
                reader,
                overwrite=settings.overwrite,
                crf=settings.crf,
                codec=settings.codec,
            ) as writer,
            common.progress(settings.quiet) as bar,
        ):
            for note in writer.notes:
                common.note(f"{path}: {note}", settings.quiet)
            task = bar.add_task(target.name, total=info.frame_count or None)
            frames = render_clip(
                model,
                reader.frames(),
                styles_of,
                settings.spec,
                batch=settings.batch,
                workers=workers,
            )
            for frame in frames:
                writer.write(frame.rgb, frame.pts)
                bar.advance(task)
            bar.update(task, total=writer.frames_written, completed=writer.frames_written)


def _follow(guided: GuideStyles, clock: Clock) -> StylesOf:
    """Each frame takes the guide's style at the same moment of the guide."""

    def styles_of(frames: Sequence[Frame]) -> torch.Tensor:
        return guided.at([clock(frame) for frame in frames])

    return styles_of


def default_batch(model: HiDT) -> int:
    """Frames per network batch: many on a GPU; on a CPU the pipeline runs one frame per
    network call anyway, and each frame in flight holds memory (an 8K frame: 100 MB)."""
    return 8 if model.device.type == "cuda" else 1
