"""Style codes: parsing, sampling, interpolation and temporal smoothing."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from hidt_cli.io.images import ImageError
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
    assert parse_style_code("0.25 -1 2").tolist() == [[0.25, -1.0, 2.0]]  # spaces separate too
    assert parse_style_code("1,2", dim=2).tolist() == [[1.0, 2.0]]
    for bad, reason in (
        ("1,2", "must have 3 comma-separated numbers"),
        ("", "must have 3 comma-separated numbers"),
        ("1,2,x", "must contain only numbers"),
        ("1,2,nan", "must contain finite numbers"),
    ):
        with pytest.raises(ValueError, match=f"style code {bad!r} {reason}"):
            parse_style_code(bad)


def test_prior_samples_are_seeded():
    assert torch.equal(sample_prior(4, seed=7), sample_prior(4, seed=7))
    assert not torch.equal(sample_prior(4, seed=7), sample_prior(4, seed=8))
    assert sample_prior(1000, seed=0).std().item() == pytest.approx(1.0, abs=0.05)
    assert sample_prior(2, seed=1, dim=8).shape == (2, 8)
    assert sample_prior(2).shape == (2, 3)  # the paper's three numbers
    assert not torch.equal(sample_prior(4), sample_prior(4))  # no seed: fresh draws


def test_interpolation_passes_through_the_keyframes():
    keys = torch.tensor([[0.0, 0, 0], [1, 2, 3], [3, 3, 3]])
    path = interpolate_codes(keys, 5)
    assert (
        torch.equal(path[0], keys[0])
        and torch.equal(path[2], keys[1])
        and torch.equal(path[4], keys[2])
    )
    assert torch.allclose(path[1], (keys[0] + keys[1]) / 2)
    assert torch.equal(interpolate_codes(keys[:1], 3), keys[:1].expand(3, 3))
    assert torch.equal(interpolate_codes(keys, 1), keys[:1])  # one frame: the first keyframe
    assert torch.equal(interpolate_codes(keys, 2), keys[[0, 2]])  # two: the first and the last
    assert torch.equal(
        interpolate_codes(keys[:2], 3), torch.tensor([[0, 0, 0], [0.5, 1, 1.5], [1, 2, 3]])
    )
    with pytest.raises(ValueError, match="^frames must be at least 1$"):
        interpolate_codes(keys, 0)


def test_interpolation_keeps_the_keyframes_precision():
    keys = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    assert torch.equal(
        interpolate_codes(keys, 4)[:, 0], torch.linspace(0, 1, 4, dtype=torch.float64)
    )


def test_smoothing_removes_jitter_but_keeps_constants_and_length():
    torch.manual_seed(0)
    ramp = torch.linspace(0, 1, 50)[:, None].repeat(1, 3)
    noisy = ramp + 0.1 * torch.randn(50, 3)
    smooth = smooth_codes(noisy, 2.0)
    assert smooth.shape == noisy.shape
    assert (smooth - ramp).abs().mean() < (noisy - ramp).abs().mean() / 2
    assert torch.allclose(smooth_codes(torch.ones(7, 3), 3.0), torch.ones(7, 3))
    assert torch.equal(smooth_codes(noisy, 0), noisy)
    assert torch.equal(smooth_codes(noisy[:1], 2.0), noisy[:1])


@pytest.mark.parametrize("sigma", [0.2, 0.5, 2.0])
def test_smoothing_spreads_a_jump_as_a_gaussian_truncated_at_3_sigma(sigma):
    """An impulse comes out as the normalised Gaussian of sigma frames over ±ceil(3σ)."""
    impulse = torch.zeros(31, 2, dtype=torch.float64)
    impulse[15] = 1
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    want = torch.zeros(31, dtype=torch.float64)
    want[15 - radius : 15 + radius + 1] = kernel / kernel.sum()
    smooth = smooth_codes(impulse, sigma)
    torch.testing.assert_close(smooth, want[:, None].expand(31, 2))


def test_two_codes_are_smoothed_towards_each_other():
    codes = torch.tensor([[0.0], [1.0]])
    smooth = smooth_codes(codes, 1.0)
    assert 0 < smooth[0, 0] < smooth[1, 0] < 1


def test_published_presets_are_three_numbers_each():
    assert len(PUBLISHED_PRESETS) == 18 and all(len(v) == 3 for v in PUBLISHED_PRESETS.values())


# --- what users get wrong: named, with the way out ---------------------------------------------


def published_resolver() -> StyleResolver:
    def encode_image(_: object) -> torch.Tensor:
        raise AssertionError("no image is read in these tests")

    return StyleResolver(PUBLISHED_PRESETS, 3, encode_image)


def test_a_misspelt_preset_gets_the_close_name():
    with pytest.raises(StyleError, match=r"unknown preset 'nigth'; did you mean 'night'\? \(known"):
        published_resolver().preset("nigth")
    with pytest.raises(StyleError, match=r"did you mean 'sunsetred'\?"):
        published_resolver().keyframe("sunset_red")
    with pytest.raises(StyleError) as caught:
        published_resolver().preset("qqqq")
    assert "did you mean" not in str(caught.value) and "known: 2minute" in str(caught.value)


@pytest.mark.parametrize("limit", [STYLE_CODE_LIMIT, -STYLE_CODE_LIMIT])
def test_codes_up_to_the_limit_are_taken(limit: float):
    assert parse_style_code(f"{limit},0,0").tolist() == [[limit, 0.0, 0.0]]
    assert published_resolver().resolve([0.0, limit, 0.0]).tolist() == [[0.0, limit, 0.0]]


@pytest.mark.parametrize(
    "use",
    [
        lambda: parse_style_code("1e30,1e30,-1e30"),
        lambda: published_resolver().code("10.01,0,0"),
        lambda: published_resolver().keyframe("0:-11:0"),
        lambda: published_resolver().resolve([0.0, 0.0, -1e30]),
        lambda: published_resolver().resolve(torch.tensor([[50.0, 0.0, 0.0]])),
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
        published_resolver().resolve([float("inf"), 0.0, 0.0])


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


def mean_colour(rgb: np.ndarray) -> torch.Tensor:
    """A style encoder for the resolver's tests: the photo's mean colour in [0, 1]."""
    return torch.from_numpy(rgb.reshape(-1, 3).mean(0) / 255).float()[None]


@pytest.fixture
def resolver() -> StyleResolver:
    return StyleResolver({"night": (-0.5, -1.0, -1.0), "day": (0.2, 0.5, 0.3)}, 3, mean_colour)


@pytest.fixture
def red_photo(tmp_path) -> Image.Image:
    image = Image.new("RGB", (8, 6), (255, 0, 51))
    image.save(tmp_path / "red.png")
    return image


def test_resolver_names_presets_and_what_it_knows(resolver):
    assert torch.equal(resolver.preset("night"), torch.tensor([[-0.5, -1.0, -1.0]]))
    assert torch.equal(resolver.resolve("day"), torch.tensor([[0.2, 0.5, 0.3]]))
    with pytest.raises(StyleError, match=r"unknown preset 'noon' \(known: day, night\)"):
        resolver.preset("noon")
    empty = StyleResolver({}, 3, mean_colour)
    with pytest.raises(StyleError, match=r"\(known: none: these weights define no presets\)$"):
        empty.preset("night")


def test_resolver_reads_codes_with_any_separator(resolver):
    assert resolver.code("1,2,3").tolist() == [[1.0, 2.0, 3.0]]
    assert resolver.code("1;2;3", ";").tolist() == [[1.0, 2.0, 3.0]]
    assert StyleResolver({}, 2, mean_colour).code("1,2").tolist() == [[1.0, 2.0]]
    with pytest.raises(StyleError, match="must have 3"):
        resolver.code("1,2")


def test_keyframes_are_presets_or_codes_joined_by_colons(resolver):
    assert resolver.keyframe("night").tolist() == [[-0.5, -1.0, -1.0]]
    assert resolver.keyframe("0.5:-1:2").tolist() == [[0.5, -1.0, 2.0]]
    with pytest.raises(StyleError, match="'1:2' is not a style code of 3 numbers joined by colons"):
        resolver.keyframe("1:2")
    with pytest.raises(StyleError, match="unknown preset 'dawn'"):
        resolver.keyframe("dawn")


def test_resolver_takes_the_style_of_an_image_in_any_form(resolver, red_photo, tmp_path):
    want = torch.tensor([[1.0, 0.0, 0.2]])
    translucent = red_photo.convert("RGBA")
    translucent.putalpha(128)  # converted to RGB first: the alpha is not a colour
    for style in (
        str(tmp_path / "red.png"),
        tmp_path / "red.png",
        red_photo,
        translucent,
        np.asarray(red_photo),
    ):
        torch.testing.assert_close(resolver.resolve(style), want)
    with pytest.raises(ImageError, match="48 pixels is over the limit of 40"):
        resolver.image(tmp_path / "red.png", max_pixels=40)  # 8×6 = 48 pixels


def test_resolver_takes_codes_and_refuses_what_is_neither(resolver, tmp_path):
    code = resolver.resolve([1, 2, 3])
    assert code.dtype == torch.float32 and code.tolist() == [[1.0, 2.0, 3.0]]
    assert resolver.resolve(torch.tensor([[1.0, 2.0, 3.0]])).tolist() == [[1.0, 2.0, 3.0]]
    assert resolver.resolve(np.array([0.5, 0.5, 0.5])).tolist() == [[0.5, 0.5, 0.5]]
    missing = str(tmp_path / "nowhere.png")
    with pytest.raises(StyleError, match=re.escape(f"unknown preset {missing!r} (known: day")):
        resolver.resolve(missing)
    for bad in ([1, 2], [1, 2, float("inf")]):
        with pytest.raises(StyleError, match="a style code needs 3 finite numbers"):
            resolver.resolve(bad)
