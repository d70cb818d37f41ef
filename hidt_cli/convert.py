"""Converting a batch of planned photo jobs: read ahead on threads, translate equal-sized
photos together through the render core, write behind on threads, keep going past bad
files, and report each input's outcome once all its outputs are written."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass

import numpy as np
import torch

from hidt_cli.concurrency import Behind, in_order
from hidt_cli.io.errors import OutputExistsError
from hidt_cli.io.images import LoadedImage, read_image
from hidt_cli.io.output import OutputSettings, encode_result, save_result, source_pixels
from hidt_cli.model import HiDT
from hidt_cli.outcomes import Outcome, Report, one_line
from hidt_cli.plan import Job
from hidt_cli.ranges import photo_tensor
from hidt_cli.recipes import recorded
from hidt_cli.render import RenderSpec

READ_WORKERS, READ_DEPTH = 2, 4
"""Photos decoded at once, and decoded ahead of the device."""


@dataclass(frozen=True)
class PhotoWork:
    """What a batch of photos is converted with."""

    codes: torch.Tensor
    """K×style_dim: each photo is rendered in every one of these styles."""
    spec: RenderSpec
    output: OutputSettings
    batch: int
    """Equal-sized photos through the networks at once (one style)."""
    max_pixels: int
    to_stdout: bool = False
    """Write the one result's encoding on stdout instead of a file."""


def convert_photos(
    model: HiDT,
    jobs: list[Job],
    work: PhotoWork,
    report: Report,
    *,
    note: Callable[[str], None] = lambda line: None,
    advance: Callable[[int], None] = lambda n: None,
) -> None:
    """Read ahead → translate in batches of equal-sized photos → write behind. `advance(n)`
    hears of every n inputs done; an interrupt lets running writes finish, drops the rest,
    reports what is complete and is raised again."""
    writer: Behind[tuple[int, object]] = Behind()
    written: dict[int, list] = defaultdict(list)
    batch: list[tuple[Job, LoadedImage]] = []

    def flush() -> None:
        _render(model, batch, work, writer, written, report)
        advance(len(batch))
        batch.clear()

    try:
        reads = in_order(
            lambda job: _read(job, work.max_pixels),
            jobs,
            READ_WORKERS,
            depth=READ_DEPTH,
            keep_errors=True,
        )
        for job, loaded in reads:
            if isinstance(loaded, Exception):
                report(Outcome(str(job.item.path), "failed", error=one_line(loaded, job.item.path)))
                advance(1)
                continue
            for line in loaded.notes:
                note(f"{job.item.path}: {line}")
            if batch and not _batchable(batch[0][1], loaded, work.codes):
                flush()
            batch.append((job, loaded))
            if len(batch) >= work.batch or len(work.codes) > 1:
                flush()
        if batch:
            flush()
        _settle(writer.drain(), jobs, written, report)
    except KeyboardInterrupt:
        writer.abort()
        _settle(writer.drain(), jobs, written, report)
        raise
    finally:
        writer.close()


def _read(job: Job, max_pixels: int) -> LoadedImage:
    if job.item.is_stdin:
        return read_image(sys.stdin.buffer.read(), max_pixels=max_pixels)
    return read_image(job.item.path, max_pixels=max_pixels)


def _batchable(first: LoadedImage, other: LoadedImage, codes: torch.Tensor) -> bool:
    same = source_pixels(first).shape == source_pixels(other).shape
    return len(codes) == 1 and same and first.deep is None and other.deep is None


def _render(
    model: HiDT,
    batch: list[tuple[Job, LoadedImage]],
    work: PhotoWork,
    writer: Behind,
    written: dict[int, list],
    report: Report,
) -> None:
    """Translate a batch of equal-sized photos (or one photo with several styles) and queue
    their outputs for writing."""
    codes = work.codes
    photos = torch.cat([photo_tensor(source_pixels(loaded), model.device) for _, loaded in batch])
    styles = codes if len(codes) > 1 else codes.expand(len(batch), -1)
    try:
        pixels = np.concatenate(list(model.render(photos, styles, work.spec, work.batch)))
    except (RuntimeError, ValueError) as exc:
        for job, _ in batch:
            report(Outcome(str(job.item.path), "failed", error=f"{job.item.path}: {exc}"))
        return
    for b, (job, loaded) in enumerate(batch):
        results = pixels[b : b + 1] if len(codes) == 1 else pixels
        for rgb, target, recipe in zip(results, job.outputs, job.recipes, strict=True):
            if work.to_stdout:
                fmt = work.output.fmt or "png"
                sys.stdout.buffer.write(encode_result(rgb, loaded, work.output, fmt, recipe))
                sys.stdout.buffer.flush()
                written[id(job)].append((target, None))
            else:
                key = (id(job), target)
                writer.submit(key, save_result, target, rgb, loaded, work.output, recipe)


def _settle(done, jobs: list[Job], written: dict[int, list], report: Report) -> None:
    """Turn finished writes into one outcome per input (converted only if every output was)."""
    for (job_id, target), error in done:
        if not isinstance(error, CancelledError):
            written[job_id].append((target, error))
    for job in jobs:
        results = written.pop(id(job), None)
        if not results:
            continue
        recipes = dict(zip(job.outputs, job.recipes, strict=True))
        errors = [e for t, e in results if e is not None and not _made_meanwhile(e, t, recipes)]
        outputs = [str(t) for t, _ in results]
        if errors:
            report(Outcome(str(job.item.path), "failed", error=one_line(errors[0], job.item.path)))
        elif len(results) == len(job.outputs):
            made = all(e is None for _, e in results)
            report(Outcome(str(job.item.path), "converted" if made else "skipped", outputs))


def _made_meanwhile(error: Exception, target, recipes) -> bool:
    """An output another run finished while this one worked, made the same way: this run's
    result is there, so the input is skipped rather than failed."""
    return isinstance(error, OutputExistsError) and recorded(target) == recipes[target]
