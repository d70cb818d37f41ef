"""The crop and merge scheme on its own: sizes, batching and the merge layout."""

from __future__ import annotations

import pytest
import torch

from hidt_cli import hires


@pytest.mark.parametrize(
    ("shape", "size", "expected"),
    [
        ((1280, 2048), 256, (256, 416)),
        ((320, 445), 256, (256, 352)),
        ((516, 825), 128, (128, 208)),
        ((3000, 1000), 256, (768, 256)),
        ((64, 64), 32, (32, 32)),
    ],
)
def test_inference_shape_rounds_to_the_nearest_multiple_of_16(shape, size, expected):
    assert hires.inference_shape(*shape, size) == expected


def test_extreme_strips_are_capped_at_max_aspect():
    assert hires.inference_shape(1, 3000, 256) == (256, 256 * hires.MAX_ASPECT)
    assert hires.shorter_side_shape(3000, 2, 100) == (100 * hires.MAX_ASPECT, 100)
    assert hires.inference_shape(100, 2000, 256) == (256, 5120)  # 20:1 panoramas are kept


def test_canvas_has_shorter_side_4s_plus_4_and_truncated_longer_side():
    canvas = hires.hires_canvas(torch.rand(1, 3, 1280, 2048) * 255, 128)
    assert canvas.shape[-2:] == (516, 825)


def test_crops_are_shifted_copies_in_order_k():
    canvas = torch.arange(256, dtype=torch.float32).view(1, 1, 16, 16).expand(1, 3, 16, 16)
    padded = torch.nn.functional.pad(canvas, (0, 3, 0, 3))
    crops = hires.shifted_crops(canvas, 16)  # already at inference size: no resampling
    for k in range(16):
        x, y = k // 4, k % 4
        expected = padded[0, :, y : y + 16, x : x + 16] / 127.5 - 1
        assert torch.equal(crops[k], expected), k


def test_merge_input_of_constant_crops_marks_only_the_uncovered_border():
    crops = torch.full((16, 3, 8, 12), 0.5)
    merged = hires.merge_input(crops)
    assert merged.shape == (1, 48, 8, 12)
    # crop 0 has no offset: fully covered; crop 15 is shifted by 3 and misses the first row/col
    assert torch.all(merged[0, :3] == 0.5)
    assert torch.all(merged[0, 45:, 0, :] == -1) and torch.all(merged[0, 45:, 1:, 1:] == 0.5)


def test_merge_input_batches_images_independently():
    a, b = torch.rand(16, 3, 8, 12) * 2 - 1, torch.rand(16, 3, 8, 12) * 2 - 1
    both = hires.merge_input(torch.cat([a, b]))
    assert torch.equal(both[:1], hires.merge_input(a)) and torch.equal(
        both[1:], hires.merge_input(b)
    )
    with pytest.raises(ValueError, match="multiple of 16"):
        hires.merge_input(a[:15])


def test_square_and_degenerate_shapes():
    assert hires.inference_shape(300, 300, 256) == (256, 256)
    assert hires.shorter_side_shape(300, 300, 64) == (64, 64)
    # a longer side that would truncate to 0 keeps one pixel
    assert hires.shorter_side_shape(1000, 1, 1) == (32, 1)
    assert hires.shorter_side_shape(1, 1000, 1) == (1, 32)
    assert hires.shorter_side_shape(3, 2, 1) == (1, 1)
    assert hires.shorter_side_shape(2, 3, 1) == (1, 1)
    assert hires.shorter_side_shape(200, 100, 50) == (100, 50)


