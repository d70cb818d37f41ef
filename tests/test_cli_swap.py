"""`hidt swap` end to end: files, sizes, the grid's layout and errors with tiny random
weights; that each result takes the other photo's style with the shipped ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hidt_cli.sheets import GAP, caption_height
from tests.conftest import DEFAULTS, run_hidt
from tests.images import make_photo, night_photo, pixels, save_photo

SIZES = [(96, 64), (80, 80), (64, 96)]  # width, height


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    """Three PNG photos of different sizes and shapes, named a, b, c."""
    folder = tmp_path / "in"
    folder.mkdir()
    return [
        save_photo(folder / f"{name}.png", make_photo(width, height, seed))
        for seed, (name, (width, height)) in enumerate(zip("abc", SIZES, strict=True))
    ]


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def test_two_photos_trade_styles(tiny_weights, photos, tmp_path):
    out = tmp_path / "out"
    result = run_hidt("swap", tiny_weights, photos[0], photos[1], "--output-dir", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a_as_b.png", "b_as_a.png"]
    assert size_of(out / "a_as_b.png") == SIZES[0]
    assert size_of(out / "b_as_a.png") == SIZES[1]


def test_each_result_takes_the_other_photos_style(default_model, tmp_path):
    """With the shipped weights (random ones hardly tell styles apart): a daylit photo and a
    night one trade styles, so each result's style code lies near the other photo's and far
    from its own photo's."""
    day = save_photo(tmp_path / "day.png", make_photo())
    night = save_photo(tmp_path / "night.png", night_photo())
    result = run_hidt("swap", DEFAULTS, day, night, "-d", tmp_path / "out", "--fp32", "-q")
    assert result.exit_code == 0, result.output

    def style_of(path: Path) -> torch.Tensor:
        return default_model.style_code(path, inference_size=32)[0]

    for name, own, other in (("day_as_night", day, night), ("night_as_day", night, day)):
        code = style_of(tmp_path / "out" / f"{name}.png")
        near, far = (code - style_of(other)).norm(), (code - style_of(own)).norm()
        assert near < far / 4, (name, float(near), float(far))


