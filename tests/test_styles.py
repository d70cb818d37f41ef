"""Style codes: parsing, sampling, interpolation and temporal smoothing."""

from __future__ import annotations

import pytest
import torch

from hidt_cli.styles import (
    PUBLISHED_PRESETS,
    interpolate_codes,
    parse_style_code,
    sample_prior,
    smooth_codes,
)


def test_parse_style_code():
    assert parse_style_code("-0.5,-1.0, -1").tolist() == [[-0.5, -1.0, -1.0]]
    for bad in ("1,2", "1,2,x", "1,2,nan", ""):
        with pytest.raises(ValueError):
            parse_style_code(bad)


def test_prior_samples_are_seeded():
    assert torch.equal(sample_prior(4, seed=7), sample_prior(4, seed=7))
    assert not torch.equal(sample_prior(4, seed=7), sample_prior(4, seed=8))
    assert sample_prior(5000, seed=0).std().item() == pytest.approx(1.0, abs=0.05)


def test_interpolation_passes_through_the_keyframes():
    keys = torch.tensor([[0.0, 0, 0], [1, 2, 3], [3, 3, 3]])
    path = interpolate_codes(keys, 5)
    assert (
        torch.equal(path[0], keys[0])
        and torch.equal(path[2], keys[1])
        and torch.equal(path[4], keys[2])
    )
    assert torch.allclose(path[1], (keys[0] + keys[1]) / 2)
    assert interpolate_codes(keys[:1], 3).shape == (3, 3)


def test_smoothing_removes_jitter_but_keeps_constants_and_length():
    torch.manual_seed(0)
    ramp = torch.linspace(0, 1, 50)[:, None].repeat(1, 3)
    noisy = ramp + 0.1 * torch.randn(50, 3)
    smooth = smooth_codes(noisy, 2.0)
    assert smooth.shape == noisy.shape
    assert (smooth - ramp).abs().mean() < (noisy - ramp).abs().mean() / 2
    assert torch.allclose(smooth_codes(torch.ones(7, 3), 3.0), torch.ones(7, 3))
    assert torch.equal(smooth_codes(noisy, 0), noisy)


def test_published_presets_are_three_numbers_each():
    assert len(PUBLISHED_PRESETS) == 18 and all(len(v) == 3 for v in PUBLISHED_PRESETS.values())
