"""The shipped default weights: they load through the manifest, carry presets computed from
the training photos, and do what the README promises — night is darker and keeps the photo's
structure, prior styles differ, and --hires works out of the box."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import hidt_cli
from hidt_cli.eval.color import srgb_to_lab
from hidt_cli.eval.fidelity import fine_band_correlation, shrunk_lab_difference
from hidt_cli.ranges import photo_tensor
from hidt_cli.styles import sample_prior
from hidt_cli.weights import default_weights_dir
from tests.conftest import DEFAULTS

DAY_PHOTOS = ["weather-shine-0743.jpg", "amos-day-1216.jpg", "weather-shine-0842.jpg"]
SIZE = 128


@pytest.fixture(scope="module")
def day_photos(shared) -> list[Image.Image]:
    folder = shared / "data" / "daytime"
    return [Image.open(folder / name).convert("RGB") for name in DAY_PHOTOS]


def luminance(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float64) / 255


def edges(image: Image.Image) -> np.ndarray:
    """Gradient magnitude of the luminance: where the photo's structure is."""
    gy, gx = np.gradient(luminance(image))
    return np.hypot(gx, gy)


def test_defaults_are_found_and_verified_without_options(monkeypatch):
    monkeypatch.delenv("HIDT_WEIGHTS_DIR", raising=False)
    assert default_weights_dir() == DEFAULTS
    loaded = hidt_cli.load(device="cpu")
    assert loaded.info.generator.source.startswith("default weights")
    assert loaded.enhancer is not None


def test_presets_are_the_daytime_classes(default_model):
    assert set(default_model.presets) == {
        "cloudy",
        "day",
        "dusk",
        "night",
        "rain",
        "sunset",
        "webcam-night",
    }
    day, night = (torch.tensor(default_model.presets[n]) for n in ("day", "night"))
    assert (day - night).norm() > 1.0  # far apart on the N(0, I) prior's scale


def test_night_preset_darkens_and_keeps_structure(default_model, day_photos):
    for photo in day_photos:
        night = default_model.translate(photo, "night", inference_size=SIZE)
        day = default_model.translate(photo, "day", inference_size=SIZE)
        assert night.size == photo.size
        assert luminance(night).mean() < 0.5 * luminance(photo).mean()
        assert luminance(night).mean() < 0.5 * luminance(day).mean()
        correlation = np.corrcoef(edges(photo).ravel(), edges(night).ravel())[0, 1]
        assert correlation > 0.3, correlation


def test_night_preset_is_a_blue_night_not_a_brown_darkening(default_model, day_photos):
    """The night preset is fitted to night photographs under a dark-blue sky
    (weights/training/fit_night_preset.py); the class-mean night it replaced was warm (b* > 0)."""
    for photo in day_photos:
        night = photo_tensor(
            default_model.translate(photo, "night", inference_size=SIZE), "cpu"
        ).float()
        lab = srgb_to_lab(night / 255).mean((0, 2, 3))
        assert lab[2] < -5, lab.tolist()  # blue
        assert abs(lab[1]) < 5, lab.tolist()  # neither green nor magenta


def test_prior_styles_give_varied_lighting(default_model, day_photos):
    codes = sample_prior(6, seed=3, dim=default_model.style_dim)
    means = [
        np.asarray(
            default_model.translate(day_photos[0], code, inference_size=SIZE), np.float64
        ).mean((0, 1))
        for code in codes.numpy()
    ]
    assert np.std(means, axis=0).max() > 10  # in 8-bit levels, per channel


def test_hires_works_with_the_defaults(default_model, day_photos):
    out = default_model.translate(day_photos[1], "night", hires=True, inference_size=64)
    assert out.size == day_photos[1].size


HIRES_PHOTOS = ["Path.jpg", "night-san-francisco-skyline.jpg"]


@pytest.mark.parametrize("name", HIRES_PHOTOS)
def test_full_resolution_keeps_the_photos_detail_and_the_networks_light(
    default_model, shared, name
):
    """The detail-transfer stage on real 2-MP photos: the output has the photo's fine detail
    where a plain resize has none, and shrunk back it is the networks' translation."""
    photo = Image.open(shared / "data" / "hires" / name).convert("RGB")
    photo_255 = photo_tensor(photo, torch.device("cpu")).float()
    code = default_model.style_code("night")
    translation = default_model.translate_tensor(photo_255, code, inference_size=SIZE)
    detailed = default_model.translate(photo, "night", inference_size=SIZE)
    plain = default_model.translate(photo, "night", inference_size=SIZE, plain_resize=True)
    assert detailed.size == plain.size == photo.size
    detailed_255, plain_255 = (
        photo_tensor(i, torch.device("cpu")).float() for i in (detailed, plain)
    )
    assert fine_band_correlation(photo_255, detailed_255) > 0.85
    assert fine_band_correlation(photo_255, plain_255) < 0.2
    assert shrunk_lab_difference(detailed_255, translation) < 4.0


def test_hires_output_is_carried_to_the_photos_size_with_its_detail(default_model, shared):
    """G_enh's output (4× the inference size, smaller than the photo) goes on through the
    detail stage, with windows scaled to its finer grid: sharp, not an upscale of soft."""
    photo = Image.open(shared / "data" / "hires" / HIRES_PHOTOS[0]).convert("RGB")
    out = default_model.translate(photo, "night", hires=True, inference_size=64)
    assert out.size == photo.size
    cpu = torch.device("cpu")
    assert (
        fine_band_correlation(photo_tensor(photo, cpu).float(), photo_tensor(out, cpu).float())
        > 0.85
    )
