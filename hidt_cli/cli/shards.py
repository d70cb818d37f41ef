"""Splitting a file list across processes with no coordination: `--shard K/N` for job arrays
(Slurm, Kubernetes, Ray), a torchrun rank's own slice, and one worker process per
`--devices` entry whose reports merge into one."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import TypeVar

from hidt_cli.cli import common
from hidt_cli.cli.batch import BatchReport
from hidt_cli.cli.common import fail
from hidt_cli.cli.options import ModelOptions
from hidt_cli.outcomes import Outcome

T = TypeVar("T")
Shard = tuple[int, int]  # (index K counted from 0, count N)


def parse_shard(text: str) -> Shard:
    """'3/10' → (3, 10); K counts from 0, as job-array indices usually do."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        fail(f"--shard {text!r}: expected K/N, e.g. 0/4")
    if count < 1 or not 0 <= index < count:
        fail(f"--shard {text}: K must be in 0..N-1")
    return index, count


def torchrun_shard() -> Shard | None:
    """Under torchrun each rank takes its own slice without being told."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return (int(os.environ.get("RANK", "0")), world) if world > 1 else None


def torchrun_device() -> str | None:
    """The GPU torchrun assigned to this rank, when there is one."""
    if torchrun_shard() is None:
        return None
    import torch

    return f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if torch.cuda.is_available() else None


def take(items: Sequence[T], shard: Shard | None) -> list[T]:
    """Every N-th item from the K-th: slices interleave, so a folder sorted by date or size
    spreads evenly, and the slices of one list never overlap and cover it whole."""
    if shard is None:
        return list(items)
    index, count = shard
    return list(items[index::count])


def nested(outer: Shard | None, inner_index: int, inner_count: int) -> Shard:
    """Slice `inner_index` of `inner_count` within an outer slice, as one slice of the whole
    list (taking i of n from K of N is taking K + N·i of N·n)."""
    index, count = outer or (0, 1)
    return index + count * inner_index, count * inner_count


def this_process_slice(text: str | None) -> Shard | None:
    """The slice this process converts: --shard K/N, or a torchrun rank's own."""
    return parse_shard(text) if text else torchrun_shard()


def this_process_model(options: ModelOptions) -> ModelOptions:
    """Under torchrun, `--device auto` means this rank's own GPU."""
    if options.device != "auto":
        return options
    return replace(options, device=torchrun_device() or options.device)


Convert = Callable[..., tuple[BatchReport, bool]]
"""One process's conversion of a request (translate.convert): (report, interrupted)."""


def run_on_devices(request, devices: str, convert: Convert) -> tuple[BatchReport, bool]:
    """One worker process per device, each converting its own slice (within --shard, if
    given); their progress feeds one bar here and their reports merge into one."""
    names = [d.strip() for d in devices.split(",") if d.strip()]
    if not names:
        fail("--devices needs at least one device")
    if request.destination.output is not None:
        fail("--devices converts folders: use --output-dir, not --output")
    outer = this_process_slice(request.batch.shard)
    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    manager = context.Manager()
    progress = manager.Queue()
    jobs = []
    for i, name in enumerate(names):
        index, count = nested(outer, i, len(names))
        child = replace(
            request,
            model=replace(request.model, device=name),
            batch=replace(request.batch, shard=f"{index}/{count}", devices=None),
            quiet=True,
        )
        jobs.append((convert, child, progress))
    report, interrupted = BatchReport(), False
    with context.Pool(len(names)) as pool, common.progress(request.quiet) as bar:
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


def _device_worker(job) -> tuple[list[dict], bool]:
    """Runs in a worker process: its slice on its device, quietly, reporting progress."""
    convert, request, progress = job
    report, interrupted = convert(request, on_progress=progress.put)
    return [asdict(o) for o in report.outcomes], interrupted
