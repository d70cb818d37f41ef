"""Our networks against the reference outputs in ../shared/parity (float32, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hidt_cli

NETWORK_TOLERANCE = 1e-5  # relative to the largest magnitude of the reference tensor


@pytest.fixture(scope="module")
def fixtures(shared):
    return {k: torch.from_numpy(v) for k, v in np.load(shared / "parity" / "fixtures.npz").items()}


@pytest.fixture(scope="module")
def parity_model(shared):
    parity = shared / "parity"
    return hidt_cli.load(
        parity / "generator.pt", parity / "enhancer.pth", device="cpu", dtype=torch.float32
    )


@pytest.fixture(scope="module")
def content(parity_model, fixtures):
    """The reference photo's content code, encoded once for the tests that decode it."""
    return parity_model.encode_content(fixtures["content_input"])


def assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape
    error = (actual.float() - expected).abs().max().item()
    assert error <= NETWORK_TOLERANCE * expected.abs().max().item(), f"max abs error {error:.3g}"


def test_published_layout_loads_with_exact_parameter_counts(parity_model):
    generator = sum(p.numel() for p in parity_model.generator.parameters())
    enhancer = sum(p.numel() for p in parity_model.enhancer.parameters())
    assert (generator, enhancer) == (9_819_289, 3_995_843)


def test_style_codes(parity_model, fixtures):
    assert_close(
        parity_model.encode_style(fixtures["style_input"]), fixtures["style_code"].flatten(1)
    )
    assert_close(
        parity_model.encode_style(fixtures["content_input"]), fixtures["self_style_code"].flatten(1)
    )


def test_content_code_and_skips(content, fixtures):
    assert_close(content.content, fixtures["content_code"])
    assert_close(content.skip_half, fixtures["skip_half"])
    assert_close(content.skip_full, fixtures["skip_full"])


@pytest.mark.parametrize(
    ("style_key", "image_key"),
    [("style_code", "translated_images"), ("self_style_code", "reconstructed_images")],
)
def test_decoded_images(parity_model, content, fixtures, style_key, image_key):
    assert_close(parity_model.decode(content, fixtures[style_key].flatten(1)), fixtures[image_key])


def test_decoded_segmentation(parity_model, content, fixtures):
    segmentation = parity_model.decode_segmentation(content, fixtures["style_code"].flatten(1))
    assert_close(segmentation, fixtures["translated_segmentation"])


def test_prior_style_decodes_one_content_with_many_styles(parity_model, content, fixtures):
    assert_close(parity_model.decode(content, fixtures["prior_styles"]), fixtures["prior_images"])


def test_hires_crops_match_up_to_resampling_error(parity_model, fixtures):
    """The reference resizes each crop with PIL; we resize all 16 at once with torch. Measured:
    max error 0.0157 (2 levels of 255 in [−1, 1] units), mean 0.0008."""
    crops = parity_model.hires_crops(fixtures["hires_resized_input"].numpy(), inference_size=128)
    assert crops.shape == fixtures["hires_crops"].shape
    error = (crops - fixtures["hires_crops"]).abs()
    assert error.max().item() <= 2.5 / 127.5
    assert error.mean().item() <= 0.002


def test_translated_crops(parity_model, fixtures):
    content = parity_model.encode_content(fixtures["hires_crops"])
    style = fixtures["style_code"].flatten(1).expand(16, -1)
    assert_close(parity_model.decode(content, style), fixtures["hires_translated_crops"])


def test_merge_input_is_exact(parity_model, fixtures):
    merged = parity_model.merge_input(fixtures["hires_translated_crops"])
    assert torch.equal(merged, fixtures["enhancer_input"])


def test_enhancer_output(parity_model, fixtures):
    assert_close(parity_model.enhance(fixtures["enhancer_input"]), fixtures["enhancer_output"])


def test_whole_hires_chain_from_the_resized_photo(parity_model, fixtures):
    """Crops → translation → merge → G_enh end to end; only the crop resampling differs from
    the reference, so the output stays within a few 8-bit levels."""
    photo = fixtures["hires_resized_input"].permute(2, 0, 1)[None].float()
    out = parity_model.translate_tensor(
        photo, fixtures["style_code"].flatten(1), hires=True, inference_size=128
    )
    error = (out - fixtures["enhancer_output"]).abs()
    assert error.max().item() < 0.02 and error.mean().item() < 0.002
