"""Splitting a folder run: --shard K/N slices, torchrun ranks, and --devices worker processes."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from hidt_cli.cli.shards import nested, take
from tests.conftest import make_photo, run_translate

COUNT = 7


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(COUNT):
        Image.fromarray(make_photo(64, 48, seed=i)).save(src / f"p{i}.png")
    return src


def run(tiny_weights, *args):
    return run_translate(tiny_weights, "--preset", "day", "--json", "-q", *args)


def converted(result) -> set[str]:
    report = json.loads(result.stdout)
    return {f["input"] for f in report["files"] if f["status"] == "converted"}


def test_slices_are_disjoint_and_cover_the_folder(tiny_weights, folder, tmp_path):
    parts = []
    for k in range(3):
        result = run(tiny_weights, folder, "--output-dir", tmp_path / "out", "--shard", f"{k}/3")
        assert result.exit_code == 0, result.output
        parts.append(converted(result))
    assert [len(p) for p in parts] == [3, 2, 2]
    assert set.union(*parts) == {str(folder / f"p{i}.png") for i in range(COUNT)}
    assert len(list((tmp_path / "out").iterdir())) == COUNT


def test_torchrun_ranks_take_their_slice(tiny_weights, folder, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    result = run(tiny_weights, folder, "--output-dir", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert converted(result) == {str(folder / f"p{i}.png") for i in (1, 3, 5)}


def test_devices_run_one_worker_each_and_merge_reports(tiny_weights, folder, tmp_path):
    result = run(tiny_weights, folder, "--output-dir", tmp_path / "out", "--devices", "cpu,cpu")
    assert result.exit_code == 0, result.output
    assert len(converted(result)) == COUNT
    assert len(list((tmp_path / "out").iterdir())) == COUNT


def test_bad_shard_and_devices_errors(tiny_weights, folder, tmp_path):
    for args, message in (
        (["--shard", "3/3"], "K must be in 0..N-1"),
        (["--shard", "a/b"], "expected K/N"),
        (["--devices", "cpu", "-o", tmp_path / "x.png"], "use --output-dir"),
    ):
        result = run(tiny_weights, folder, *args)
        assert result.exit_code == 2 and message in result.stderr


def test_nested_slices_partition_the_list():
    items = list(range(23))
    pieces = [take(items, nested((1, 3), i, 2)) for i in range(2)]
    assert sorted(pieces[0] + pieces[1]) == take(items, (1, 3))
    assert not set(pieces[0]) & set(pieces[1])
