"""`hidt translate`: files, folders, globs or stdin to another time of day — photos through
convert.py, videos through the clip path (cli/video.py) — planned up front (plan.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from hidt_cli.cli import common, shards, video
from hidt_cli.cli.batch import BatchReport
from hidt_cli.cli.common import fail
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import (
    FileOptions,
    Guide,
    ModelOptions,
    OutputDir,
    RenderOptions,
    ReportOptions,
    Seed,
    StyleOptions,
    VideoOptions,
)
from hidt_cli.clips import ClipOutput
from hidt_cli.convert import PhotoWork, convert_photos
from hidt_cli.io.images import DEFAULT_MAX_PIXELS
from hidt_cli.io.output import OutputSettings
from hidt_cli.io.paths import expand_inputs
from hidt_cli.model import HiDT
from hidt_cli.outcomes import Outcome
from hidt_cli.plan import Naming, Settings, already_done, earlier_results, plan_jobs
from hidt_cli.render import batch_size


@dataclass(frozen=True)
class Destination:
    """Where the results go."""

    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output file for a single result; - for stdout."),
    ] = None
    output_dir: OutputDir = None
    suffix: Annotated[
        str | None,
        typer.Option("--suffix", help="Appended to each input's name; default: _<style>."),
    ] = None


@dataclass(frozen=True)
class Batch:
    """Which inputs, how many at once, and which slice of them this run converts."""

    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Descend into sub-folders.")
    ] = False
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help="Photos or video frames per device batch; default 8 on GPU, 1 on CPU.",
        ),
    ] = None
    max_pixels: Annotated[
        int, typer.Option("--max-pixels", help="Refuse inputs with more pixels than this.")
    ] = DEFAULT_MAX_PIXELS
    shard: Annotated[
        str | None,
        typer.Option(help="Convert only slice K/N (K from 0) of the inputs, for job arrays."),
    ] = None
    devices: Annotated[
        str | None,
        typer.Option(help="Split the inputs over these devices, one process each: cuda:0,cuda:1."),
    ] = None


@dataclass(frozen=True)
class Request:
    """Everything one `hidt translate` asked for: the whole job of one process, and what each
    per-device worker process receives (it pickles)."""

    inputs: list[str]
    style: StyleOptions
    random: int | None
    seed: int | None
    guide: Path | None
    render: RenderOptions
    destination: Destination
    files: FileOptions
    video: VideoOptions
    batch: Batch
    model: ModelOptions
    quiet: bool


@grouped
def translate(
    inputs: Annotated[
        list[str], typer.Argument(help="Photos, videos, folders, globs, or - for stdin.")
    ],
    *,
    style: StyleOptions,
    random: Annotated[
        int | None,
        typer.Option(
            "--random", help="N styles sampled from the prior per input.", rich_help_panel="Style"
        ),
    ] = None,
    seed: Seed = None,
    guide: Guide = None,
    render: RenderOptions,
    destination: Destination,
    files: FileOptions,
    video_options: VideoOptions,
    batch: Batch,
    model: ModelOptions,
    report: ReportOptions,
) -> None:
    """Translate photos and videos to another time of day (style image, preset, style code,
    random, or for videos a guide video)."""
    request = Request(
        inputs,
        style,
        random,
        seed,
        guide,
        render,
        destination,
        files,
        video_options,
        batch,
        model,
        report.quiet,
    )
    with common.reported_errors(report.debug):
        if batch.devices is not None:
            outcome, interrupted = shards.run_on_devices(request, batch.devices, convert)
        else:
            outcome, interrupted = convert(request)
        code = outcome.finish(quiet=report.quiet, as_json=report.as_json, interrupted=interrupted)
        if interrupted:
            code = common.EXIT_INTERRUPTED
        elif not outcome.outcomes:
            fail("no inputs to translate", common.EXIT_INPUT)
        raise typer.Exit(code)


def convert(request: Request, on_progress=None) -> tuple[BatchReport, bool]:
    """The whole conversion for one process: plan, skip what exists, take this process's
    slice, translate. Returns the report and whether it was interrupted."""
    r = request
    output = _check_request(r)
    items, problems = expand_inputs(
        r.inputs, recursive=r.batch.recursive, exclude=r.destination.output_dir
    )
    video.check_video_options(
        items,
        guide=r.guide,
        output=r.destination.output,
        native_size=r.render.native_size,
        plain_resize=r.render.plain_resize,
    )
    hires = "--hires" if r.render.hires else None
    model = common.load_model(shards.this_process_model(r.model), enhancer_for=hires)
    choice = common.choose_style(
        model,
        r.style,
        random=r.random,
        seed=r.seed,
        inference_size=r.model.inference_size,
        required=r.guide is None,
        max_pixels=r.batch.max_pixels,
    )
    if r.guide is not None and choice is not None:
        fail("give either --guide or another style option, not both")
    report = BatchReport()
    styles = [common.guide_style(r.guide)] if choice is None else choice.styles
    jobs = _plan(r, items, problems, styles, _settings(r, model, output), output, report)
    codes = None if choice is None else choice.codes
    try:
        _run(r, model, jobs, codes, output, report, on_progress or (lambda n: None))
    except KeyboardInterrupt:
        return report, True
    return report, False


def _check_request(r: Request) -> OutputSettings:
    """Usage errors found before any file is read or model loaded; the output settings."""
    output = r.files.settings()
    where = r.destination
    if where.output is not None and where.output_dir is not None:
        fail("give either --output or --output-dir, not both")
    if where.output_dir is not None and where.output_dir.exists() and not where.output_dir.is_dir():
        fail(f"{where.output_dir}: --output-dir names a file, not a folder")
    if where.suffix is not None and (
        {"/", "\\", os.sep} & set(where.suffix) or ".." in where.suffix
    ):
        fail(f"--suffix {where.suffix!r}: a suffix is part of a file name: no '/', '\\' or '..'")
    common.check_style_request(r.style, random=r.random, seed=r.seed)
    return output


def _settings(r: Request, model: HiDT, output: OutputSettings) -> Settings:
    """What every output's recipe shares: render and file settings and the weights."""
    render = r.render
    weights = model.info.generator.sha256[:16] if model.info else "unknown"
    if render.hires and model.info and model.info.enhancer:
        weights += f"+{model.info.enhancer.sha256[:16]}"
    return Settings(
        render=f"hires={render.hires:d} size={r.model.inference_size} "
        f"native={render.native_size:d} plain={render.plain_resize:d}",
        weights=weights,
        photo_output=f"{{format}} quality={output.quality} depth={output.bit_depth} "
        f"strip={output.strip_metadata:d}",
        clip_output=f"mp4 crf={r.video.crf} codec={r.video.video_codec}",
    )


