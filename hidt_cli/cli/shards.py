"""Splitting a file list across processes with no coordination: `--shard K/N` for job arrays
(Slurm, Kubernetes, Ray), a torchrun rank's own slice, and one slice per `--devices` entry."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

from hidt_cli.cli.common import fail

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
