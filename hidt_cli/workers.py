"""Work side by side on a CPU: torch's threads become single-threaded workers, each taking a
whole job (a batch of frames) while results are handed on in order. OpenMP threads spin
between layers and split small per-band passes into fork/join steps that cost more than the
work; whole jobs side by side keep every core busy and leave room for the threads that
decode and encode."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


def in_order(call: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[tuple[T, R]]:
    """(item, call(item)) in order, with up to `workers` calls running at once on threads
    (one more item is taken while the caller handles a result)."""
    if workers <= 1:
        yield from ((item, call(item)) for item in items)
        return
    pending: deque[tuple[T, Future[R]]] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="hidt-worker") as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(call, item)))
                if len(pending) > workers:  # all workers busy while the caller works
                    first, future = pending.popleft()
                    yield first, future.result()
            while pending:
                first, future = pending.popleft()
                yield first, future.result()
        finally:
            for _, future in pending:
                future.cancel()


@contextmanager
def one_thread_per_worker(device: torch.device) -> Iterator[int]:
    """How many workers `in_order` should use here. On a CPU, torch's threads become that
    many single-threaded workers for the duration (restored after): on a busy 2-core machine
    a 720p video frame took 1.8 s of CPU with two OpenMP threads per call, 0.6 s with two
    single-threaded workers. Elsewhere: one worker."""
    if device.type != "cpu":
        yield 1
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield threads
    finally:
        torch.set_num_threads(threads)
