"""sRGB → CIELAB, Reinhard transfer, Lab L1 and SSIM against known values."""

from __future__ import annotations

import math

import pytest
import torch

from hidt_cli.eval.color import (
    delta_e76,
    lab_l1,
    lab_to_srgb,
    match_statistics,
    reinhard_transfer,
    srgb_to_lab,
)
from hidt_cli.eval.ssim import K1, ssim

# sRGB colours and their CIELAB (D65) values, from the standard formulas.
KNOWN_LAB = {
    (1.0, 1.0, 1.0): (100.0, 0.0, 0.0),
    (0.0, 0.0, 0.0): (0.0, 0.0, 0.0),
    (1.0, 0.0, 0.0): (53.2408, 80.0925, 67.2032),
    (0.0, 1.0, 0.0): (87.7347, -86.1827, 83.1793),
    (0.0, 0.0, 1.0): (32.2970, 79.1875, -107.8602),
}


def colour(rgb: tuple[float, float, float]) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float64).view(1, 3, 1, 1)


@pytest.mark.parametrize(("rgb", "lab"), KNOWN_LAB.items())
def test_srgb_to_lab_known_values(rgb, lab):
    assert srgb_to_lab(colour(rgb)).flatten().tolist() == pytest.approx(lab, abs=2e-3)


def test_delta_e76_is_the_euclidean_lab_distance_per_image():
    white, red = colour((1.0, 1.0, 1.0)), colour((1.0, 0.0, 0.0))
    pair = delta_e76(torch.cat([white, red]), torch.cat([colour((0.0, 0.0, 0.0)), red]))
    assert pair.tolist() == pytest.approx([100.0, 0.0], abs=1e-4)
    expected = math.dist(KNOWN_LAB[(1.0, 0.0, 0.0)], KNOWN_LAB[(0.0, 0.0, 1.0)])
    assert delta_e76(red, colour((0.0, 0.0, 1.0))).item() == pytest.approx(expected, abs=1e-3)


def test_lab_round_trip_and_float32():
    images = torch.rand(2, 3, 9, 7, dtype=torch.float64)
    assert torch.allclose(lab_to_srgb(srgb_to_lab(images)), images, atol=1e-9)
    assert srgb_to_lab(images.float()).dtype == torch.float32


def test_match_statistics_gives_the_target_mean_and_std():
    source, target = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16) * 5 + 2
    matched = match_statistics(source, target)
    assert torch.allclose(matched.mean((2, 3)), target.mean((2, 3)), atol=1e-4)
    assert torch.allclose(matched.std((2, 3)), target.std((2, 3)), atol=1e-4)


def test_reinhard_transfer_moves_colours_towards_the_target():
    source = torch.rand(1, 3, 16, 16, dtype=torch.float64) * 0.3 + 0.6  # bright
    target = torch.rand(1, 3, 16, 16, dtype=torch.float64) * 0.1 + 0.05  # dark
    out = reinhard_transfer(source, target)
    target_lab, out_lab = srgb_to_lab(target), srgb_to_lab(out)
    assert torch.allclose(out_lab.mean((2, 3)), target_lab.mean((2, 3)), atol=0.05)
    assert torch.allclose(out_lab.std((2, 3)), target_lab.std((2, 3)), atol=0.05)
    assert out.min() >= 0 and out.max() <= 1


def test_lab_l1_is_zero_for_identical_and_known_for_white_black():
    images = torch.rand(2, 3, 8, 8)
    assert lab_l1(images, images).abs().max() < 1e-4
    white, black = torch.ones(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    assert lab_l1(white, black).item() == pytest.approx(100.0, abs=1e-2)


def test_ssim_of_identical_images_is_one():
    images = torch.rand(2, 3, 32, 24)
    assert ssim(images, images).tolist() == pytest.approx([1.0, 1.0], abs=1e-6)


def test_ssim_of_flat_images_is_the_luminance_term():
    a, b = 0.2, 0.6
    c1 = K1**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)  # no variance: the other term is 1
    value = ssim(torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b)).item()
    assert value == pytest.approx(expected, abs=1e-6)


def test_ssim_falls_with_noise_and_refuses_bad_shapes():
    images = torch.rand(1, 3, 32, 32)
    noisy = (images + 0.3 * torch.randn_like(images)).clamp(0, 1)
    assert ssim(images, noisy).item() < 0.9
    with pytest.raises(ValueError):
        ssim(images, images[..., :16])
    with pytest.raises(ValueError):
        ssim(images[..., :8, :8], images[..., :8, :8])