def test_default_output_dir_is_the_current_one(tiny_weights, photos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_hidt("swap", tiny_weights, photos[0], photos[1], "--quiet", "--format", "jpg")
    assert result.exit_code == 0, result.output
    assert size_of(tmp_path / "a_as_b.jpg") == SIZES[0]
    assert size_of(tmp_path / "b_as_a.jpg") == SIZES[1]


def test_native_size_keeps_the_processing_size(tiny_weights, photos, tmp_path):
    result = run_hidt(
        "swap", tiny_weights, photos[0], photos[1], "-d", tmp_path, "--native-size", "-q"
    )
    assert result.exit_code == 0, result.output
    assert size_of(tmp_path / "a_as_b.png") == (48, 32)  # shorter side 32, sides multiples of 16
    assert size_of(tmp_path / "b_as_a.png") == (32, 32)


def test_hires_output_is_resized_to_the_input(tiny_weights, photos, tmp_path):
    result = run_hidt("swap", tiny_weights, photos[0], photos[1], "-d", tmp_path, "--hires", "-q")
    assert result.exit_code == 0, result.output
    assert size_of(tmp_path / "a_as_b.png") == SIZES[0]


def test_json_lists_pairs_and_grid(tiny_weights, photos, tmp_path):
    result = run_hidt(
        "swap", tiny_weights, photos[0], photos[1], "-d", tmp_path, "--grid", "--json", "-q"
    )
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert written == [str(tmp_path / n) for n in ("a_as_b.png", "b_as_a.png", "swap_grid.png")]
    assert all(Path(p).is_file() for p in written)


def test_three_photos_give_only_a_grid(tiny_weights, photos, tmp_path):
    result = run_hidt("swap", tiny_weights, *photos, "-d", tmp_path / "out", "--json", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [str(tmp_path / "out" / "swap_grid.png")]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["swap_grid.png"]


def test_grid_grows_with_the_number_of_photos(tiny_weights, photos, tmp_path):
    assert (
        run_hidt(
            "swap", tiny_weights, *photos[:2], "-o", tmp_path / "two.png", "-d", tmp_path, "-q"
        ).exit_code
        == 0
    )
    assert (
        run_hidt("swap", tiny_weights, *photos, "-o", tmp_path / "three.png", "-q").exit_code == 0
    )
    (w2, h2), (w3, h3) = size_of(tmp_path / "two.png"), size_of(tmp_path / "three.png")
    assert w3 > w2 and h3 > h2


def test_grid_diagonal_holds_the_originals(tiny_weights, photos, tmp_path):
    """Rows are contents and columns styles, after one header row and column; each cell is
    fitted to the cell height and centred in its column."""
    grid_path = tmp_path / "grid.png"
    assert run_hidt("swap", tiny_weights, *photos, "-o", grid_path, "-q").exit_code == 0
    grid = pixels(grid_path)
    cell = max(h for _, h in SIZES)
    widths = [max(1, round(w * cell / h)) for w, h in SIZES]
    column = max(widths)
    assert grid.shape[:2] == (
        GAP + 4 * (cell + caption_height(cell) + GAP),
        GAP + 4 * (column + GAP),
    )

    def crop(row: int, col: int, width: int) -> np.ndarray:
        y = GAP + row * (cell + caption_height(cell) + GAP)
        x = GAP + col * (column + GAP) + (column - width) // 2
        return grid[y : y + cell, x : x + width]

    for i, path in enumerate(photos):
        with Image.open(path) as image:
            original = np.asarray(
                image.convert("RGB").resize((widths[i], cell), Image.LANCZOS), np.float32
            )
        assert np.abs(crop(i + 1, i + 1, widths[i]) - original).mean() < 2  # diagonal
        assert np.abs(crop(i + 1, 0, widths[i]) - original).mean() < 2  # header column
        other = (i + 1) % len(photos)
        assert np.abs(crop(i + 1, other + 1, widths[i]) - original).mean() > 10  # a translation


def test_unreadable_input_is_one_line_with_exit_4(tiny_weights, photos, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    for wrong in (bad, tmp_path / "missing.jpg"):
        result = run_hidt("swap", tiny_weights, photos[0], wrong, "-d", tmp_path)
        assert result.exit_code == 4
        assert "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1
        assert str(wrong) in result.stderr
    assert not list(tmp_path.glob("*_as_*"))


def test_existing_outputs_are_kept_without_overwrite(tiny_weights, photos, tmp_path):
    target = tmp_path / "a_as_b.png"
    target.write_bytes(b"keep me")
    result = run_hidt("swap", tiny_weights, photos[0], photos[1], "-d", tmp_path)
    assert result.exit_code == 1
    assert "exists" in result.stderr and "--overwrite" in result.stderr
    assert target.read_bytes() == b"keep me"
    assert not (tmp_path / "b_as_a.png").exists()  # refused before any work
    assert (
        run_hidt(
            "swap", tiny_weights, photos[0], photos[1], "-d", tmp_path, "--overwrite", "-q"
        ).exit_code
        == 0
    )
    assert size_of(target) == SIZES[0]


def test_grid_never_overwrites_an_input(tiny_weights, photos):
    before = photos[0].read_bytes()
    result = run_hidt("swap", tiny_weights, *photos, "-o", photos[0], "--overwrite")
    assert result.exit_code == 2
    assert "input" in result.stderr
    assert photos[0].read_bytes() == before


def test_same_names_would_collide(tiny_weights, photos, tmp_path):
    twin = tmp_path / "other" / "a.png"
    save_photo(twin, make_photo(seed=5))
    result = run_hidt("swap", tiny_weights, photos[0], twin, "-d", tmp_path)
    assert result.exit_code == 2
    assert "a_as_a.png" in result.stderr


def test_needs_two_photos(tiny_weights, photos):
    result = run_hidt("swap", tiny_weights, photos[0])
    assert result.exit_code == 2
    assert "two" in result.stderr
