"""Stopping a folder run with SIGTERM or Ctrl-C: no partial files, a summary, and a rerun that
resumes where it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from tests.conftest import make_photo

COUNT = 20


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_batch_leaves_only_complete_outputs_and_resumes(tiny_weights, tmp_path, sig):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(COUNT):
        Image.fromarray(make_photo(320, 240, seed=i)).save(src / f"p{i:03d}.png")
    command = [
        sys.executable,
        "-m",
        "hidt_cli",
        "translate",
        str(src),
        "--output-dir",
        str(out),
        "--preset",
        "day",
        "--weights",
        str(tiny_weights),
        "--device",
        "cpu",
        "--inference-size",
        "128",
        "--hires",
        "--quiet",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.png"))) < 3:
        time.sleep(0.05)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    done = sorted(out.glob("*.png"))
    assert process.returncode == 130, stderr
    assert 3 <= len(done) < COUNT, "the run should have been stopped part-way"
    assert "interrupted" in stderr and "converted" in stderr
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"
    for path in done:
        with Image.open(path) as image:
            image.load()  # a truncated file would fail here
    rerun = subprocess.run(command[:-1], capture_output=True, text=True, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{COUNT - len(done)} converted, {len(done)} skipped" in rerun.stderr
    assert len(list(out.glob("*.png"))) == COUNT
