"""Style codes: parsing, sampling, interpolation and temporal smoothing."""

from __future__ import annotations

import pytest
import torch

from hidt_cli.styles import (
    MAX_RANDOM_STYLES,
    PUBLISHED_PRESETS,
    SEED_LIMIT,
    STYLE_CODE_LIMIT,
    StyleError,
    StyleResolver,
    check_random_count,
    check_seed,
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
    assert sample_prior(1000, seed=0).std().item() == pytest.approx(1.0, abs=0.05)


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


# --- what users get wrong: named, with the way out ---------------------------------------------


def resolver() -> StyleResolver:
    def encode_image(_: object) -> torch.Tensor:
        raise AssertionError("no image is read in these tests")

    return StyleResolver(PUBLISHED_PRESETS, 3, encode_image)


def test_a_misspelt_preset_gets_the_close_name():
    with pytest.raises(StyleError, match=r"unknown preset 'nigth'; did you mean 'night'\? \(known"):
        resolver().preset("nigth")
    with pytest.raises(StyleError, match=r"did you mean 'sunsetred'\?"):
        resolver().keyframe("sunset_red")
    with pytest.raises(StyleError) as caught:
        resolver().preset("qqqq")
    assert "did you mean" not in str(caught.value) and "known: 2minute" in str(caught.value)


@pytest.mark.parametrize("limit", [STYLE_CODE_LIMIT, -STYLE_CODE_LIMIT])
def test_codes_up_to_the_limit_are_taken(limit: float):
    assert parse_style_code(f"{limit},0,0").tolist() == [[limit, 0.0, 0.0]]
    assert resolver().resolve([0.0, limit, 0.0]).tolist() == [[0.0, limit, 0.0]]


@pytest.mark.parametrize(
    "use",
    [
        lambda: parse_style_code("1e30,1e30,-1e30"),
        lambda: resolver().code("10.01,0,0"),
        lambda: resolver().keyframe("0:-11:0"),
        lambda: resolver().resolve([0.0, 0.0, -1e30]),
        lambda: resolver().resolve(torch.tensor([[50.0, 0.0, 0.0]])),
    ],
    ids=["parse", "code", "keyframe", "list", "tensor"],
)
def test_codes_beyond_the_limit_are_refused_saying_why(use):
    with pytest.raises(StyleError, match=r"is outside ±10: codes of photos lie within about ±3"):
        use()


def test_not_finite_codes_are_refused():
    for bad in ("inf,0,0", "0,nan,0"):
        with pytest.raises(ValueError, match="finite"):
            parse_style_code(bad)
    with pytest.raises(StyleError, match="finite"):
        resolver().resolve([float("inf"), 0.0, 0.0])


@pytest.mark.parametrize("seed", [0, 1, SEED_LIMIT - 1])
def test_seeds_in_range_sample(seed: int):
    check_seed(seed)
    assert sample_prior(2, seed=seed).shape == (2, 3)


@pytest.mark.parametrize("seed", [-1, SEED_LIMIT, 99999999999999999999999])
def test_seeds_out_of_range_name_the_option_and_the_range(seed: int):
    expected = f"--seed {seed} must be between 0 and {SEED_LIMIT - 1}"
    with pytest.raises(StyleError) as caught:
        sample_prior(2, seed=seed)
    assert str(caught.value) == expected
    with pytest.raises(StyleError):
        check_seed(seed)


def test_the_number_of_random_styles_is_bounded():
    assert sample_prior(MAX_RANDOM_STYLES, seed=0).shape == (MAX_RANDOM_STYLES, 3)
    for count in (0, MAX_RANDOM_STYLES + 1, 1_000_000):
        with pytest.raises(StyleError, match=f"between 1 and {MAX_RANDOM_STYLES} at once"):
            check_random_count(count)
        with pytest.raises(StyleError):
            sample_prior(count)
