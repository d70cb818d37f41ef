"""Stopping a folder run with SIGTERM or Ctrl-C: no partial files, a summary, and a rerun that
resumes where it stopped.

The signal must land mid-batch however fast the machine is, so one input is a named pipe: the
run converts the photos before it, then waits to read the pipe, and cannot finish until the
test closes the pipe's other end, which it does only after sending the signal. The inputs are
named one by one: a folder walk names a pipe as a problem instead of reading it."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import hidt_process_command, interruptible, run_hidt
from tests.images import encoded, make_photo

COUNT = 8
PIPE_AT = 4
"""Index of the named pipe among the sorted inputs: the photos before it can be converted."""
WAIT_SECONDS = 120


def wait_for(condition, process: subprocess.Popen, what: str) -> None:
    """Poll until `condition()` holds; fail if the run ends first or takes far too long."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended before {what}: {process.communicate()[1]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {what} within {WAIT_SECONDS} s")
        time.sleep(0.02)


def open_writer(pipe: Path) -> int | None:
    """The pipe's write end once the run has opened it to read, else None."""
    try:
        return os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no reader yet
            return None
        raise


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_batch_leaves_only_complete_outputs_and_resumes(tiny_weights, tmp_path, sig):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(COUNT):
        if i != PIPE_AT:
            (src / f"p{i:03d}.png").write_bytes(encoded(make_photo(seed=i)))
    pipe = src / f"p{PIPE_AT:03d}.png"
    os.mkfifo(pipe)
    inputs = sorted(src.iterdir())
    command = hidt_process_command(
        "translate", tiny_weights, *inputs, "--output-dir", out, "--preset", "day", "--quiet"
    )
    process = interruptible(command, stderr=subprocess.PIPE, text=True)
    writer: int | None = None

    def reading_the_pipe() -> bool:
        nonlocal writer
        writer = open_writer(pipe)
        return writer is not None

    try:
        wait_for(reading_the_pipe, process, "read of the named pipe")
        wait_for(lambda: len(list(out.glob("*.png"))) == PIPE_AT, process, "outputs")
        process.send_signal(sig)  # the run is blocked on the pipe: it is mid-batch
    finally:
        if writer is not None:
            os.close(writer)  # the pipe ends empty: the run's wait for it is over
    _, stderr = process.communicate(timeout=WAIT_SECONDS)
    done = sorted(out.glob("*.png"))
    assert process.returncode == 130, stderr
    assert PIPE_AT <= len(done) < COUNT, "the run should have been stopped part-way"
    assert "interrupted" in stderr and "converted" in stderr
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"
    for path in done:
        with Image.open(path) as image:
            image.load()  # a truncated file would fail here
    pipe.unlink()
    pipe.write_bytes(encoded(make_photo(seed=PIPE_AT)))
    rerun = run_hidt("translate", tiny_weights, src, "--output-dir", out, "--preset", "day")
    assert rerun.exit_code == 0, rerun.output
    assert f"{COUNT - len(done)} converted, {len(done)} skipped" in rerun.stderr
    assert len(list(out.glob("*.png"))) == COUNT


def test_ctrl_c_while_starting_says_so(tiny_weights, photo):
    """torch and the commands take a second or more to load: an interrupt then is one line
    and exit 130, as during the work."""
    command = hidt_process_command("translate", tiny_weights, photo, "--preset", "night")
    process = interruptible(command, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
