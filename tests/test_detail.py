"""The detail-transfer stage: it recovers a known colour operator at full resolution from a
low-resolution pair, keeps edges without halos, works on any shape and in strips."""

from __future__ import annotations

import math

import pytest
import torch

from hidt_cli import detail, hires
from hidt_cli.eval.fidelity import fine_band_correlation, shrunk_lab_difference
from hidt_cli.ranges import photo_tensor
from tests.images import textured


def textured_255(width: int, height: int, seed: int = 0) -> torch.Tensor:
    """A textured photo (tests/images.py) as the 1×3×H×W float batch in [0, 255] the stage
    takes."""
    return photo_tensor(textured(width, height, seed), "cpu").float()


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
    photo = textured_255(768, 512)
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
    photo = textured_255(width, height, seed=1) * 0.3
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
    photo = textured_255(width, height, seed=2)
    shape = hires.inference_shape(height, width, 16)
    x_lr, y_lr = low_res_pair(photo, known_operator(photo), shape)
    out = render(photo, x_lr, y_lr)
    assert out.shape == photo.shape
    assert torch.isfinite(out).all()


def test_strips_equal_one_piece():
    photo = textured_255(203, 301, seed=3)
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
    photos = torch.cat([textured_255(96, 64, seed=4), textured_255(96, 64, seed=5)])
    targets = known_operator(photos)
    x_lr, y_lr = low_res_pair(photos, targets, (32, 48))
    together = render(photos, x_lr, y_lr)
    alone = render(photos[1:], x_lr[1:], y_lr[1:])
    assert torch.equal(together[1:], alone)


def test_residual_adds_back_what_the_transform_cannot_say():
    """A lit window one low-res pixel wide: the local transforms spread it over their window;
    the residual weight brings its peak back."""
    photo = textured_255(128, 128, seed=7) * 0.5
    target = photo * 0.5
    target[:, :, 60:68, 60:68] = 240
    x_lr, y_lr = low_res_pair(photo, target, (16, 16))
    spot = (slice(None), slice(None), slice(60, 68), slice(60, 68))
    without = render(photo, x_lr, y_lr)
    with_residual = render(photo, x_lr, y_lr, detail.DetailConfig(residual=1.0))
    assert with_residual[spot].mean() > without[spot].mean() + 20


def test_fidelity_measures_tell_detail_from_blur():
    photo = textured_255(256, 256, seed=6)
    target = known_operator(photo)
    x_lr, y_lr = low_res_pair(photo, target, (64, 64))
    out = render(photo, x_lr, y_lr)
    plain = hires.resize_255(y_lr * 255, (256, 256), "bicubic")
    assert fine_band_correlation(photo, out) > 0.85
    assert fine_band_correlation(photo, plain) < 0.3
    assert shrunk_lab_difference(out, y_lr * 2 - 1) < 2.0


def test_one_photo_many_styles():
    """A timelapse: one photo, several translations; each result is that translation's."""
    photo = textured_255(96, 64, seed=8)
    targets = torch.cat([known_operator(photo), 255 - known_operator(photo)])
    x_lr, y_lr = low_res_pair(photo, targets, (32, 48))
    together = render(photo, x_lr[:1], y_lr)
    assert together.shape == (2, 3, 64, 96)
    assert torch.equal(together[1:], render(photo, x_lr[:1], y_lr[1:]))


def test_bf16_apply_stays_within_a_few_levels():
    """The GPU's bf16 passes: mean error under half an 8-bit level, none past four."""
    photo = textured_255(384, 256, seed=9)
    x_lr, y_lr = low_res_pair(photo, known_operator(photo), (64, 96))
    coefficients = detail.fit(x_lr, y_lr, detail.DetailConfig())
    config = detail.DetailConfig()
    full, half = (
        planar(detail.transfer(coefficients, photo, config, dtype=dtype))
        for dtype in (torch.float32, torch.bfloat16)
    )
    error = (full - half).abs()
    assert error.mean() < 0.5 and error.max() <= 4


# --- the public functions one by one, against independent computations ------------------------


