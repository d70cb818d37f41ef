"""`hidt translate`: files, folders, globs or stdin to another time of day (videos: see
translate_video.py)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import sys
from collections import defaultdict
from concurrent.futures import CancelledError
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer

from hidt_cli.cli import common, translate_video
from hidt_cli.cli.batch import BackgroundWriter, BatchReport, Outcome, read_ahead
from hidt_cli.cli.common import fail
from hidt_cli.cli.shards import nested, parse_shard, take, torchrun_device, torchrun_shard
from hidt_cli.io.images import (
    DEFAULT_MAX_PIXELS,
    LoadedImage,
    encode_image,
    fit_alpha,
    format_for_path,
    read_image,
    write_image,
)
from hidt_cli.io.paths import (
    InputItem,
    expand_inputs,
    find_collisions,
    find_input_overwrites,
    output_path,
)
from hidt_cli.pipeline import HiDT, photo_tensor


@dataclass
class Job:
    """One input and the output file of each style applied to it."""

    item: InputItem
    outputs: list[Path]


@dataclass(frozen=True)
class TranslateOptions:
    """What the command line asked for, typed: one process's whole job, and what each
    per-device worker process receives (it pickles)."""

    inputs: list[str]
    style: Path | None
    preset: str | None
    style_code: str | None
    random: int | None
    seed: int | None
    guide: Path | None
    hires: bool
    output: Path | None
    output_dir: Path | None
    suffix: str | None
    fmt: str | None
    quality: int
    crf: int
    video_codec: str | None
    overwrite: bool
    recursive: bool
    batch_size: int | None
    native_size: bool
    plain_resize: bool
    max_pixels: int
    inference_size: int
    weights: str | None
    enhancer: str | None
    device: str
    fp32: bool
    shard: str | None
    devices: str | None
    quiet: bool


def translate(
    inputs: Annotated[
        list[str], typer.Argument(help="Photos, videos, folders, globs, or - for stdin.")
    ],
    style: common.StyleImage = None,
    preset: common.Preset = None,
    style_code: common.StyleCode = None,
    random: Annotated[
        int | None,
        typer.Option(
            "--random", help="N styles sampled from the prior per input.", rich_help_panel="Style"
        ),
    ] = None,
    seed: common.Seed = None,
    guide: translate_video.Guide = None,
    hires: common.Hires = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output file for a single result; - for stdout."),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-d", help="Folder for outputs (keeps the inputs' layout)."),
    ] = None,
    suffix: Annotated[
        str | None, typer.Option(help="Appended to each input's name; default: _<style>.")
    ] = None,
    fmt: common.Format = None,
    quality: common.Quality = 95,
    crf: translate_video.Crf = translate_video.DEFAULT_CRF,
    video_codec: translate_video.VideoCodec = None,
    overwrite: common.Overwrite = False,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Descend into sub-folders.")
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1, help="Photos or video frames per device batch; default 8 on GPU, 1 on CPU."
        ),
    ] = None,
    native_size: common.NativeSize = False,
    plain_resize: common.PlainResize = False,
    max_pixels: Annotated[
        int, typer.Option(help="Refuse inputs with more pixels than this.")
    ] = DEFAULT_MAX_PIXELS,
    inference_size: common.InferenceSize = 256,
    weights: common.Weights = None,
    enhancer: common.EnhancerOpt = None,
    device: common.Device = "auto",
    fp32: common.Fp32 = False,
    shard: Annotated[
        str | None,
        typer.Option(help="Convert only slice K/N (K from 0) of the inputs, for job arrays."),
    ] = None,
    devices: Annotated[
        str | None,
        typer.Option(help="Split the inputs over these devices, one process each: cuda:0,cuda:1."),
    ] = None,
    as_json: common.AsJson = False,
    quiet: common.Quiet = False,
    debug: common.Debug = False,
) -> None:
    """Translate photos and videos to another time of day (style image, preset, style code,
    random, or for videos a guide video)."""
    options = TranslateOptions(
        inputs=inputs,
        style=style,
        preset=preset,
        style_code=style_code,
        random=random,
        seed=seed,
        guide=guide,
        hires=hires,
        output=output,
        output_dir=output_dir,
        suffix=suffix,
        fmt=fmt,
        quality=quality,
        crf=crf,
        video_codec=video_codec,
        overwrite=overwrite,
        recursive=recursive,
        batch_size=batch_size,
        native_size=native_size,
        plain_resize=plain_resize,
        max_pixels=max_pixels,
        inference_size=inference_size,
        weights=weights,
        enhancer=enhancer,
        device=device,
        fp32=fp32,
        shard=shard,
        devices=devices,
        quiet=quiet,
    )
    with common.reported_errors(debug):
        if devices is not None:
            report, interrupted = _run_on_devices(options, devices)
        else:
            report, interrupted = _translate(options)
        code = report.finish(quiet=quiet, as_json=as_json, interrupted=interrupted)
        if interrupted:
            code = common.EXIT_INTERRUPTED
        elif not report.outcomes:
            fail("no inputs to translate", common.EXIT_INPUT)
        raise typer.Exit(code)


def _translate(options: TranslateOptions, on_progress=None) -> tuple[BatchReport, bool]:
    """The whole conversion for one process: plan, skip what exists, take this process's
    slice, translate. Returns the report and whether it was interrupted."""
    o = options
    inputs, output, output_dir, quiet = o.inputs, o.output, o.output_dir, o.quiet
    fmt, overwrite, inference_size = o.fmt, o.overwrite, o.inference_size
    shard = parse_shard(o.shard) if o.shard else torchrun_shard()
    device = o.device
    if device == "auto":
        device = torchrun_device() or device
    fmt = common.check_options(fmt, inference_size)
    if output is not None and output_dir is not None:
        fail("give either --output or --output-dir, not both")
    items, problems = expand_inputs(inputs, recursive=o.recursive, exclude=output_dir)
    translate_video.check_video_options(
        items,
        guide=o.guide,
        output=output,
        native_size=o.native_size,
        plain_resize=o.plain_resize,
    )
    model = common.load_model(o.weights, o.enhancer, device, o.fp32, hires=o.hires)
    choice = common.choose_style(
        model,
        style=o.style,
        preset=o.preset,
        style_code=o.style_code,
        random=o.random,
        seed=o.seed,
        inference_size=inference_size,
        required=o.guide is None,
        max_pixels=o.max_pixels,
    )
    if o.guide is not None and choice is not None:
        fail("give either --guide or another style option, not both")
    labels = [o.guide.stem] if choice is None else choice.labels  # clip_<guide>.mp4
    render = common.Render(
        o.hires,
        inference_size,
        o.native_size,
        fmt,
        o.quality,
        overwrite,
        o.plain_resize,
    )
    batch_size = o.batch_size or (8 if model.device.type == "cuda" else 1)
    to_stdout = output is not None and str(output) == "-"
    report = BatchReport()
    if shard is None or shard[0] == 0:  # one slice reports the inputs that matched nothing
        for problem in problems:
            report.add(Outcome(problem.split(":")[0], "failed", error=problem))
    jobs = _drop_earlier_results(
        _plan(items, labels, output, output_dir, o.suffix, fmt, report), quiet
    )
    jobs = take(jobs, shard)
    pending = [job for job in jobs if not _already_done(job, overwrite, to_stdout, report)]
    photos = [job for job in pending if not job.item.is_video]
    clips = translate_video.ClipSettings(
        render.spec,
        None if choice is None else choice.codes,
        o.guide,
        o.batch_size or translate_video.default_batch(model),
        o.crf,
        o.video_codec,
        overwrite,
        o.max_pixels,
        quiet,
    )
    try:
        if photos:
            _run(
                model,
                choice.codes,
                photos,
                render,
                batch_size,
                to_stdout,
                o.max_pixels,
                quiet,
                report,
                on_progress,
            )
        videos = [job for job in pending if job.item.is_video]
        translate_video.translate_clips(model, videos, clips, report, on_progress)
    except KeyboardInterrupt:
        return report, True
    return report, False


def _plan(items, labels, output, output_dir, suffix, fmt, report) -> list[Job]:
    """Name every output up front, so that collisions are refused before any work is done."""
    results = len(items) * len(labels)
    if output is not None and results != 1:
        fail(f"--output names one file but there are {results} results: use --output-dir")
    if output is not None and str(output) != "-" and not items[0].is_video:
        format_for_path(output)  # an unknown suffix is a usage error now, not after the work
    jobs: list[Job] = []
    for item in items:
        try:
            outputs = [
                output_path(
                    item,
                    output=output,
                    output_dir=output_dir,
                    suffix=_suffix(suffix, label, len(labels)),
                    fmt=fmt,
                )
                for label in labels
            ]
        except ValueError as exc:
            report.add(Outcome(str(item.path), "failed", error=str(exc)))
            continue
        jobs.append(Job(item, outputs))
    collisions = find_collisions((job.item, out) for job in jobs for out in job.outputs)
    if collisions:
        target, clashing = next(iter(collisions.items()))
        names = ", ".join(str(i.path) for i in clashing)
        fail(
            f"{target}: several inputs would write this output ({names}); use --output-dir or --suffix"
        )
    return jobs


def _drop_earlier_results(jobs: list[Job], quiet: bool) -> list[Job]:
    """An input that is another input's output is that output from an earlier run (a rerun
    over a folder holding its results), so it is not translated again."""
    pairs = [(job.item, target) for job in jobs for target in job.outputs]
    results = {os.path.realpath(target) for _, target in find_input_overwrites(pairs)}
    kept = []
    for job in jobs:
        if os.path.realpath(job.item.path) in results:
            common.note(f"{job.item.path}: not translated: it is another input's output", quiet)
        else:
            kept.append(job)
    return kept


def _suffix(user_suffix: str | None, label: str, count: int) -> str:
    if user_suffix is None:
        return f"_{label}"
    return f"{user_suffix}_{label}" if count > 1 else user_suffix


def _already_done(job: Job, overwrite: bool, to_stdout: bool, report: BatchReport) -> bool:
    """Outputs that exist are kept unless --overwrite, so a rerun resumes where it stopped."""
    if overwrite or to_stdout or not all(os.path.lexists(p) for p in job.outputs):
        return False
    report.add(Outcome(str(job.item.path), "skipped", [str(p) for p in job.outputs]))
    return True


def _read(job: Job, max_pixels: int) -> LoadedImage:
    if job.item.is_stdin:
        return read_image(sys.stdin.buffer.read(), max_pixels=max_pixels)
    return read_image(job.item.path, max_pixels=max_pixels)


def _run(
    model, codes, jobs, render, batch_size, to_stdout, max_pixels, quiet, report, on_progress=None
) -> None:
    """Read ahead → translate in batches of equal-sized photos → write behind. on_progress(n)
    hears of every n inputs done (a worker process reports to its parent through it)."""
    writer = BackgroundWriter()
    written: dict[int, list] = defaultdict(list)
    batch: list[tuple[Job, LoadedImage]] = []
    try:
        with common.progress(quiet) as bar:
            task = bar.add_task("translating", total=len(jobs))

            def advance(n: int = 1) -> None:
                bar.advance(task, n)
                if on_progress is not None:
                    on_progress(n)

            for job, loaded in read_ahead(jobs, lambda j: _read(j, max_pixels)):
                if isinstance(loaded, Exception):
                    report.add(Outcome(str(job.item.path), "failed", error=_one_line(loaded, job)))
                    advance()
                    continue
                for note in loaded.notes:
                    common.note(f"{job.item.path}: {note}", quiet)
                if batch and not _batchable(batch[0][1], loaded, codes):
                    _render(
                        model, codes, batch, render, batch_size, to_stdout, writer, written, report
                    )
                    advance(len(batch))
                    batch = []
                batch.append((job, loaded))
                if len(batch) >= batch_size or len(codes) > 1:
                    _render(
                        model, codes, batch, render, batch_size, to_stdout, writer, written, report
                    )
                    advance(len(batch))
                    batch = []
            if batch:
                _render(model, codes, batch, render, batch_size, to_stdout, writer, written, report)
                advance(len(batch))
            _settle(writer.drain(), jobs, written, report)
    except KeyboardInterrupt:
        writer.abort()
        _settle(writer.drain(), jobs, written, report)
        raise
    finally:
        writer.close()


def _batchable(first: LoadedImage, other: LoadedImage, codes) -> bool:
    return len(codes) == 1 and first.rgb.shape == other.rgb.shape


def _render(
    model: HiDT, codes, batch, render, batch_size, to_stdout, writer, written, report
) -> None:
    """Translate a batch of equal-sized photos (or one photo with several styles) and queue
    their outputs for writing."""
    images = torch.cat([photo_tensor(loaded.rgb, model.device) for _, loaded in batch])
    styles = codes if len(codes) > 1 else codes.expand(len(batch), -1)
    try:
        pixels = np.concatenate(list(model.render(images, styles, render.spec, batch_size)))
    except (RuntimeError, ValueError) as exc:
        for job, _ in batch:
            report.add(Outcome(str(job.item.path), "failed", error=f"{job.item.path}: {exc}"))
        return
    for b, (job, loaded) in enumerate(batch):
        results = pixels[b : b + 1] if len(codes) == 1 else pixels
        alpha = fit_alpha(loaded.alpha, results.shape[1:3])
        for rgb, target in zip(results, job.outputs, strict=True):
            if to_stdout:
                data = encode_image(
                    rgb,
                    alpha,
                    fmt=render.fmt or "png",
                    quality=render.quality,
                    icc_profile=loaded.icc_profile,
                )
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
                written[id(job)].append((target, None))
                continue
            writer.submit(
                (id(job), target),
                write_image,
                target,
                rgb,
                alpha,
                fmt=render.fmt,
                quality=render.quality,
                icc_profile=loaded.icc_profile,
                overwrite=render.overwrite,
            )


def _settle(done, jobs: list[Job], written, report: BatchReport) -> None:
    """Turn finished writes into one outcome per input (converted only if every output was)."""
    for (job_id, target), error in done:
        if not isinstance(error, CancelledError):
            written[job_id].append((target, error))
    for job in jobs:
        results = written.pop(id(job), None)
        if not results:
            continue
        errors = [e for _, e in results if e is not None]
        if errors:
            report.add(Outcome(str(job.item.path), "failed", error=_one_line(errors[0], job)))
        elif len(results) == len(job.outputs):
            report.add(Outcome(str(job.item.path), "converted", [str(t) for t, _ in results]))


def _one_line(exc: Exception, job: Job) -> str:
    text = str(exc)
    return (
        text if text.startswith(str(job.item.path)) or ": " in text else f"{job.item.path}: {text}"
    )


def _run_on_devices(options: TranslateOptions, devices: str) -> tuple[BatchReport, bool]:
    """One worker process per device, each converting its own slice (within --shard, if
    given); their progress feeds one bar here and their reports merge into one."""
    names = [d.strip() for d in devices.split(",") if d.strip()]
    if not names:
        fail("--devices needs at least one device")
    if options.output is not None:
        fail("--devices converts folders: use --output-dir, not --output")
    outer = parse_shard(options.shard) if options.shard else torchrun_shard()
    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    manager = context.Manager()
    progress = manager.Queue()
    jobs = []
    for i, name in enumerate(names):
        index, count = nested(outer, i, len(names))
        child = replace(options, device=name, shard=f"{index}/{count}", devices=None)
        jobs.append((child, progress))
    report, interrupted = BatchReport(), False
    with (
        context.Pool(len(names)) as pool,
        common.progress(options.quiet) as bar,
    ):
        task = bar.add_task(f"translating on {len(names)} devices", total=None)
        pending = pool.map_async(_device_worker, jobs)
        try:
            while not pending.ready() or not progress.empty():
                with contextlib.suppress(queue.Empty):
                    bar.advance(task, progress.get(timeout=0.2))
            results = pending.get()
        except KeyboardInterrupt:
            pool.terminate()
            return report, True
    for outcomes, stopped in results:  # failures were already printed by the workers
        report.outcomes.extend(Outcome(**outcome) for outcome in outcomes)
        interrupted = interrupted or stopped
    return report, interrupted


def _device_worker(job: tuple[TranslateOptions, object]) -> tuple[list[dict], bool]:
    """Runs in a worker process: its slice on its device, quietly, reporting progress."""
    options, progress = job
    report, interrupted = _translate(replace(options, quiet=True), on_progress=progress.put)
    return [asdict(o) for o in report.outcomes], interrupted
