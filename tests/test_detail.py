"""The detail-transfer stage: it recovers a known colour operator at full resolution from a
low-resolution pair, keeps edges without halos, works on any shape and in strips."""

from __future__ import annotations

import math

import pytest
import torch

from hidt_cli import detail, hires
from hidt_cli.eval.fidelity import fine_band_correlation, shrunk_lab_difference


def textured(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """1×3×H×W in [0, 255]: smooth colour gradients with texture at several scales on top,
    as in photos (leaves to branches), partly shared across channels like luminance."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.linspace(0, 1, height).view(1, 1, -1, 1)
    x = torch.linspace(0, 1, width).view(1, 1, 1, -1)
    ones = torch.ones(1, 1, height, width)
    base = torch.cat([0.3 + 0.4 * x * ones, 0.5 - 0.2 * y + 0.1 * x, 0.25 + 0.3 * y * ones], 1)
    texture = torch.zeros(1, 3, height, width)
    for cell in (1, 4, 16):
        noise = torch.rand(1, 3, -(-height // cell), -(-width // cell), generator=generator)
        noise = torch.nn.functional.interpolate(noise - 0.5, scale_factor=cell, mode="bilinear")
        texture += noise[:, :, :height, :width] / 3
    fine = 0.12 * texture + 0.12 * texture[:, :1]
    return ((base + fine).clamp(0, 1) * 255).round()


def known_operator(images_255: torch.Tensor) -> torch.Tensor:
    """A global tone curve times a smooth spatial gain, then a cross-channel colour matrix:
    what a change of light does, with no detail of its own."""
    x = images_255 / 255
    _, _, h, w = x.shape
    curve = x**0.8
    rows = torch.linspace(0, 1, h).view(1, 1, -1, 1)
    cols = torch.linspace(0, 1, w).view(1, 1, 1, -1)
    gain = 0.55 + 0.35 * torch.sin(math.pi * rows) * (0.7 + 0.3 * cols)
    matrix = torch.tensor([[0.7, 0.2, 0.05], [0.1, 0.75, 0.1], [0.05, 0.25, 0.9]])
    mixed = torch.einsum("ji,bihw->bjhw", matrix, curve * gain)
    return (mixed.clamp(0, 1) * 255).round()


def low_res_pair(photo_255: torch.Tensor, target_255: torch.Tensor, shape: tuple[int, int]):
    x_lr = hires.resize_255(photo_255, shape, "bicubic") / 255
    y_lr = hires.resize_255(target_255, shape, "bicubic") / 255
    return x_lr, y_lr


DEFAULT = detail.DetailConfig()


def render(photo_255, x_lr, y_lr, config=DEFAULT) -> torch.Tensor:
    return planar(detail.transfer(detail.transforms(x_lr, y_lr, config), photo_255, config))


def planar(result: torch.Tensor) -> torch.Tensor:
    """The stage's B×H×W×3 uint8 result as B×3×H×W float, like the photos here."""
    return result.permute(0, 3, 1, 2).float()


def test_known_operator_is_recovered_at_full_resolution():
    photo = textured(512, 768)
    target = known_operator(photo)
    x_lr, y_lr = low_res_pair(photo, target, (64, 96))
    # The networks' output is soft: the pair's target is blurred, the stage must not be.
    y_lr = detail.gaussian_blur(y_lr, 1.0)
    out = render(photo, x_lr, y_lr)
    error = (out - target).abs().mean()
    assert error <= 2.0, f"mean error {error:.2f}/255"
    plain = hires.resize_255(y_lr * 255, tuple(photo.shape[-2:]), "bicubic")
    assert fine_band_correlation(target, out) > 0.95
    assert fine_band_correlation(target, plain) < 0.5  # a plain resize loses the texture


def test_sharp_edge_leaves_no_wide_halo():
    """Two regions that change differently (a bright sky darkened a lot, a dark ground a
    little): away from two low-res pixels of the edge the result is the operator's."""
    height, width, scale = 256, 256, 8
    photo = textured(height, width, seed=1) * 0.3
    photo[:, :, : height // 2] += 170  # a bright "sky" over a dark "ground"
    target = photo.clone()
    target[:, :, : height // 2] *= 0.3
    target[:, :, height // 2 :] *= 0.9
    target = target.round()
    x_lr, y_lr = low_res_pair(photo, target, (height // scale, width // scale))
    out = render(photo, x_lr, y_lr)
    error_by_row = (out - target).abs().mean((0, 1, 3))
    edge = height // 2
    far = torch.cat([error_by_row[: edge - 2 * scale], error_by_row[edge + 2 * scale :]])
    assert far.max() <= 3.0, f"halo reaches past 2 low-res pixels: {far.max():.1f}/255"


@pytest.mark.parametrize(("height", "width"), [(37, 53), (31, 992), (992, 31), (1, 40), (40, 1)])
def test_odd_sizes_and_extreme_aspects(height, width):
    photo = textured(height, width, seed=2)
    shape = hires.inference_shape(height, width, 16)
    x_lr, y_lr = low_res_pair(photo, known_operator(photo), shape)
    out = render(photo, x_lr, y_lr)
    assert out.shape == photo.shape
    assert torch.isfinite(out).all()


def test_strips_equal_one_piece():
    photo = textured(301, 203, seed=3)
    x_lr, y_lr = low_res_pair(photo, known_operator(photo), (48, 32))
    whole = render(photo, x_lr, y_lr, detail.DetailConfig(strip_pixels=10**9))
    strips = render(photo, x_lr, y_lr, detail.DetailConfig(strip_pixels=203 * 7))
    assert torch.equal(whole, strips)


def test_upsampling_matches_bilinear_interpolation():
    """The strip-wise upsampling is torch's bilinear resize, so no seam or shift is added."""
    field = torch.rand(1, 12, 9, 13)
    photo = torch.full((1, 3, 50, 70), 255.0)
    identity = torch.zeros(1, 12, 9, 13)
    identity[:, 9:] = field[:, :3] * 0.5  # offsets only: the output is the offset field
    out = planar(detail.transfer(identity, photo * 0, detail.DetailConfig()))
    want = torch.nn.functional.interpolate(identity[:, 9:], (50, 70), mode="bilinear")
    assert (out - (want * 255).round()).abs().max() <= 1


def test_batched_photos_fit_independently():
    photos = torch.cat([textured(64, 96, seed=4), textured(64, 96, seed=5)])
    targets = known_operator(photos)
    x_lr, y_lr = low_res_pair(photos, targets, (32, 48))
    together = render(photos, x_lr, y_lr)
    alone = render(photos[1:], x_lr[1:], y_lr[1:])
    assert torch.equal(together[1:], alone)


def test_residual_adds_back_what_the_transform_cannot_say():
    """A lit window one low-res pixel wide: the local transforms spread it over their window;
    the residual weight brings its peak back."""
    photo = textured(128, 128, seed=7) * 0.5
    target = photo * 0.5
    target[:, :, 60:68, 60:68] = 240
    x_lr, y_lr = low_res_pair(photo, target, (16, 16))
    spot = (slice(None), slice(None), slice(60, 68), slice(60, 68))
    without = render(photo, x_lr, y_lr)
    with_residual = render(photo, x_lr, y_lr, detail.DetailConfig(residual=1.0))
    assert with_residual[spot].mean() > without[spot].mean() + 20


def test_fidelity_measures_tell_detail_from_blur():
    photo = textured(256, 256, seed=6)
    target = known_operator(photo)
    x_lr, y_lr = low_res_pair(photo, target, (64, 64))
    out = render(photo, x_lr, y_lr)
    plain = hires.resize_255(y_lr * 255, (256, 256), "bicubic")
    assert fine_band_correlation(photo, out) > 0.85
    assert fine_band_correlation(photo, plain) < 0.3
    assert shrunk_lab_difference(out, y_lr * 2 - 1) < 2.0


def test_one_photo_many_styles():
    """A timelapse: one photo, several translations; each result is that translation's."""
    photo = textured(64, 96, seed=8)
    targets = torch.cat([known_operator(photo), 255 - known_operator(photo)])
    x_lr, y_lr = low_res_pair(photo, targets, (32, 48))
    together = render(photo, x_lr[:1], y_lr)
    assert together.shape == (2, 3, 64, 96)
    assert torch.equal(together[1:], render(photo, x_lr[:1], y_lr[1:]))


def test_bf16_apply_stays_within_a_few_levels():
    """The GPU's bf16 passes: mean error under half an 8-bit level, none past four."""
    photo = textured(256, 384, seed=9)
    x_lr, y_lr = low_res_pair(photo, known_operator(photo), (64, 96))
    coefficients = detail.fit(x_lr, y_lr, detail.DetailConfig())
    config = detail.DetailConfig()
    full, half = (
        planar(detail.transfer(coefficients, photo, config, dtype=dtype))
        for dtype in (torch.float32, torch.bfloat16)
    )
    error = (full - half).abs()
    assert error.mean() < 0.5 and error.max() <= 4
