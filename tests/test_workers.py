"""Workers side by side: results come back in the order the jobs were given, whichever
finishes first, and torch's thread count is restored after."""

from __future__ import annotations

import threading

import pytest
import torch

from hidt_cli.workers import in_order, one_thread_per_worker


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
