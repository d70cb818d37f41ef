"""Splitting a folder run: --shard K/N slices, torchrun ranks, and --devices worker processes."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

from hidt_cli.cli.shards import nested, take
from tests.conftest import converted, run_hidt
from tests.images import make_photo, save_photo

COUNT = 7
DAY = ("--preset", "day", "--json", "-q")
"""Every run here: one style, and a report to read the converted inputs from."""


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    for i in range(COUNT):
        save_photo(src / f"p{i}.png", make_photo(64, 48, seed=i))
    return src


def test_slices_are_disjoint_and_cover_the_folder(tiny_weights, folder, tmp_path):
    parts = []
    for k in range(3):
        args = (folder, "--output-dir", tmp_path / "out", "--shard", f"{k}/3")
        result = run_hidt("translate", tiny_weights, *DAY, *args)
        assert result.exit_code == 0, result.output
        parts.append(converted(result))
    assert [len(p) for p in parts] == [3, 2, 2]
    assert set.union(*parts) == {str(folder / f"p{i}.png") for i in range(COUNT)}
    assert len(list((tmp_path / "out").iterdir())) == COUNT


def test_torchrun_ranks_take_their_slice(tiny_weights, folder, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    result = run_hidt("translate", tiny_weights, *DAY, folder, "--output-dir", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert converted(result) == {str(folder / f"p{i}.png") for i in (1, 3, 5)}


# Python imports `sitecustomize` at start-up from its path, so every process a test starts with
# this folder on PYTHONPATH logs which process moved each finished file into place (outputs are
# written to a temporary name, then linked or renamed to theirs), with no change to the code
# under test.
WRITES_RECORDER = """
import os


def _recording(move):
    def recorded(source, target, *args, **kwargs):
        move(source, target, *args, **kwargs)
        with open(os.environ["HIDT_TEST_WRITES"], "a") as log:
            log.write(f"{os.getpid()}\\t{os.fspath(target)}\\n")

    return recorded


os.replace = _recording(os.replace)
os.link = _recording(os.link)
"""


def test_devices_run_one_worker_process_each_on_disjoint_slices(
    tiny_weights, folder, tmp_path, monkeypatch
):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(WRITES_RECORDER)
    writes = tmp_path / "writes.tsv"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("HIDT_TEST_WRITES", str(writes))
    out = tmp_path / "out"
    result = run_hidt(
        "translate", tiny_weights, *DAY, folder, "--output-dir", out, "--devices", "cpu,cpu"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    source_of = {
        Path(output).resolve(): Path(f["input"]).name
        for f in report["files"]
        if f["status"] == "converted"
        for output in f["outputs"]
    }
    inputs_by_process = defaultdict(list)
    for line in writes.read_text().splitlines():
        pid, target = line.split("\t")
        if Path(target).resolve() in source_of:
            inputs_by_process[int(pid)].append(source_of[Path(target).resolve()])
    assert os.getpid() not in inputs_by_process  # the parent only merges the workers' reports
    # Two worker processes, each converting its own interleaved slice once: disjoint, and
    # together the whole folder.
    assert sorted(sorted(names) for names in inputs_by_process.values()) == [
        [f"p{i}.png" for i in (0, 2, 4, 6)],
        [f"p{i}.png" for i in (1, 3, 5)],
    ]
    assert len(source_of) == COUNT == len(list(out.iterdir()))


def test_bad_shard_and_devices_errors(tiny_weights, folder, tmp_path):
    for args, message in (
        (["--shard", "3/3"], "K must be in 0..N-1"),
        (["--shard", "a/b"], "expected K/N"),
        (["--devices", "cpu", "-o", tmp_path / "x.png"], "use --output-dir"),
    ):
        result = run_hidt("translate", tiny_weights, *DAY, folder, *args)
        assert result.exit_code == 2 and message in result.stderr


def test_nested_slices_partition_the_list():
    items = list(range(23))
    pieces = [take(items, nested((1, 3), i, 2)) for i in range(2)]
    assert sorted(pieces[0] + pieces[1]) == take(items, (1, 3))
    assert not set(pieces[0]) & set(pieces[1])
