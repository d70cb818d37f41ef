"""The video side of `hidt translate`: its usage checks, and each planned clip through the
library's clip path (clips.translate_clip), one clip at a time with a bar in frames."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.clips import ClipOutput, fixed_style, translate_clip
from hidt_cli.guide import Clock, GuideStyles, guide_styles
from hidt_cli.io.errors import OutputExistsError
from hidt_cli.io.paths import InputItem
from hidt_cli.io.video import EncoderNotFoundError, VideoError, probe_video
from hidt_cli.model import HiDT
from hidt_cli.outcomes import Outcome, Report, one_line
from hidt_cli.plan import Job
from hidt_cli.recipes import recorded
from hidt_cli.render import RenderSpec

GUIDE_SMOOTHING = 2.0
"""Gaussian smoothing of the guide's styles over time, in guide frames (as `timelapse`)."""


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


@dataclass(frozen=True)
class ClipWork:
    """What every clip of a batch is translated with."""

    spec: RenderSpec
    output: ClipOutput
    batch: int
    quiet: bool


def convert_clips(
    model: HiDT,
    jobs: Sequence[Job],
    codes: torch.Tensor | None,
    guide: Path | None,
    work: ClipWork,
    report: Report,
    advance: Callable[[int], None] = lambda n: None,
) -> None:
    """Translate each clip into each of its outputs (the k-th in the k-th code, or all in
    step with the guide); a clip that fails is reported and the next one goes on, and an
    output another run finished meanwhile the same way counts as done. A missing encoder
    stops the command (exit 4): no clip could be written."""
    if not jobs:
        return
    guided = _read_guide(model, guide, work.spec.inference_size, work.quiet) if guide else None
    for job in jobs:
        path, made = job.item.path, 0
        try:
            for k, (target, recipe) in enumerate(zip(job.outputs, job.recipes, strict=True)):
                try:
                    _one_clip(model, path, target, _style(codes, k, guided), work, recipe)
                    made += 1
                except OutputExistsError:
                    if recorded(target) != recipe:
                        raise
        except EncoderNotFoundError as exc:
            fail(str(exc), common.EXIT_INPUT)
        except (VideoError, RuntimeError, ValueError) as exc:
            report(Outcome(str(path), "failed", error=one_line(exc, path)))
        else:
            status = "converted" if made else "skipped"
            report(Outcome(str(path), status, [str(t) for t in job.outputs]))
        advance(1)


def _style(codes: torch.Tensor | None, k: int, guided: GuideStyles | None):
    """The k-th output's styles, given the clip being read."""
    if guided is None:
        return lambda reader: fixed_style(codes[k : k + 1])
    return lambda reader: guided.follow(Clock(reader.info))


def _one_clip(model, path, target, style, work: ClipWork, recipe: str) -> None:
    """One clip into one output, with a bar in frames once both files are open."""
    with contextlib.ExitStack() as stack:
        bar = _ClipBar(stack, path, target, work.quiet)
        written = translate_clip(
            model.renderer,
            path,
            target,
            style,
            work.spec,
            work.output,
            batch=work.batch,
            recipe=recipe,
            on_start=bar.start,
            on_frame=bar.advance,
        )
        bar.finish(written)


class _ClipBar:
    """A clip's notes and its bar in frames, shown once the clip and its output are open (a
    clip refused before that gets its one error line and no bar)."""

    def __init__(self, stack: contextlib.ExitStack, path: Path, target: Path, quiet: bool):
        self._stack, self._path, self._target, self._quiet = stack, path, target, quiet

    def start(self, reader, writer) -> None:
        info = reader.info
        if info.fps_guessed:
            common.note(
                f"{self._path}: no frame rate given; assuming {info.fps:g} fps", self._quiet
            )
        for line in writer.notes:
            common.note(f"{self._path}: {line}", self._quiet)
        self._bar = self._stack.enter_context(common.progress(self._quiet))
        self._task = self._bar.add_task(self._target.name, total=info.frame_count or None)

    def advance(self) -> None:
        self._bar.advance(self._task)

    def finish(self, written: int) -> None:
        self._bar.update(self._task, total=written, completed=written)


def _read_guide(model: HiDT, guide: Path, inference_size: int, quiet: bool) -> GuideStyles:
    info = probe_video(guide)
    with common.progress(quiet) as bar:
        task = bar.add_task(f"styles of {guide.name}", total=info.frame_count or None)
        return guide_styles(
            model,
            guide,
            sigma=GUIDE_SMOOTHING,
            inference_size=inference_size,
            advance=lambda n: bar.advance(task, n),
        )
