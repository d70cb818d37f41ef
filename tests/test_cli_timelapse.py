"""`hidt timelapse` end to end with tiny random weights on the CPU, against synthetic guide
videos written with OpenCV, plus its style-extraction and rendering functions; with the shipped
weights, that the frames follow the guide's light."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from hidt_cli.guide import guide_codes
from hidt_cli.io.video import probe_video, read_frames
from hidt_cli.ranges import photo_tensor, to_uint8
from hidt_cli.render import RenderSpec, batch_size
from hidt_cli.styles import interpolate_codes
from hidt_cli.timelapse import render_frames, strip_indices
from tests.conftest import DEFAULTS, run_hidt
from tests.images import make_photo

GUIDE_FRAMES, GUIDE_FPS = 24, 24.0
# The 96×64 `photo` at inference size 32 is processed at 48×32 (width × height).
PHOTO_SIZE = (96, 64)
"""make_photo's size: frames have the photo's size (within --max-side)."""


def write_guide(path: Path, levels: list[int]) -> Path:
    """A 64×48 mp4v video with one flat grey frame per brightness level."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), GUIDE_FPS, (64, 48))
    assert writer.isOpened()
    for level in levels:
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def ramp(tmp_path_factory) -> Path:
    """Dark to bright over 24 frames."""
    levels = np.linspace(10, 245, GUIDE_FRAMES).astype(int).tolist()
    return write_guide(tmp_path_factory.mktemp("guide") / "ramp.mp4", levels)


@pytest.fixture(scope="module")
def constant(tmp_path_factory) -> Path:
    return write_guide(tmp_path_factory.mktemp("guide") / "constant.mp4", [128] * GUIDE_FRAMES)


def video_shape(path: Path) -> tuple[int, tuple[int, int], float]:
    """(frames decoded, (width, height), fps) of an MP4, read back with OpenCV."""
    capture = cv2.VideoCapture(str(path))
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count, size, fps


# ------------------------------------------------------------------ the command


