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