@pytest.mark.parametrize("radius", [1, 2, 3])
def test_box_mean_averages_the_inside_pixels_of_each_window(radius):
    images = torch.rand(2, 5, 9, 14, dtype=torch.float64)
    side = 2 * radius + 1
    want = torch.nn.functional.avg_pool2d(
        images, side, stride=1, padding=radius, count_include_pad=False
    )
    torch.testing.assert_close(detail.box_mean(images, radius), want)
    assert torch.equal(detail.box_mean(images, 0), images)


def gaussian_taps(sigma: float) -> torch.Tensor:
    """The normalised Gaussian over ±ceil(3σ) taps, in float64."""
    radius = max(1, math.ceil(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    return kernel / kernel.sum()


@pytest.mark.parametrize("sigma", [0.3, 0.5, 1.3])
def test_gaussian_blur_of_a_point_is_the_separable_gaussian(sigma):
    size = 21
    point = torch.zeros(1, 1, size, size, dtype=torch.float64)
    point[..., size // 2, size // 2] = 1
    taps = gaussian_taps(sigma)
    want = torch.zeros(size, size, dtype=torch.float64)
    radius, centre = len(taps) // 2, size // 2
    window = slice(centre - radius, centre + radius + 1)
    want[window, window] = taps[:, None] * taps[None, :]
    torch.testing.assert_close(detail.gaussian_blur(point, sigma)[0, 0], want)


def test_gaussian_blur_keeps_flat_borders_and_zero_sigma_is_no_blur():
    flat = torch.full((1, 3, 12, 17), 0.7, dtype=torch.float64)
    torch.testing.assert_close(detail.gaussian_blur(flat, 1.5), flat)
    images = torch.rand(2, 3, 12, 17)
    assert torch.equal(detail.gaussian_blur(images, 0), images)


def test_fit_refuses_pairs_that_are_not_two_rgb_images_of_one_shape():
    rgb = torch.rand(1, 3, 8, 8)
    for x, y in ((rgb, rgb[..., :7]), (torch.rand(1, 4, 8, 8), torch.rand(1, 4, 8, 8))):
        with pytest.raises(ValueError, match="must both be B×3×h×w"):
            detail.fit(x, y, DEFAULT)


EXACT = detail.DetailConfig(eps=1e-9, blur_sigma=0, smooth_radius=0)
"""A fit with no blur, no smoothing and almost no ridge: the plain local least squares."""


def test_fit_recovers_a_cross_channel_affine_map():
    """y = M·x + c everywhere: every window's transform is M and c, A's row j giving output
    channel j, and applying them gives y back."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 12, 16, generator=generator)
    matrix = torch.tensor([[0.6, 0.3, -0.2], [0.1, 0.8, 0.25], [-0.15, 0.2, 0.9]])
    offset = torch.tensor([0.05, -0.1, 0.2])
    y = torch.einsum("ji,bihw->bjhw", matrix, x) + offset.view(1, 3, 1, 1)
    coefficients = detail.fit(x, y, EXACT)
    assert coefficients.shape == (2, 12, 12, 16) and coefficients.dtype == torch.float32
    a = coefficients[:, :9].unflatten(1, (3, 3))
    torch.testing.assert_close(a, matrix.view(1, 3, 3, 1, 1).expand_as(a), atol=2e-3, rtol=0)
    torch.testing.assert_close(
        coefficients[:, 9:], offset.view(1, 3, 1, 1).expand(2, 3, 12, 16), atol=2e-3, rtol=0
    )
    torch.testing.assert_close(detail.apply(coefficients, x), y, atol=1e-4, rtol=0)


def test_flat_windows_take_the_clamped_channel_gain():
    """Where the photo has no contrast the ridge decides: A is the per-channel gain
    (mean y + floor) / (mean x + floor), at most max_gain, and b keeps the mean."""
    x = torch.tensor([0.01, 0.5, 0.3]).view(1, 3, 1, 1).expand(1, 3, 6, 6)
    y = torch.tensor([0.5, 0.1, 0.3]).view(1, 3, 1, 1).expand(1, 3, 6, 6)
    config = detail.DetailConfig(blur_sigma=0)
    coefficients = detail.fit(x, y, config)[0, :, 3, 3]
    floor = config.gain_floor
    gain = ((y[0, :, 0, 0] + floor) / (x[0, :, 0, 0] + floor)).clamp(max=config.max_gain)
    assert gain[0] == config.max_gain and gain[1] < 1  # one clamped, one darkening channel
    torch.testing.assert_close(coefficients[:9].view(3, 3), torch.diag(gain), atol=1e-4, rtol=0)
    torch.testing.assert_close(
        coefficients[9:], y[0, :, 0, 0] - gain * x[0, :, 0, 0], atol=1e-4, rtol=0
    )


def test_residual_weight_moves_the_low_res_result_onto_the_target():
    """With the residual added to the offsets, the field applied to x_lr lands the given
    share of the way from the fitted transforms' result to y_lr: all of it at weight 1."""
    photo = textured_255(64, 64, seed=10)
    target = known_operator(photo)
    target[:, :, 28:36, 28:36] = 250  # something a colour transform cannot say
    x_lr, y_lr = low_res_pair(photo, target, (16, 16))
    fitted = detail.fit(x_lr, y_lr, DEFAULT)
    plain = detail.apply(fitted, x_lr)
    assert (plain - y_lr).abs().max() > 0.05
    assert torch.equal(detail.transforms(x_lr, y_lr, DEFAULT), fitted)
    for weight in (0.5, 1.0):
        field = detail.transforms(x_lr, y_lr, detail.DetailConfig(residual=weight))
        torch.testing.assert_close(field[:, :9], fitted[:, :9])
        want = plain + weight * (y_lr - plain)
        torch.testing.assert_close(detail.apply(field, x_lr), want, atol=1e-5, rtol=0)


def test_a_field_at_the_photos_size_is_applied_pixel_by_pixel():
    """No upsampling when the field already has the photo's size: each pixel is A·x + 255·b,
    rounded and clamped to 8 bits; uint8 and float photos give the same result."""
    generator = torch.Generator().manual_seed(1)
    photo = torch.randint(0, 256, (2, 3, 10, 13), generator=generator, dtype=torch.uint8)
    field = torch.rand(2, 12, 10, 13, generator=generator) * 0.8 - 0.2
    result = detail.transfer(field, photo, DEFAULT)
    assert result.shape == (2, 10, 13, 3) and result.dtype == torch.uint8
    want = (detail.apply(field.double(), photo.double() / 255) * 255).clamp(0, 255).round()
    difference = (planar(result).double() - want).abs()
    assert difference.max() <= 1 and difference.mean() < 0.01
    assert (want == 0).any() and (want == 255).any()  # both clamps were needed
    assert torch.equal(detail.transfer(field, photo.float(), DEFAULT), result)


def test_transfer_and_the_stage_write_into_the_given_buffer():
    photo = textured_255(56, 40, seed=11)
    x_lr, y_lr = low_res_pair(photo, known_operator(photo), (16, 24))
    field = detail.transforms(x_lr, y_lr, DEFAULT)
    fresh = detail.transfer(field, photo, DEFAULT)
    buffer = torch.zeros(1, 40, 56, 3, dtype=torch.uint8)
    assert detail.transfer(field, photo, DEFAULT, out=buffer) is buffer
    assert torch.equal(buffer, fresh)
    buffer.zero_()
    stage = detail.DetailStage(DEFAULT)
    fields = stage.fit(stage.guide(x_lr * 255), y_lr * 2 - 1)  # the same pair, other units
    torch.testing.assert_close(fields, field, atol=1e-5, rtol=0)
    assert stage.apply(field, photo, out=buffer) is buffer
    assert torch.equal(buffer, fresh)
    half = detail.DetailStage(DEFAULT, torch.bfloat16).apply(field, photo)
    assert torch.equal(half, detail.transfer(field, photo, DEFAULT, dtype=torch.bfloat16))
    assert not torch.equal(half, fresh)


def test_scaled_config_spans_the_same_part_of_the_picture():
    config = detail.DetailConfig(radius=2, blur_sigma=0.5, smooth_radius=1, eps=2e-3)
    assert config.scaled(1) is config and config.scaled(0.5) is config
    four = config.scaled(4)
    assert (four.radius, four.blur_sigma, four.smooth_radius) == (8, 2.0, 4)
    assert (four.eps, four.gain_floor, four.max_gain, four.residual, four.strip_pixels) == (
        config.eps,
        config.gain_floor,
        config.max_gain,
        config.residual,
        config.strip_pixels,
    )
    assert config.scaled(1.4).radius == 3  # rounded to the nearest pixel