def test_guide_every_second_frame(tiny_weights, photo, ramp):
    result = run_hidt("timelapse", tiny_weights, photo, "--guide", ramp, "--stride", "2", "--quiet")
    assert result.exit_code == 0, result.output
    out = photo.with_name("photo_timelapse.mp4")
    count, size, fps = video_shape(out)
    assert (count, size) == (GUIDE_FRAMES // 2, PHOTO_SIZE)
    assert fps == pytest.approx(GUIDE_FPS / 2)
    assert probe_video(out).codec == "h264"
    assert sorted(p.name for p in photo.parent.iterdir()) == ["photo.jpg", "photo_timelapse.mp4"]


def test_the_frames_follow_the_guides_light(photo, ramp, constant, tmp_path):
    """With the shipped weights: a guide going from dark to bright gives frames that brighten
    with it (mean level 11 to 209 here), a steady guide frames that stay alike."""
    brightness = {}
    for guide in (ramp, constant):
        out = tmp_path / f"{guide.stem}.mp4"
        result = run_hidt("timelapse", DEFAULTS, photo, "--guide", guide, "-o", out, "--fp32")
        assert result.exit_code == 0, result.output
        brightness[guide.stem] = np.array([frame.mean() for frame in read_frames(out)])
    rising, steady = brightness["ramp"], brightness["constant"]
    assert rising[-1] - rising[0] > 100 and (np.diff(rising) > -1).all(), rising.round(1)
    assert np.ptp(steady) < 5, steady.round(1)


def test_frames_caps_the_guide(tiny_weights, photo, ramp, tmp_path):
    out = tmp_path / "capped.mp4"
    args = (photo, "--guide", ramp, "--stride", 3, "--frames", 5, "-o", out, "--json", "--quiet")
    result = run_hidt("timelapse", tiny_weights, *args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == {"output": str(out), "frames": 5, "fps": pytest.approx(8.0), "strip": None}
    assert video_shape(out)[:2] == (5, PHOTO_SIZE)


def test_photo_already_at_processing_size(tiny_weights, photo, tmp_path):
    out = tmp_path / "native.mp4"
    args = (photo, "--presets", "day", "--frames", 2, "-o", out, "--quiet")
    result = run_hidt("timelapse", tiny_weights, *args, size=64)
    assert result.exit_code == 0, result.output
    assert video_shape(out)[:2] == (2, (96, 64))


def test_presets_with_strip(tiny_weights, photo, tmp_path):
    out = tmp_path / "day.mp4"
    args = (photo, "--presets", "night,-0.5:-1.0:-1.0,day", "--frames", 10, "-o", out)
    result = run_hidt("timelapse", tiny_weights, *args, "--strip", "--json", "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["frames"] == 10 and report["fps"] == 24.0
    assert video_shape(out)[:2] == (10, PHOTO_SIZE)
    strip = Image.open(report["strip"])
    assert report["strip"] == str(tmp_path / "day_strip.png")
    assert 160 <= strip.height < 220 and strip.width > 8 * 160  # eight 3:2 frames in a row


def test_hires_frames_have_the_photo_size_or_four_times_the_inference_size(
    tiny_weights, photo, tmp_path
):
    out = tmp_path / "hires.mp4"
    args = ["--presets", "day", "--frames", "2", "--hires"]
    result = run_hidt("timelapse", tiny_weights, photo, *args, "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert video_shape(out)[:2] == (2, PHOTO_SIZE)
    native = tmp_path / "native.mp4"
    result = run_hidt(
        "timelapse", tiny_weights, photo, *args, "--native-size", "-o", native, "--quiet"
    )
    assert result.exit_code == 0, result.output
    assert video_shape(native)[:2] == (2, (4 * 48, 4 * 32))


def test_existing_output_is_kept_unless_overwrite(tiny_weights, photo, tmp_path):
    out = tmp_path / "taken.mp4"
    out.write_bytes(b"keep me")
    args = [photo, "--presets", "day", "--frames", "2", "-o", out]
    result = run_hidt("timelapse", tiny_weights, *args, "--quiet")
    assert result.exit_code == 1 and "exists (use --overwrite)" in result.stderr
    assert out.read_bytes() == b"keep me"
    assert run_hidt("timelapse", tiny_weights, *args, "--overwrite", "--quiet").exit_code == 0
    assert video_shape(out)[0] == 2


# ------------------------------------------------------------------ errors


def assert_one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert text in result.stderr
    assert "Traceback" not in result.output


def test_missing_guide(tiny_weights, photo, tmp_path):
    result = run_hidt("timelapse", tiny_weights, photo, "--guide", tmp_path / "nope.mp4", "--quiet")
    assert_one_line_error(result, 4, "nope.mp4: no such file")


def test_text_file_named_mp4(tiny_weights, photo, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video\n")
    result = run_hidt("timelapse", tiny_weights, photo, "--guide", fake, "--quiet")
    assert_one_line_error(result, 4, "notes.mp4: cannot")


def test_unreadable_image(tiny_weights, tmp_path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("not an image")
    assert_one_line_error(
        run_hidt("timelapse", tiny_weights, fake, "--presets", "day", "--quiet"), 4, "photo.jpg:"
    )


def test_unknown_preset_lists_the_known_ones(tiny_weights, photo):
    result = run_hidt("timelapse", tiny_weights, photo, "--presets", "day,dusk", "--quiet")
    assert_one_line_error(result, 2, "unknown preset 'dusk' (known: day, night)")


def test_bad_style_code(tiny_weights, photo):
    assert_one_line_error(
        run_hidt("timelapse", tiny_weights, photo, "--presets", "1:2", "--quiet"),
        2,
        "'1:2' is not a style code",
    )


@pytest.mark.parametrize("choice", [[], ["--presets", "day", "--guide", "x.mp4"]])
def test_exactly_one_source(tiny_weights, photo, choice):
    result = run_hidt("timelapse", tiny_weights, photo, *choice, "--quiet")
    assert_one_line_error(result, 2, "give exactly one of --guide VIDEO or --presets")


# ------------------------------------------------------------------ the parts


def test_codes_of_a_constant_video_are_equal(model, constant):
    codes = guide_codes(model, constant, stride=5, sigma=2.0, inference_size=32)
    assert codes.shape == (5, model.style_dim)  # frames 0, 5, 10, 15, 20
    torch.testing.assert_close(codes, codes[:1].expand_as(codes), atol=1e-3, rtol=0)


def test_codes_follow_the_guide(model, ramp):
    """Unsmoothed codes are those of the frames themselves; smoothing only calms them."""
    raw = guide_codes(model, ramp, stride=2, sigma=0, inference_size=32)
    capture = cv2.VideoCapture(ramp)
    frames = [cv2.cvtColor(capture.read()[1], cv2.COLOR_BGR2RGB) for _ in range(GUIDE_FRAMES)][::2]
    capture.release()
    direct = torch.cat(
        [model.styles_of_images(photo_tensor(f, model.device).float(), 32) for f in frames]
    )
    torch.testing.assert_close(raw, direct)
    assert not torch.allclose(raw[0], raw[-1])
    smooth = guide_codes(model, ramp, stride=2, sigma=2.0, inference_size=32)
    assert smooth.diff(dim=0).abs().sum() < raw.diff(dim=0).abs().sum()


@pytest.mark.parametrize("hires", [False, True])
def test_render_matches_translate(model, hires):
    """Encoding the content once gives the frames `translate_tensor` gives; by default they
    are brought to the photo's size."""
    rgb = make_photo()
    codes = interpolate_codes(torch.tensor([model.presets["night"], model.presets["day"]]), 5)
    native = RenderSpec(hires, 32, native_size=True)
    batches = list(render_frames(model, rgb, codes, native, batch=2))
    assert [len(b) for b in batches] == [2, 2, 1]
    expected = to_uint8(
        model.translate_tensor(
            photo_tensor(rgb, model.device).float(), codes, hires=hires, inference_size=32
        )
    )
    assert np.abs(np.concatenate(batches).astype(int) - expected).max() <= 1
    full = np.concatenate(list(render_frames(model, rgb, codes, RenderSpec(hires, 32))))
    assert full.shape == (5, *rgb.shape)
    shrunk = np.concatenate(
        list(render_frames(model, rgb, codes, RenderSpec(hires, 32), max_side=48))
    )
    assert shrunk.shape == (5, 32, 48, 3)


def test_workers_side_by_side_render_the_same_frames_in_order(model):
    rgb = make_photo()
    codes = interpolate_codes(torch.tensor([model.presets["night"], model.presets["day"]]), 7)
    spec = RenderSpec(inference_size=32)
    alone = list(render_frames(model, rgb, codes, spec, batch=2))
    together = list(render_frames(model, rgb, codes, spec, batch=2, workers=3))
    assert [len(b) for b in together] == [2, 2, 2, 1]
    assert np.array_equal(np.concatenate(alone), np.concatenate(together))


def test_the_batch_policy_keeps_every_cpu_worker_busy():
    cpu, gpu = torch.device("cpu"), torch.device("meta")
    assert batch_size(cpu, styles=48, workers=2) == 4
    assert batch_size(cpu, styles=4, workers=2) == 2  # two batches of two, not one of four
    assert batch_size(cpu, styles=1, workers=2) == 1
    assert batch_size(cpu, styles=48, hires=True) == 1  # each is already 16 crops
    assert batch_size(cpu) == 1 and batch_size(gpu) == 8  # photos or frames
    assert batch_size(gpu, styles=3, workers=1) == 8


def test_strip_indices():
    assert strip_indices(3) == {0, 1, 2}
    picks = strip_indices(100)
    assert len(picks) == 8 and {0, 99} <= picks
