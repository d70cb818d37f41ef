"""`hidt enhance` through the CLI with tiny random weights: sizes per method, naming, the
comparison sheet, and the missing-enhancer error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from hidt_cli.cli.app import app

SIZE = 32
runner = CliRunner()


def run(tiny_weights: Path, *args: str):
    return runner.invoke(
        app,
        [
            "enhance",
            *args,
            "--weights",
            str(tiny_weights),
            "--device",
            "cpu",
            "--inference-size",
            str(SIZE),
            "-q",
        ],
    )


@pytest.mark.parametrize("method", ["generator", "lanczos", "fullconv"])
def test_native_size_is_four_times_the_inference_size(tiny_weights, photo, method):
    result = run(tiny_weights, str(photo), "--method", method, "--native-size", "--preset", "night")
    assert result.exit_code == 0, result.output
    with Image.open(photo.parent / f"photo_enhanced_{method}.jpg") as out:
        assert min(out.size) == 4 * SIZE
        assert out.width > out.height  # the 96×64 photo stays landscape


@pytest.mark.parametrize("method", ["generator", "lanczos", "fullconv"])
def test_default_output_has_the_input_size(tiny_weights, photo, tmp_path, method):
    out_dir = tmp_path / "out"
    result = run(tiny_weights, str(photo), "--method", method, "--output-dir", str(out_dir))
    assert result.exit_code == 0, result.output
    with Image.open(out_dir / f"photo_enhanced_{method}.jpg") as out, Image.open(photo) as src:
        assert out.size == src.size


def test_own_style_by_default_and_json_report(tiny_weights, photo, tmp_path):
    target = tmp_path / "result.png"
    result = run(tiny_weights, str(photo), "-o", str(target), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(target) and set(report["milliseconds"]) == {"generator"}
    assert target.is_file()


def test_compare_puts_three_results_side_by_side(tiny_weights, photo):
    single = run(tiny_weights, str(photo), "--method", "lanczos", "--native-size")
    compare = run(tiny_weights, str(photo), "--compare", "--native-size", "--style-code=-0.5,-1,-1")
    assert single.exit_code == 0 and compare.exit_code == 0, compare.output
    with (
        Image.open(photo.parent / "photo_compare.png") as sheet,
        Image.open(photo.parent / "photo_enhanced_lanczos.jpg") as one,
    ):
        assert sheet.width > 3 * one.width
        assert sheet.height > one.height  # the captions sit under the results


def test_existing_output_is_refused_before_any_work(tiny_weights, photo):
    (photo.parent / "photo_enhanced_generator.jpg").write_bytes(b"keep me")
    result = run(tiny_weights, str(photo))
    assert result.exit_code == 1
    assert "--overwrite" in result.output
    assert (photo.parent / "photo_enhanced_generator.jpg").read_bytes() == b"keep me"


@pytest.mark.parametrize("extra", [[], ["--compare"]])
def test_missing_enhancer_is_a_weights_error(tiny_weights, photo, tmp_path, extra):
    generator_only = tmp_path / "generator_only"
    generator_only.mkdir()
    shutil.copy(tiny_weights / "generator.safetensors", generator_only)
    result = run(generator_only, str(photo), *extra)
    assert result.exit_code == 3
    assert "enhancer" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_lanczos_needs_no_enhancer(tiny_weights, photo, tmp_path):
    generator_only = tmp_path / "generator_only"
    generator_only.mkdir()
    shutil.copy(tiny_weights / "generator.safetensors", generator_only)
    result = run(generator_only, str(photo), "--method", "lanczos")
    assert result.exit_code == 0, result.output
