"""Work that overlaps, in one place: files and frames decoded ahead of the device, results
encoded and written behind it, and on a CPU whole jobs side by side on single-threaded
workers. Every queue is bounded, so memory holds a few items whatever the input's length.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Generic, TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K")

_POLL_S = 0.1
"""How often a blocked producer looks whether its consumer has gone."""
_ITEM, _ERROR, _DONE = object(), object(), object()


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """Yield what `items` yields, computed up to `depth` items ahead on a thread (a video's
    frames decoding while the device works).

    Errors raised by `items` come out of this iterator at the point they happened; closing it
    early (break, an error in the consumer) stops and joins the thread.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(
        target=_produce, args=(items, slots, stop), name="hidt-prefetch", daemon=True
    )
    thread.start()
    try:
        while True:
            kind, value = slots.get()
            if kind is _DONE:
                return
            if kind is _ERROR:
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


def _produce(items: Iterator[T], slots: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not _offer(slots, (_ITEM, item), stop):
                return
        _offer(slots, (_DONE, None), stop)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
        _offer(slots, (_ERROR, exc), stop)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _offer(slots: queue.Queue, entry: tuple, stop: threading.Event) -> bool:
    """Put unless the consumer has gone; False when it has."""
    while not stop.is_set():
        try:
            slots.put(entry, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def in_order(
    call: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    *,
    depth: int | None = None,
    keep_errors: bool = False,
) -> Iterator[tuple[T, R]]:
    """(item, call(item)) in the items' order, with up to `workers` calls running at once on
    threads and `depth` items (default workers + 1) started before one is handed over.
    keep_errors: an item whose call raised is handed over with the exception as its result
    (a batch of files goes on past a bad one); otherwise the exception is raised here.
    One worker without keep_errors calls on this thread."""
    if workers <= 1 and not keep_errors:
        yield from ((item, call(item)) for item in items)
        return
    depth = depth or workers + 1
    pending: deque[tuple[T, Future[R]]] = deque()
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="hidt-worker") as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(call, item)))
                if len(pending) >= depth:
                    yield _result(*pending.popleft(), keep_errors)
            while pending:
                yield _result(*pending.popleft(), keep_errors)
        finally:
            for _, future in pending:
                future.cancel()


def _result(item: T, future: Future[R], keep_errors: bool) -> tuple[T, R]:
    if not keep_errors:
        return item, future.result()
    try:
        return item, future.result()
    except Exception as exc:  # noqa: BLE001 - handed to the caller with its item
        return item, exc


class Behind(Generic[K]):
    """Calls run on worker threads behind the caller — results encoded and written while the
    device computes the next ones — with at most `depth` waiting, which bounds the memory
    held by finished results. Each call's outcome is kept under its key. On an interrupt,
    `abort` drops the calls not yet started and waits for the running ones, so every output
    is either complete or absent."""

    def __init__(self, workers: int = 2, depth: int = 8, name: str = "hidt-write") -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._pending: deque[tuple[K, Future]] = deque()
        self._done: list[tuple[K, Exception | None]] = []
        self._depth = depth

    def submit(self, key: K, fn: Callable[..., object], *args, **kwargs) -> None:
        """Queue fn(*args, **kwargs), first waiting while `depth` calls are waiting."""
        while len(self._pending) >= self._depth:
            self._settle(self._pending.popleft())
        self._pending.append((key, self._pool.submit(fn, *args, **kwargs)))

    def drain(self) -> list[tuple[K, Exception | None]]:
        """Wait for every call; (key, error or None) of all calls since the last drain."""
        while self._pending:
            self._settle(self._pending.popleft())
        done, self._done = self._done, []
        return done

    def raise_error(self) -> None:
        """Raise the first error of the calls finished so far, dropping the rest: for a
        stream that cannot go on past one failure (a video's encoder)."""
        while self._pending and self._pending[0][1].done():
            self._settle(self._pending.popleft())
        for _, error in self._done:
            if error is not None:
                self.abort()
                raise error

    def abort(self) -> None:
        """Drop the calls that have not started and wait for the running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _settle(self, entry: tuple[K, Future]) -> None:
        key, future = entry
        try:
            future.result()
            self._done.append((key, None))
        except Exception as exc:  # noqa: BLE001 - reported per call
            self._done.append((key, exc))


@contextmanager
def one_thread_per_worker(device: torch.device) -> Iterator[int]:
    """How many workers `in_order` should use here. On a CPU, torch's threads become that
    many single-threaded workers for the duration (restored after): OpenMP threads spin
    between layers and split small per-band passes into fork/join steps that cost more than
    the work (on a busy 2-core machine a 720p video frame took 1.8 s of CPU with two OpenMP
    threads per call, 0.6 s with two single-threaded workers). Elsewhere: one worker."""
    if device.type != "cpu":
        yield 1
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield threads
    finally:
        torch.set_num_threads(threads)
