"""`hidt timelapse`: one photo through the times of day, as an H.264 MP4. The styles come from a
guide video (frame by frame) or from a path through keyframe styles."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer

from hidt_cli import hires, sheets
from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.guide import guide_codes
from hidt_cli.io.images import read_image, write_image
from hidt_cli.io.video import probe_video, write_frames
from hidt_cli.pipeline import HiDT, RenderSpec, check_inference_size, photo_tensor
from hidt_cli.styles import StyleError, interpolate_codes
from hidt_cli.workers import in_order, one_thread_per_worker

DEFAULT_FRAMES = 48
DEFAULT_FPS = 24.0
DEFAULT_MAX_SIDE = 3840
"""4K UHD: larger frames play on few devices."""
STRIP_FRAMES = 8


def timelapse(
    image: Annotated[Path, typer.Argument(help="The photo to animate.")],
    guide: Annotated[
        Path | None,
        typer.Option(
            "--guide",
            "-g",
            help="Take the styles from this video, frame by frame.",
            rich_help_panel="Style",
        ),
    ] = None,
    presets: Annotated[
        str | None,
        typer.Option(
            "--presets",
            help="Keyframes to pass through, comma-separated: preset names or style codes "
            "written with colons, e.g. day,-0.5:-1.0:-1.0,night.",
            rich_help_panel="Style",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Output MP4; default: <image>_timelapse.mp4 beside the image."
        ),
    ] = None,
    fps: Annotated[
        float | None, typer.Option(help="Frame rate; default: the guide's / stride, or 24.")
    ] = None,
    frames: Annotated[
        int | None,
        typer.Option(
            min=1, help="Frames to render (default 48); with --guide, the most to render."
        ),
    ] = None,
    stride: Annotated[int, typer.Option(min=1, help="With --guide: use every K-th frame.")] = 1,
    smooth: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="With --guide: Gaussian smoothing of the styles over time, in frames (0 = off).",
        ),
    ] = 2.0,
    hires: common.Hires = False,
    native_size: common.NativeSize = False,
    plain_resize: common.PlainResize = False,
    max_side: Annotated[
        int,
        typer.Option(min=16, help="Longest side of the frames; the photo's size if smaller."),
    ] = DEFAULT_MAX_SIDE,
    strip: Annotated[
        bool, typer.Option("--strip", help="Also write <output>_strip.png with 8 frames.")
    ] = False,
    inference_size: common.InferenceSize = 256,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing outputs.")
    ] = False,
    weights: common.Weights = None,
    enhancer: common.EnhancerOpt = None,
    device: common.Device = "auto",
    fp32: common.Fp32 = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report on stdout.")] = False,
    quiet: common.Quiet = False,
    debug: common.Debug = False,
) -> None:
    """Render a photo through a day: styles from a guide video or through preset keyframes."""
    with common.reported_errors(debug):
        check_inference_size(inference_size)
        if (guide is None) == (presets is None):
            fail("give exactly one of --guide VIDEO or --presets A,B,...")
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            fail(f"--fps must be a positive number, got {fps}")
        target, strip_path = _outputs(image, output, strip, overwrite)
        photo = read_image(image)
        for line in photo.notes:
            common.note(f"{image}: {line}", quiet)
        info = probe_video(guide) if guide is not None else None
        if info is not None and info.fps_guessed and fps is None:
            common.note(
                f"{guide}: the video gives no frame rate; assuming {info.fps:g} fps (see --fps)",
                quiet,
            )
        model = common.load_model(weights, enhancer, device, fp32)
        if hires and model.enhancer is None:
            fail("--hires needs enhancer weights (--enhancer FILE)", common.EXIT_WEIGHTS)
        keyframes = keyframe_codes(model, presets) if presets is not None else None
        with common.progress(quiet) as bar:
            if guide is not None:
                codes, rate = _guide_styles(
                    model, guide, info, stride, frames, smooth, fps, inference_size, bar
                )
            else:
                codes = interpolate_codes(keyframes, frames or DEFAULT_FRAMES)
                rate = fps or DEFAULT_FPS
            task = bar.add_task("rendering", total=len(codes))
            with one_thread_per_worker(model.device) as workers:
                batches = render_frames(
                    model,
                    photo.rgb,
                    codes,
                    RenderSpec(hires, inference_size, native_size, plain_resize),
                    max_side=max_side,
                    batch=frames_per_batch(len(codes), workers, model.device),
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
            write_image(strip_path, sheets.strip(kept), overwrite=overwrite)
        _report(target, strip_path, len(codes), rate, as_json, quiet)


def frames_per_batch(frames: int, workers: int, device: torch.device) -> int:
    """Styles per batch: 8 on a GPU; on a CPU 4 (a 4K frame 0.31 s, against 0.35 s with 2),
    fewer when that would leave a worker idle on a short timelapse."""
    if device.type != "cpu":
        return 8
    return max(1, min(4, math.ceil(frames / workers)))


def _guide_styles(model, guide, info, stride, frames, smooth, fps, inference_size, bar):
    """The guide's styles (every stride-th frame, smoothed) and the frame rate they play at."""
    read = math.ceil(info.frame_count / stride)  # the container's count: an estimate
    task = bar.add_task("reading styles", total=min(read, frames or read))
    codes = guide_codes(
        model,
        guide,
        stride=stride,
        max_frames=frames,
        sigma=smooth,
        inference_size=inference_size,
        advance=lambda n: bar.advance(task, n),
    )
    return codes, fps or info.fps / stride


def _report(target: Path, strip: Path | None, frames: int, rate: float, as_json: bool, quiet: bool):
    common.note(f"wrote {target} ({frames} frames at {rate:g} fps)", quiet)
    if as_json:
        common.print_json(
            {
                "output": str(target),
                "frames": frames,
                "fps": rate,
                "strip": str(strip) if strip else None,
            }
        )


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


def keyframe_codes(model: HiDT, spec: str) -> torch.Tensor:
    """'day,-0.5:-1.0:-1.0,night' → K×style_dim keyframes. Codes use colons because commas
    already separate the keyframes."""
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    if not parts:
        fail("--presets needs at least one preset name or style code")
    styles = model.styles()
    try:
        return torch.cat([styles.keyframe(part) for part in parts])
    except StyleError as exc:
        fail(f"--presets: {exc}")


def render_frames(
    model: HiDT,
    rgb: np.ndarray,
    codes: torch.Tensor,
    spec: RenderSpec,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    batch: int = 8,
    workers: int = 1,
) -> Iterator[np.ndarray]:
    """The photo in each style, as B×H×W×3 uint8 batches of `batch` styles (the content
    encoded once per batch) yielded in order as they are rendered, so that a long timelapse
    never sits in memory whole; `workers` batches render at once (on a CPU, in
    `one_thread_per_worker`: a 4K frame 0.31 s instead of 0.44 s on two cores). Frames have
    the photo's size, shrunk to fit max_side: a video frame larger than 4K plays nowhere."""
    photo = hires.fit_within(photo_tensor(rgb, model.device), max_side)

    def render(chunk: torch.Tensor) -> np.ndarray:
        return next(model.render(photo, chunk, spec, len(chunk)))

    for _, frames in in_order(render, torch.split(codes, batch), workers):
        yield frames


def strip_indices(count: int) -> set[int]:
    """The frames a strip shows, known up front so that only those are kept."""
    return set(np.linspace(0, count - 1, min(STRIP_FRAMES, count)).round().astype(int).tolist())
