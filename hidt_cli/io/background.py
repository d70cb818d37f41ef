"""One side of a producer/consumer pair on its own thread, joined by a bounded queue, so that
decoding, computing and encoding a video overlap without ever holding the whole clip."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.1
"""How often a blocked side looks whether the other one has stopped."""
_ITEM, _ERROR, _DONE = object(), object(), object()


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """Yield what `items` yields, computed up to `depth` items ahead on a thread.

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


class Worker(Generic[T]):
    """Runs `handle(item)` on a thread for every item `put`, in order, at most `depth` behind.

    An error in `handle` stops the thread; it is raised in the caller by the next `put` or by
    `finish`. `abort` drops what is queued and joins without raising.
    """

    def __init__(self, handle: Callable[[T], None], depth: int, name: str = "hidt-worker") -> None:
        self._handle = handle
        self._slots: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Queue one item, waiting while the queue is full."""
        while True:
            self._raise_error()
            if not self._thread.is_alive():
                raise RuntimeError("the worker thread has stopped")
            try:
                self._slots.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait until every queued item is handled; raise the error that stopped the thread."""
        if self._thread.is_alive():
            self.put(_DONE)  # type: ignore[arg-type]
            self._thread.join()
        self._raise_error()

    def abort(self) -> None:
        """Stop after the item in hand, dropping the rest."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._slots.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            try:
                self._handle(item)
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                self._error = exc
                return

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error
