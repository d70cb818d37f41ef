"""Every command writes through the one writer: an RGBA PNG with an ICC profile keeps both
in translate's, swap's, sample-styles', enhance's and the timelapse strip's outputs (and on
stdout: tests/test_cli_translate.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_hidt
from tests.images import SRGB, rgba_photo


def assert_kept(path: Path) -> None:
    with Image.open(path) as image:
        assert image.mode == "RGBA", f"{path.name} lost its alpha channel"
        assert image.info.get("icc_profile") == SRGB, f"{path.name} lost its colour profile"
        alpha = np.asarray(image.getchannel("A"))
    assert alpha.min() < 20 and alpha.max() > 235  # the photo's own alpha, not an opaque one


@pytest.fixture
def photos(tmp_path: Path) -> tuple[Path, Path]:
    return rgba_photo(tmp_path / "a.png"), rgba_photo(tmp_path / "b.png", seed=1)


def test_translate_keeps_alpha_and_profile(tiny_weights, photos):
    result = run_hidt("translate", tiny_weights, photos[0], "--preset", "night", "-q")
    assert result.exit_code == 0, result.output
    assert_kept(photos[0].with_name("a_night.png"))


def test_swap_keeps_alpha_and_profile(tiny_weights, photos, tmp_path):
    result = run_hidt("swap", tiny_weights, *photos, "-d", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.output
    assert_kept(tmp_path / "out" / "a_as_b.png")
    assert_kept(tmp_path / "out" / "b_as_a.png")


def test_sample_styles_keeps_alpha_and_profile(tiny_weights, photos, tmp_path):
    result = run_hidt(
        "sample-styles", tiny_weights, photos[0], "-n", "2", "-d", tmp_path / "out", "-q"
    )
    assert result.exit_code == 0, result.output
    assert_kept(tmp_path / "out" / "a_prior0.png")
    with Image.open(tmp_path / "out" / "a_styles.png") as sheet:
        assert sheet.mode == "RGBA"  # the sheet shows the results as they are


def test_enhance_keeps_alpha_and_profile(tiny_weights, photos):
    result = run_hidt("enhance", tiny_weights, photos[0], "--method", "detail", "-q")
    assert result.exit_code == 0, result.output
    assert_kept(photos[0].with_name("a_enhanced_detail.png"))


def test_timelapse_strip_keeps_alpha_and_profile(tiny_weights, photos, tmp_path):
    target = tmp_path / "lapse.mp4"
    args = (photos[0], "--presets", "day,night", "--frames", 3, "-o", target, "--strip", "-q")
    result = run_hidt("timelapse", tiny_weights, *args)
    assert result.exit_code == 0, result.output
    assert_kept(tmp_path / "lapse_strip.png")
