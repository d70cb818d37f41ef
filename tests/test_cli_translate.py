"""`hidt translate` end to end on tiny random weights and generated photos; with the shipped
weights, that a style image's colours are taken on."""

from __future__ import annotations

import io
import json
import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from hidt_cli.eval.color import srgb_to_lab
from hidt_cli.ranges import photo_tensor
from hidt_cli.recipes import code_label
from hidt_cli.styles import sample_prior
from tests.conftest import DEFAULTS, run_hidt
from tests.images import SRGB, make_photo, night_photo, rgba_photo, save_photo


def test_single_file_next_to_its_input_at_its_size(tiny_weights, photo):
    result = run_hidt("translate", tiny_weights, photo, "--preset", "night")
    assert result.exit_code == 0, result.output
    out = photo.with_name("photo_night.jpg")
    with Image.open(out) as im:
        assert im.size == (96, 64) and im.format == "JPEG"
    assert "1 converted" in result.stderr


def test_folder_with_a_bad_file_converts_the_rest_and_exits_1(tiny_weights, tmp_path):
    src = tmp_path / "in"
    for i in range(3):
        save_photo(src / f"p{i}.png", make_photo(seed=i))
    (src / "broken.jpg").write_text("this is not a jpeg")
    args = (src, "--style-code=-0.5,-1,-1", "--output-dir", tmp_path / "out", "--json")
    result = run_hidt("translate", tiny_weights, *args)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["converted"], report["failed"]) == (3, 1)
    failed = [f for f in report["files"] if f["status"] == "failed"][0]
    assert "broken.jpg" in failed["error"] and "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"p{i}_code-0.5_-1_-1.png" for i in range(3)
    ]


def test_recursive_keeps_the_layout_and_reruns_skip_existing(tiny_weights, tmp_path):
    src = tmp_path / "in"
    save_photo(src / "a" / "x.jpg", make_photo(seed=1))
    save_photo(src / "b" / "c" / "y.png", make_photo(80, 80, seed=2))
    out = tmp_path / "out"
    first = run_hidt("translate", tiny_weights, src, "-r", "--preset", "day", "--output-dir", out)
    assert first.exit_code == 0, first.output
    assert (out / "a" / "x_day.jpg").is_file() and (out / "b" / "c" / "y_day.png").is_file()
    stamp = (out / "a" / "x_day.jpg").stat().st_mtime_ns
    again = run_hidt("translate", tiny_weights, src, "-r", "--preset", "day", "--output-dir", out)
    assert again.exit_code == 0 and "2 skipped" in again.stderr
    assert (out / "a" / "x_day.jpg").stat().st_mtime_ns == stamp
    args = (src, "-r", "--preset", "night", "--suffix", "_day", "--output-dir", out, "--overwrite")
    forced = run_hidt("translate", tiny_weights, *args)
    assert forced.exit_code == 0 and "2 converted" in forced.stderr


def test_stdin_to_stdout(tiny_weights, tmp_path):
    """Through the one writer: the photo's alpha and colour profile come out on stdout too."""
    photo = rgba_photo(tmp_path / "in.png")
    args = ("-", "--preset", "night", "-o", "-", "--format", "png", "--quiet")
    result = run_hidt("translate", tiny_weights, *args, input=photo.read_bytes())
    assert result.exit_code == 0, result.stderr
    with Image.open(io.BytesIO(result.stdout_bytes)) as im:
        assert im.size == (96, 64) and im.format == "PNG"
        assert im.mode == "RGBA" and im.info.get("icc_profile") == SRGB


def test_a_style_image_lends_the_photo_its_colours(tmp_path):
    """With the shipped weights: translated in the style of a night photo, a daylit photo's
    mean colour moves most of the way to the night photo's (CIELAB distance 54 to 2 here)."""
    day, night = make_photo(), night_photo()
    photo = save_photo(tmp_path / "day.png", day)
    style = save_photo(tmp_path / "night.png", night)
    result = run_hidt("translate", DEFAULTS, photo, "--style", style, "--fp32", "-q")
    assert result.exit_code == 0, result.output

    def mean_lab(rgb: np.ndarray) -> torch.Tensor:
        return srgb_to_lab(photo_tensor(rgb, "cpu").float() / 255).mean((0, 2, 3))

    with Image.open(tmp_path / "day_night.png") as image:
        translated = np.asarray(image.convert("RGB"))
    before = (mean_lab(day) - mean_lab(night)).norm()
    after = (mean_lab(translated) - mean_lab(night)).norm()
    assert after < before / 4, (float(before), float(after))


