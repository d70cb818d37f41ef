"""`hidt sample-styles` end to end with tiny random weights: outputs, sheet, seeds, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hidt_cli.sheets import GAP
from hidt_cli.styles import sample_prior
from tests.conftest import run_hidt
from tests.images import make_photo, pixels, save_photo


@pytest.fixture
def square(tmp_path) -> Path:
    """An 80×80 PNG photo (lossless, so outputs can be compared exactly)."""
    return save_photo(tmp_path / "in" / "square.png", make_photo(80, 80, seed=3))


def test_n_results_and_a_sheet_next_to_the_input(tiny_weights, photo):
    result = run_hidt("sample-styles", tiny_weights, photo, "-n", "3", "--seed", "1", "-q")
    assert result.exit_code == 0, result.output
    folder = photo.parent
    for i in range(3):
        with Image.open(folder / f"photo_prior{i}.jpg") as image:
            assert image.size == (96, 64)
    with Image.open(folder / "photo_styles.png") as sheet:
        width, height = sheet.size
    assert width > 4 * 96 and height > 64  # original + 3 results in one row of four
    assert sorted(p.name for p in folder.iterdir()) == [
        "photo.jpg",
        "photo_prior0.jpg",
        "photo_prior1.jpg",
        "photo_prior2.jpg",
        "photo_styles.png",
    ]


def test_sheet_columns_and_original_first(tiny_weights, square, tmp_path):
    args = (square, "-n", 3, "--columns", 2, "-d", tmp_path / "out", "-q")
    result = run_hidt("sample-styles", tiny_weights, *args)
    assert result.exit_code == 0, result.output
    sheet = pixels(tmp_path / "out" / "square_styles.png").astype(np.float32)
    assert sheet.shape[1] == GAP + 2 * (80 + GAP)  # two columns of 80-pixel cells
    assert sheet.shape[0] > 2 * 80  # two rows
    first = sheet[GAP : GAP + 80, GAP : GAP + 80]
    assert np.abs(first - pixels(square)).mean() < 1


def test_json_reports_codes_from_the_seeded_prior(tiny_weights, square, tmp_path):
    args = (square, "-n", 4, "--seed", 7, "-d", tmp_path, "--json", "-q")
    result = run_hidt("sample-styles", tiny_weights, *args)
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert torch.allclose(torch.tensor([r["code"] for r in records]), sample_prior(4, 7, 3))
    assert [r["output"] for r in records] == [
        str(tmp_path / f"square_prior{i}.png") for i in range(4)
    ]


def test_same_seed_same_outputs_other_seed_other_outputs(tiny_weights, square, tmp_path):
    for name, seed in (("one", 1), ("again", 1), ("two", 2)):
        args = (square, "-n", 2, "--seed", seed, "-d", tmp_path / name, "-q")
        assert run_hidt("sample-styles", tiny_weights, *args).exit_code == 0
    for i in range(2):
        one, again, two = (
            pixels(tmp_path / d / f"square_prior{i}.png") for d in ("one", "again", "two")
        )
        assert np.array_equal(one, again)
        assert not np.array_equal(one, two)
    results = [pixels(tmp_path / "one" / f"square_prior{i}.png") for i in range(2)]
    assert not np.array_equal(*results)  # each code gives its own picture


def test_native_size_and_no_sheet(tiny_weights, photo, tmp_path):
    args = (photo, "-n", 2, "--native-size", "--no-sheet", "-f", "webp", "-d", tmp_path, "-q")
    result = run_hidt("sample-styles", tiny_weights, *args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "inputs",
        "photo_prior0.webp",
        "photo_prior1.webp",
    ]
    with Image.open(tmp_path / "photo_prior0.webp") as image:
        assert image.size == (48, 32)


def test_table_of_codes_unless_quiet(tiny_weights, square, tmp_path):
    args = (square, "-n", 2, "--seed", 0, "-d")
    loud = run_hidt("sample-styles", tiny_weights, *args, tmp_path / "loud")
    assert loud.exit_code == 0, loud.output
    code = sample_prior(2, 0, 3)[1]
    assert ",".join(f"{v:.4f}" for v in code.tolist()) in loud.stderr
    assert loud.stdout == ""
    quiet = run_hidt("sample-styles", tiny_weights, *args, tmp_path / "quiet", "-q")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_existing_outputs_are_refused_without_overwrite(tiny_weights, square, tmp_path):
    first = (square, "-n", 2, "--seed", 1, "-d", tmp_path, "-q")
    assert run_hidt("sample-styles", tiny_weights, *first).exit_code == 0
    before = (tmp_path / "square_prior1.png").read_bytes()
    other = (square, "-n", 2, "--seed", 2, "-d", tmp_path)
    result = run_hidt("sample-styles", tiny_weights, *other)
    assert result.exit_code == 1
    assert "square_prior0.png: exists (use --overwrite)" in result.stderr
    assert (tmp_path / "square_prior1.png").read_bytes() == before
    assert run_hidt("sample-styles", tiny_weights, *other, "--overwrite", "-q").exit_code == 0
    assert (tmp_path / "square_prior1.png").read_bytes() != before


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n broken"])
def test_unreadable_input_is_one_line_with_exit_4(tiny_weights, tmp_path, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    result = run_hidt("sample-styles", tiny_weights, bad, "-n", "2")
    assert result.exit_code == 4
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert str(bad) in result.stderr
    assert list(tmp_path.iterdir()) == [bad]


def test_bad_format_is_a_usage_error(tiny_weights, square):
    result = run_hidt("sample-styles", tiny_weights, square, "--format", "gif")
    assert result.exit_code == 2
    assert "--format" in result.stderr
