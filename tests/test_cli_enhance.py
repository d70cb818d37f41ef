"""`hidt enhance` through the CLI: sizes per method, naming, the comparison sheet and the
missing-enhancer error with tiny random weights; with the shipped ones, that a photo enhanced
without a style keeps its own light."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.conftest import DEFAULTS, run_hidt
from tests.images import make_photo, pixels, save_photo

SIZE = 32


@pytest.mark.parametrize("method", ["generator", "lanczos", "fullconv"])
def test_native_size_is_four_times_the_inference_size(tiny_weights, photo, method):
    args = (photo, "--method", method, "--native-size", "--preset", "night", "-q")
    result = run_hidt("enhance", tiny_weights, *args)
    assert result.exit_code == 0, result.output
    with Image.open(photo.parent / f"photo_enhanced_{method}.jpg") as out:
        assert min(out.size) == 4 * SIZE
        assert out.width > out.height  # the 96×64 photo stays landscape


@pytest.mark.parametrize("method", ["generator", "lanczos", "fullconv"])
def test_default_output_has_the_input_size(tiny_weights, photo, tmp_path, method):
    out_dir = tmp_path / "out"
    result = run_hidt(
        "enhance", tiny_weights, photo, "--method", method, "--output-dir", out_dir, "-q"
    )
    assert result.exit_code == 0, result.output
    with Image.open(out_dir / f"photo_enhanced_{method}.jpg") as out, Image.open(photo) as src:
        assert out.size == src.size


def test_own_style_by_default_and_json_report(tiny_weights, photo, tmp_path):
    target = tmp_path / "result.png"
    result = run_hidt("enhance", tiny_weights, photo, "-o", target, "--json", "-q")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(target) and set(report["milliseconds"]) == {"generator"}
    assert target.is_file()


def test_compare_puts_three_results_side_by_side(tiny_weights, photo):
    single = run_hidt("enhance", tiny_weights, photo, "--method", "lanczos", "--native-size", "-q")
    args = (photo, "--compare", "--native-size", "--style-code=-0.5,-1,-1", "-q")
    compare = run_hidt("enhance", tiny_weights, *args)
    assert single.exit_code == 0 and compare.exit_code == 0, compare.output
    with (
        Image.open(photo.parent / "photo_compare.png") as sheet,
        Image.open(photo.parent / "photo_enhanced_lanczos.jpg") as one,
    ):
        assert sheet.width > 3 * one.width
        assert sheet.height > one.height  # the captions sit under the results


def test_existing_output_is_refused_before_any_work(tiny_weights, photo):
    (photo.parent / "photo_enhanced_generator.jpg").write_bytes(b"keep me")
    result = run_hidt("enhance", tiny_weights, photo, "-q")
    assert result.exit_code == 1
    assert "--overwrite" in result.output
    assert (photo.parent / "photo_enhanced_generator.jpg").read_bytes() == b"keep me"


@pytest.mark.parametrize("extra", [[], ["--compare"]])
def test_missing_enhancer_is_a_weights_error(tiny_weights, photo, tmp_path, extra):
    generator_only = tmp_path / "generator_only"
    generator_only.mkdir()
    shutil.copy(tiny_weights / "generator.safetensors", generator_only)
    result = run_hidt("enhance", generator_only, photo, *extra, "-q")
    assert result.exit_code == 3
    assert "enhancer" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_lanczos_needs_no_enhancer(tiny_weights, photo, tmp_path):
    generator_only = tmp_path / "generator_only"
    generator_only.mkdir()
    shutil.copy(tiny_weights / "generator.safetensors", generator_only)
    result = run_hidt("enhance", generator_only, photo, "--method", "lanczos", "-q")
    assert result.exit_code == 0, result.output


def test_without_a_style_the_photo_keeps_its_own_light(tmp_path):
    """With the shipped weights: enhanced in its own style, the photo keeps its mean colour
    (within 12 levels per channel here), where a night render of it moves it by over 100."""
    rgb = make_photo()
    source = save_photo(tmp_path / "day.png", rgb)
    for name, style in (("own", ()), ("night", ("--preset", "night"))):
        target = tmp_path / f"{name}.png"
        result = run_hidt("enhance", DEFAULTS, source, *style, "-o", target, "--fp32", "-q")
        assert result.exit_code == 0, result.output
    shift = {
        name: np.abs(pixels(tmp_path / f"{name}.png").mean((0, 1)) - rgb.mean((0, 1))).max()
        for name in ("own", "night")
    }
    assert shift["own"] < 20 and shift["own"] < shift["night"] / 4, shift