def test_style_image_random_styles_and_seed(tiny_weights, photo, tmp_path):
    style = save_photo(tmp_path / "dusk.png", make_photo(seed=9))
    assert run_hidt("translate", tiny_weights, photo, "--style", style).exit_code == 0
    assert photo.with_name("photo_dusk.jpg").is_file()
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    for out in (out_a, out_b):
        args = (photo, "--random", 3, "--seed", 5, "--output-dir", out, "-f", "png")
        assert run_hidt("translate", tiny_weights, *args).exit_code == 0
    names = sorted(p.name for p in out_a.iterdir())
    codes = sample_prior(3, seed=5)  # outputs are named by the code that made them
    assert names == sorted(f"photo_{code_label(code)}.png" for code in codes)
    same = [
        np.array_equal(np.asarray(Image.open(out_a / n)), np.asarray(Image.open(out_b / n)))
        for n in names
    ]
    assert all(same)
    assert not np.array_equal(
        np.asarray(Image.open(out_a / names[0])), np.asarray(Image.open(out_a / names[1]))
    )


def test_hires_keeps_input_size_and_native_size_gives_4s(tiny_weights, photo, tmp_path):
    result = run_hidt(
        "translate", tiny_weights, photo, "--preset", "day", "--hires", "-o", tmp_path / "big.png"
    )
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "big.png").size == (96, 64)
    args = (photo, "--preset", "day", "--hires", "--native-size", "-o", tmp_path / "native.png")
    result = run_hidt("translate", tiny_weights, *args)
    assert result.exit_code == 0 and Image.open(tmp_path / "native.png").size == (192, 128)


def test_alpha_is_kept_in_png_output(tiny_weights, tmp_path):
    rgba = np.dstack([make_photo(), np.full((64, 96), 77, np.uint8)])
    src = save_photo(tmp_path / "t.png", rgba)
    assert run_hidt("translate", tiny_weights, src, "--preset", "day").exit_code == 0
    out = np.asarray(Image.open(tmp_path / "t_day.png"))
    assert out.shape == (64, 96, 4) and (out[..., 3] == 77).all()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--preset", "noon"], 2, "unknown preset 'noon'"),
        (["--style-code=1,2"], 2, "3 comma-separated numbers"),
        (["--preset", "day", "--style-code=1,2,3"], 2, "only one of"),
        ([], 2, "choose a style"),
        (["--random", "2", "-o", "x.png"], 2, "--output names one file"),
        (["--preset", "day", "--format", "gif"], 2, "--format gif"),
        (["--preset", "day", "--device", "tpu"], 2, "unknown device"),
    ],
)
def test_usage_errors_are_one_line(tiny_weights, photo, args, code, message):
    result = run_hidt("translate", tiny_weights, photo, *args)
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.output


def test_weights_errors_exit_3(tmp_path, photo, tiny_weights):
    result = run_hidt("translate", tmp_path / "missing.safetensors", photo, "--preset", "day")
    assert result.exit_code == 3 and "no such weights file" in result.stderr
    gen_only = tmp_path / "gen_only"
    gen_only.mkdir()
    shutil.copy(tiny_weights / "generator.safetensors", gen_only)
    result = run_hidt("translate", gen_only, photo, "--preset", "day", "--hires")
    assert result.exit_code == 3 and "--hires needs enhancer weights" in result.stderr


def test_two_inputs_mapping_to_one_output_are_refused(tiny_weights, tmp_path):
    a = save_photo(tmp_path / "a" / "same.png", make_photo(seed=1))
    b = save_photo(tmp_path / "b" / "same.png", make_photo(seed=2))
    result = run_hidt(
        "translate", tiny_weights, a, b, "--preset", "day", "--output-dir", tmp_path / "out"
    )
    assert result.exit_code == 2 and "several inputs would write" in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_input_alone_fails_with_exit_1(tiny_weights, tmp_path):
    result = run_hidt("translate", tiny_weights, tmp_path / "nope.jpg", "--preset", "day")
    assert result.exit_code == 1 and "nope.jpg" in result.stderr


def test_input_is_never_overwritten(tiny_weights, photo):
    before = photo.read_bytes()
    result = run_hidt(
        "translate", tiny_weights, photo, "--preset", "day", "-o", photo, "--overwrite"
    )
    assert result.exit_code == 1 and "overwrite the input" in result.stderr
    assert photo.read_bytes() == before
    assert not [p for p in os.listdir(photo.parent) if p.endswith(".tmp")]
