"""Work that overlaps: results come back in the order the jobs were given, whichever
finishes first; errors reach the caller or stay with their item; calls behind the caller are
bounded and can be dropped; torch's thread count is restored after."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError

import pytest
import torch

from hidt_cli.concurrency import Behind, in_order, one_thread_per_worker, prefetched


def test_results_come_back_in_order_while_jobs_overlap():
    """Job 0 can only finish once job 1 has started: with two workers both run at once, and
    job 1's earlier result still waits for job 0's."""
    second_started = threading.Event()
    finished: list[int] = []

    def call(item: int) -> int:
        if item == 1:
            second_started.set()
        if item == 0 and not second_started.wait(timeout=10):
            raise AssertionError("the jobs did not run side by side")
        finished.append(item)
        return item * 10

    results = list(in_order(call, range(5), workers=2))
    assert results == [(i, i * 10) for i in range(5)]
    assert finished[0] == 1  # job 1 did finish first


def test_one_worker_runs_in_the_callers_thread():
    threads = []
    results = list(in_order(lambda i: threads.append(threading.get_ident()) or i, [3, 1], 1))
    assert results == [(3, 3), (1, 1)]
    assert set(threads) == {threading.get_ident()}


def test_a_failing_job_raises_in_the_caller():
    def call(item: int) -> int:
        if item == 2:
            raise ValueError("bad frame")
        return item

    with pytest.raises(ValueError, match="bad frame"):
        list(in_order(call, range(6), workers=2))


def test_torch_threads_become_workers_and_are_restored():
    before = torch.get_num_threads()
    with one_thread_per_worker(torch.device("cpu")) as workers:
        assert workers == before
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with one_thread_per_worker(torch.device("meta")) as workers:
        assert workers == 1


def test_kept_errors_stay_with_their_item_and_the_rest_goes_on():
    def read(item: int) -> int:
        if item == 1:
            raise OSError("truncated")
        return item

    results = list(in_order(read, range(4), workers=2, depth=3, keep_errors=True))
    assert [item for item, _ in results] == [0, 1, 2, 3]
    assert isinstance(results[1][1], OSError)
    assert [value for _, value in results if not isinstance(value, Exception)] == [0, 2, 3]


def test_prefetched_runs_ahead_on_a_thread_and_raises_where_the_error_was():
    def frames():
        yield threading.get_ident()
        yield threading.get_ident()
        raise ValueError("damaged packet")

    items = prefetched(frames(), depth=2)
    assert next(items) != threading.get_ident() and next(items) != threading.get_ident()
    with pytest.raises(ValueError, match="damaged packet"):
        next(items)


def test_calls_behind_are_bounded_and_report_by_key():
    running = []

    def write(key: int) -> None:
        running.append(key)
        if key == 3:
            raise OSError("disk full")

    behind = Behind(workers=1, depth=2)
    for key in range(5):
        behind.submit(key, write, key)
        assert len(behind._pending) <= 2  # never more than `depth` waiting
    done = dict(behind.drain())
    behind.close()
    assert sorted(done) == [0, 1, 2, 3, 4] and running == [0, 1, 2, 3, 4]
    assert isinstance(done[3], OSError) and all(done[k] is None for k in (0, 1, 2, 4))


def test_abort_drops_the_calls_not_started_and_raise_error_stops_a_stream():
    started = threading.Event()
    release = threading.Event()

    def slow(key: int) -> None:
        started.set()
        release.wait(timeout=10)

    behind = Behind(workers=1, depth=8)
    for key in range(4):
        behind.submit(key, slow, key)
    assert started.wait(timeout=10)
    release.set()
    behind.abort()
    outcomes = dict(behind.drain())
    assert outcomes[0] is None
    assert all(isinstance(outcomes[k], CancelledError) for k in (1, 2, 3))

    def fail(key: int) -> None:
        raise ValueError(f"frame {key} did not encode")

    stream = Behind(workers=1, depth=8)
    stream.submit(0, fail, 0)
    deadline = time.monotonic() + 10
    with pytest.raises(ValueError, match="frame 0"):
        while time.monotonic() < deadline:
            stream.raise_error()
            time.sleep(0.01)