def _plan(r: Request, items, problems, styles, settings, output, report: BatchReport) -> list:
    """This process's jobs still to do; the others reported (failed to name, skipped)."""
    shard = shards.this_process_slice(r.batch.shard)
    if shard is None or shard[0] == 0:  # one slice reports the inputs that matched nothing
        for problem in problems:
            report.add(Outcome(problem.split(":")[0], "failed", error=problem))
    where = r.destination
    naming = Naming(where.output, where.output_dir, where.suffix, output.fmt)
    jobs, dropped = earlier_results(plan_jobs(items, styles, settings, naming, report.add))
    for job in dropped:
        common.note(f"{job.item.path}: not translated: it is an output of hidt", r.quiet)
    pending = []
    for job in shards.take(jobs, shard):
        done = False if _to_stdout(r) else already_done(job, output.overwrite)
        if done is True:
            report.add(Outcome(str(job.item.path), "skipped", [str(p) for p in job.outputs]))
        elif done:
            report.add(Outcome(str(job.item.path), "failed", error=done))
        else:
            pending.append(job)
    return pending


def _run(r: Request, model, jobs, codes, output, report: BatchReport, advance) -> None:
    """Photos first (read ahead, batched, written behind), then clips one by one."""
    spec = r.render.spec(r.model.inference_size)
    frames = r.batch.batch_size or batch_size(model.device)
    photos = [job for job in jobs if not job.item.is_video]
    if photos:
        work = PhotoWork(codes, spec, output, frames, r.batch.max_pixels, _to_stdout(r))
        with common.progress(r.quiet) as bar:
            task = bar.add_task("translating", total=len(photos))

            def done(n: int) -> None:
                bar.advance(task, n)
                advance(n)

            def note(line: str) -> None:
                common.note(line, r.quiet)

            convert_photos(model, photos, work, report.add, note=note, advance=done)
    clips = [job for job in jobs if job.item.is_video]
    clip_output = ClipOutput(r.video.crf, r.video.video_codec, output.overwrite, r.batch.max_pixels)
    work = video.ClipWork(spec, clip_output, frames, r.quiet)
    video.convert_clips(model, clips, codes, r.guide, work, report.add, advance)


def _to_stdout(r: Request) -> bool:
    return r.destination.output is not None and str(r.destination.output) == "-"
