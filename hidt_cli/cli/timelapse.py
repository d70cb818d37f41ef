"""`hidt timelapse`: one photo through the times of day, as an H.264 MP4; the styles come
from a guide video (frame by frame) or from a path through keyframe styles (timelapse.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import torch
import typer

from hidt_cli import sheets
from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import (
    ModelOptions,
    Overwrite,
    RenderOptions,
    ReportOptions,
)
from hidt_cli.concurrency import one_thread_per_worker
from hidt_cli.guide import guide_codes
from hidt_cli.io.output import OutputSettings, save_result, sheet_cell
from hidt_cli.io.video import probe_video, write_frames
from hidt_cli.model import HiDT
from hidt_cli.render import batch_size
from hidt_cli.styles import StyleError, interpolate_codes
from hidt_cli.timelapse import (
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    DEFAULT_MAX_SIDE,
    keyframe_codes,
    render_frames,
    strip_indices,
)


@dataclass(frozen=True)
class StyleSource:
    """Where the styles come from, and the frames' rate, count and size."""

    guide: Annotated[
        Path | None,
        typer.Option(
            "--guide",
            "-g",
            help="Take the styles from this video, frame by frame.",
            rich_help_panel="Style",
        ),
    ] = None
    presets: Annotated[
        str | None,
        typer.Option(
            "--presets",
            help="Keyframes to pass through, comma-separated: preset names or style codes "
            "written with colons, e.g. day,-0.5:-1.0:-1.0,night.",
            rich_help_panel="Style",
        ),
    ] = None
    fps: Annotated[
        float | None,
        typer.Option("--fps", help="Frame rate; default: the guide's / stride, or 24."),
    ] = None
    frames: Annotated[
        int | None,
        typer.Option(
            "--frames",
            min=1,
            help="Frames to render (default 48); with --guide, the most to render.",
        ),
    ] = None
    stride: Annotated[
        int, typer.Option("--stride", min=1, help="With --guide: use every K-th frame.")
    ] = 1
    smooth: Annotated[
        float,
        typer.Option(
            "--smooth",
            min=0.0,
            help="With --guide: Gaussian smoothing of the styles over time, in frames (0 = off).",
        ),
    ] = 2.0
    max_side: Annotated[
        int,
        typer.Option(
            "--max-side", min=16, help="Longest side of the frames; the photo's size if smaller."
        ),
    ] = DEFAULT_MAX_SIDE


@grouped
def timelapse(
    image: Annotated[Path, typer.Argument(help="The photo to animate.")],
    *,
    path: StyleSource,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Output MP4; default: <image>_timelapse.mp4 beside the image."
        ),
    ] = None,
    strip: Annotated[
        bool, typer.Option("--strip", help="Also write <output>_strip.png with 8 frames.")
    ] = False,
    overwrite: Overwrite = False,
    render: RenderOptions,
    model: ModelOptions,
    report: ReportOptions,
) -> None:
    """Render a photo through a day: styles from a guide video or through preset keyframes."""
    with common.reported_errors(report.debug):
        if (path.guide is None) == (path.presets is None):
            fail("give exactly one of --guide VIDEO or --presets A,B,...")
        if path.fps is not None and not (math.isfinite(path.fps) and path.fps > 0):
            fail(f"--fps must be a positive number, got {path.fps}")
        target, strip_path = _outputs(image, output, strip, overwrite)
        photo = common.read_photo(image, report.quiet)
        info = probe_video(path.guide) if path.guide is not None else None
        if info is not None and info.fps_guessed and path.fps is None:
            common.note(
                f"{path.guide}: the video gives no frame rate; assuming {info.fps:g} fps (see --fps)",
                report.quiet,
            )
        net = common.load_model(model, enhancer_for="--hires" if render.hires else None)
        with common.progress(report.quiet) as bar:
            codes, rate = _styles(net, path, info, model.inference_size, bar)
            task = bar.add_task("rendering", total=len(codes))
            with one_thread_per_worker(net.device) as workers:
                chunk = batch_size(
                    net.device, hires=render.hires, styles=len(codes), workers=workers
                )
                batches = render_frames(
                    net,
                    photo.rgb,
                    codes,
                    render.spec(model.inference_size),
                    max_side=path.max_side,
                    batch=chunk,
                    workers=workers,
                )
                kept = write_frames(
                    target,
                    batches,
                    rate,
                    overwrite=overwrite,
                    keep=strip_indices(len(codes)) if strip_path else set(),
                    advance=lambda n: bar.advance(task, n),
                )
        if strip_path is not None:
            cells = {index: sheet_cell(frame, photo) for index, frame in kept.items()}
            save_result(strip_path, sheets.strip(cells), photo, OutputSettings(overwrite=overwrite))
        common.note(f"wrote {target} ({len(codes)} frames at {rate:g} fps)", report.quiet)
        if report.as_json:
            strip_name = str(strip_path) if strip_path else None
            result = {"output": str(target), "frames": len(codes), "fps": rate, "strip": strip_name}
            common.print_json(result)


def _styles(
    model: HiDT, path: StyleSource, info, inference_size: int, bar
) -> tuple[torch.Tensor, float]:
    """The frames' codes and the rate they play at: the guide's (every stride-th frame,
    smoothed), or the path through the keyframes."""
    if path.guide is None:
        try:
            keyframes = keyframe_codes(model, path.presets)
        except StyleError as exc:
            fail(f"--presets: {exc}")
        return interpolate_codes(keyframes, path.frames or DEFAULT_FRAMES), path.fps or DEFAULT_FPS
    read = math.ceil(info.frame_count / path.stride)  # the container's count: an estimate
    task = bar.add_task("reading styles", total=min(read, path.frames or read))
    codes = guide_codes(
        model,
        path.guide,
        stride=path.stride,
        max_frames=path.frames,
        sigma=path.smooth,
        inference_size=inference_size,
        advance=lambda n: bar.advance(task, n),
    )
    return codes, path.fps or info.fps / path.stride


def _outputs(
    image: Path, output: Path | None, strip: bool, overwrite: bool
) -> tuple[Path, Path | None]:
    """The video's and the strip's paths, refused now if taken rather than after the rendering."""
    target = output or image.with_name(f"{image.stem}_timelapse.mp4")
    if target.suffix.lower() != ".mp4":
        fail(f"{target}: the output is an MP4 video; give it the .mp4 extension")
    strip_path = target.with_name(f"{target.stem}_strip.png") if strip else None
    common.refuse_existing([p for p in (target, strip_path) if p is not None], overwrite)
    return target, strip_path
