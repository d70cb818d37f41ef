"""Running a command over many files: read ahead on worker threads, write behind on others,
keep going past bad files, and report what happened to each."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from hidt_cli.cli.common import EXIT_OK, EXIT_SOME_FAILED, print_json, stderr

T = TypeVar("T")
K = TypeVar("K")


@dataclass
class Outcome:
    input: str
    status: str  # converted | skipped | failed
    outputs: list[str] = field(default_factory=list)
    error: str | None = None


class BatchReport:
    """What happened to each input; the exit code and the summary come from it."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def add(self, outcome: Outcome, quiet: bool = False) -> None:
        self.outcomes.append(outcome)
        if outcome.status == "failed":  # failures are printed even with --quiet
            stderr.print(f"hidt: error: {outcome.error}", style="red", markup=False, soft_wrap=True)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.count("failed") else EXIT_OK

    def summary(self) -> str:
        parts = [f"{self.count('converted')} converted"]
        if skipped := self.count("skipped"):
            parts.append(f"{skipped} skipped (output exists; --overwrite to redo)")
        if failed := self.count("failed"):
            parts.append(f"{failed} failed")
        return ", ".join(parts)

    def finish(self, *, quiet: bool, as_json: bool, interrupted: bool = False) -> int:
        """Print the summary (stderr) and the JSON report (stdout); return the exit code."""
        if as_json:
            print_json(
                {
                    "converted": self.count("converted"),
                    "skipped": self.count("skipped"),
                    "failed": self.count("failed"),
                    "interrupted": interrupted,
                    "files": [asdict(o) for o in self.outcomes],
                }
            )
        if not quiet or interrupted:
            prefix = "interrupted: " if interrupted else ""
            stderr.print(f"{prefix}{self.summary()}", markup=False)
        return self.exit_code


def read_ahead(
    items: Iterable[K], read: Callable[[K], T], *, workers: int = 2, depth: int = 4
) -> Iterator[tuple[K, T | Exception]]:
    """Yield (item, read(item) or the exception it raised) in order, decoding up to `depth`
    items ahead on worker threads so that the device does not wait for the disk."""
    pending: deque[tuple[K, Future]] = deque()
    source = iter(items)
    with ThreadPoolExecutor(workers, thread_name_prefix="hidt-read") as pool:
        try:
            while True:
                while len(pending) < depth and (item := next(source, None)) is not None:
                    pending.append((item, pool.submit(read, item)))
                if not pending:
                    return
                item, future = pending.popleft()
                try:
                    yield item, future.result()
                except Exception as exc:  # noqa: BLE001 - handed to the caller per item
                    yield item, exc
        finally:
            for _, future in pending:
                future.cancel()


class BackgroundWriter:
    """Encodes and writes outputs on worker threads while the device computes the next batch.

    At most `max_pending` writes wait at once, which bounds the memory held by finished
    images. On an interrupt, writes not yet started are dropped and running ones finish,
    so every output file is either complete or absent.
    """

    def __init__(self, workers: int = 2, max_pending: int = 8) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="hidt-write")
        self._pending: deque[tuple[object, Future]] = deque()
        self._done: list[tuple[object, Exception | None]] = []
        self._max_pending = max_pending

    def submit(self, key: object, fn: Callable[..., object], *args, **kwargs) -> None:
        while len(self._pending) >= self._max_pending:
            self._settle_oldest()
        self._pending.append((key, self._pool.submit(fn, *args, **kwargs)))

    def _settle_oldest(self) -> None:
        key, future = self._pending.popleft()
        try:
            future.result()
            self._done.append((key, None))
        except Exception as exc:  # noqa: BLE001 - reported per output
            self._done.append((key, exc))

    def drain(self) -> list[tuple[object, Exception | None]]:
        """Wait for every write; return (key, error or None) for all writes since the last drain."""
        while self._pending:
            self._settle_oldest()
        done, self._done = self._done, []
        return done

    def abort(self) -> None:
        """Drop writes that have not started and wait for the running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
