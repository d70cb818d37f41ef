"""The evaluation run on its own: counts, the swap grid's columns, and a photo that is both
content and style (it is not swapped with itself)."""

from __future__ import annotations

from pathlib import Path

import torch

from hidt_cli.eval.suite import Photo, Settings, evaluate
from tests.eval_inputs import tiny_classifier
from tests.images import make_photo


def photo(name: str, seed: int, width: int = 64, height: int = 48) -> Photo:
    pixels = torch.from_numpy(make_photo(width, height, seed)).permute(2, 0, 1)[None]
    return Photo(name, Path(f"/nonexistent/{name}"), pixels)


def test_evaluate_counts_and_self_swaps(model):
    photos = [photo("a.png", 0), photo("b.png", 1, 48, 64), photo("c.png", 2)]
    settings = Settings(random_styles=2, inference_size=32, grid_rows=2, hires_images=0)
    result = evaluate(model, tiny_classifier(), photos, photos[:2], settings)
    assert result.counts["random_translations"] == 6
    assert result.counts["swap_translations"] == 4  # a and b are not swapped with themselves
    assert result.style_codes.shape == (2, 3) and result.content_codes.shape == (3, 3)
    assert len(result.prior_rows) == 2 and len(result.prior_rows[0]) == 3
    assert [cell is None for cell in result.swap_rows[0]] == [False, True, False]
    assert result.swap_captions[1][0] == "b.png" and result.swap_captions[1][2] == ""
    assert not result.hires_rows and "hires_reconstruction_psnr_db" not in result.metrics
    assert 1.0 <= result.metrics["is_swap"] <= 2.0
    assert result.metrics["reconstruction_psnr_db"] > 0