def reference_merge_input(crops_pm1: torch.Tensor) -> torch.Tensor:
    """The merge input as the docstring defines it, the slow way: each crop upsampled ×4
    (nearest), placed at its offset on a zero canvas of (4h + 4) × (4w + 4) in [0, 1], mapped
    to [−1, 1] and resized back to h × w with `nearest`; 16 crops per image along channels."""
    n, c, h, w = crops_pm1.shape
    merged = []
    for k in range(n):
        up = torch.nn.functional.interpolate((crops_pm1[k : k + 1] + 1) / 2, scale_factor=4)
        canvas = torch.zeros(1, c, 4 * h + 4, 4 * w + 4, dtype=crops_pm1.dtype)
        x, y = k % 16 // 4, k % 4
        canvas[:, :, y : y + 4 * h, x : x + 4 * w] = up
        merged.append(torch.nn.functional.interpolate(canvas * 2 - 1, size=(h, w)))
    return torch.cat(merged, 1).view(n // 16, 16 * c, h, w)


@pytest.mark.parametrize(("h", "w"), [(8, 12), (7, 5), (16, 16)])
def test_merge_input_equals_the_canvas_definition(h, w):
    crops = torch.rand(32, 3, h, w, generator=torch.Generator().manual_seed(h)) * 2 - 1
    assert torch.equal(hires.merge_input(crops), reference_merge_input(crops))


def test_crops_of_a_larger_canvas_are_brought_to_inference_size():
    canvas = torch.rand(2, 3, 68, 100) * 255
    crops = hires.shifted_crops(canvas, 16)
    assert crops.shape == (32, 3, 16, 16)  # 16 crops per image, sides rounded to 16
    assert crops.min() >= -1 and crops.max() <= 1
    # crop 0 is unshifted: the canvas resized the same two steps
    step = hires.resize_255(canvas[:1], hires.shorter_side_shape(68, 100, 16), "bilinear")
    want = hires.resize_255(step, hires.inference_shape(68, 100, 16), "bicubic") / 127.5 - 1
    assert torch.equal(crops[0], want[0])
    # crop 15 is shifted by three pixels each way: its source starts 3 columns and rows in
    shifted = torch.nn.functional.pad(canvas[:1], (0, 3, 0, 3))[:, :, 3:71, 3:103]
    step = hires.resize_255(shifted, hires.shorter_side_shape(68, 100, 16), "bilinear")
    want = hires.resize_255(step, hires.inference_shape(68, 100, 16), "bicubic") / 127.5 - 1
    assert torch.equal(crops[15], want[0])
    assert torch.equal(crops[16:17], hires.shifted_crops(canvas[1:], 16)[:1])


def test_resize_keeps_8_bit_levels_for_any_input_type():
    generator = torch.Generator().manual_seed(0)
    photo = torch.randint(0, 256, (1, 3, 40, 60), generator=generator, dtype=torch.uint8)
    same = hires.resize_255(photo, (40, 60), "bicubic")
    assert same.dtype == torch.float32 and torch.equal(same, photo.float())
    from_bytes = hires.resize_255(photo, (17, 23), "bicubic")
    from_floats = hires.resize_255(photo.float(), (17, 23), "bicubic")
    assert from_bytes.dtype == from_floats.dtype == torch.float32
    assert torch.equal(from_floats, from_floats.round())
    assert from_floats.min() >= 0 and from_floats.max() <= 255
    assert (from_bytes - from_floats).abs().max() <= 1
    # a hard edge overshoots under bicubic enlargement: clamped to the 8-bit range
    edge = torch.zeros(1, 3, 8, 8)
    edge[..., 4:] = 255
    grown = hires.resize_255(edge, (8, 32), "bicubic")
    assert grown.min() == 0 and grown.max() == 255
    unclamped = torch.nn.functional.interpolate(edge, (8, 32), mode="bicubic", antialias=True)
    assert unclamped.min() < 0 and unclamped.max() > 255


def test_fit_within_shrinks_only_what_is_too_large():
    small = torch.rand(1, 3, 60, 90) * 255
    assert hires.fit_within(small, 90) is small
    large = torch.rand(2, 3, 300, 200) * 255
    shrunk = hires.fit_within(large, 100)
    assert shrunk.shape == (2, 3, 100, 67)
    assert torch.equal(shrunk, hires.resize_255(large, (100, 67), "bicubic"))
    assert hires.fit_within(torch.rand(1, 3, 2, 1000) * 255, 100).shape == (1, 3, 1, 100)
    assert hires.fit_within(torch.rand(1, 3, 1000, 2) * 255, 100).shape == (1, 3, 100, 1)


class ConvUp(torch.nn.Module):
    """A small fully convolutional network with a 5×5 receptive field and a 2× output."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1),
            torch.nn.Tanh(),
            torch.nn.Conv2d(8, 12, 3, padding=1),
            torch.nn.PixelShuffle(2),
        )

    def forward(self, x):
        return self.body(x)


@pytest.mark.parametrize(("tile", "overlap"), [(8, 2), (5, 3), (64, 0)])
def test_tiles_with_enough_overlap_equal_one_call(tile, overlap):
    network = ConvUp().double()
    images = torch.rand(2, 3, 19, 23, dtype=torch.float64)
    with torch.no_grad():
        whole = network(images)
        pieces = hires.tiled(network, images, tile, overlap, scale=2)
    assert pieces.shape == whole.shape == (2, 3, 38, 46)
    torch.testing.assert_close(pieces, whole, atol=1e-12, rtol=0)


def test_tiles_without_overlap_differ_only_near_the_seams():
    network = ConvUp().double()
    images = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        whole = network(images)
        pieces = hires.tiled(network, images, 8, 0, scale=2)
    difference = (pieces - whole).abs().amax((0, 1))
    seam = list(range(12, 20))  # output rows and columns of input pixels 6-9, within reach of 8
    assert difference[seam].max() > 1e-3 and difference[:, seam].max() > 1e-3
    away = [r for r in range(32) if r not in seam]
    assert difference[away][:, away].max() < 1e-12
