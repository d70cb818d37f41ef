"""Work longer than a request — "apply to all", a timelapse — run one at a time on a thread,
with progress the page polls and a cancel that stops the work before its next item. Results
are files in the server's temporary folder, the oldest removed once more than KEEP are kept."""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

KEEP = 16


class Cancelled(Exception):
    """Raised inside a job's work when the job was cancelled."""


class UnknownJob(KeyError):
    def __str__(self) -> str:
        return f"no job with id {self.args[0]!r}"


@dataclass
class Job:
    """One piece of long work and what the page sees of it."""

    id: str
    kind: str
    total: int
    result: Path
    result_name: str
    media_type: str
    done: int = 0
    state: str = "queued"
    """queued → running → done, failed or cancelled."""
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    """One line per item that failed while the job went on."""
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def advance(self, n: int = 1) -> None:
        """Count n items done; stops the work here if the job was cancelled."""
        if self._cancel.is_set():
            raise Cancelled
        self.done += n

    def cancel(self) -> None:
        self._cancel.set()
        if self.state == "queued":
            self.state = "cancelled"

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def describe(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "error": self.error,
            "problems": list(self.problems),
            "result": f"/api/jobs/{self.id}/result" if self.state == "done" else None,
        }


Work = Callable[[Job], list[str] | None]
"""Writes job.result, calling job.advance as it goes; returns problems met on the way."""


class JobRunner:
    """A queue of jobs and the one thread that runs them in order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[tuple[Job, Work] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="hidt-serve-jobs", daemon=True)
        self._thread.start()

    def submit(self, kind: str, total: int, result_name: str, media_type: str, work: Work) -> Job:
        job_id = secrets.token_hex(8)
        suffix = Path(result_name).suffix
        job = Job(
            job_id, kind, total, self.folder / f"job-{job_id}{suffix}", result_name, media_type
        )
        with self._lock:
            self._jobs[job_id] = job
            self._forget_old()
        self._queue.put((job, work))
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(job_id)
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel()
        return job

    def close(self, timeout: float = 30.0) -> None:
        """Cancel every job and wait for the thread (it stops at the running job's next item)."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel()
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            job, work = item
            if job.state == "cancelled":
                continue
            job.state = "running"
            try:
                job.problems = work(job) or []
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except Exception as exc:  # noqa: BLE001 - the page shows the reason
                job.error, job.state = str(exc) or type(exc).__name__, "failed"
            if job.state != "done":
                job.result.unlink(missing_ok=True)

    def _forget_old(self) -> None:
        finished = [job for job in self._jobs.values() if job.finished]
        for job in finished[: max(0, len(finished) - KEEP)]:
            del self._jobs[job.id]
            job.result.unlink(missing_ok=True)
