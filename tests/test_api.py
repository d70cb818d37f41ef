"""The Python API on tiny random weights: shapes, sizes, styles, batching and alpha."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import hidt_cli
from hidt_cli.devices import native_bf16
from hidt_cli.styles import StyleError
from tests.conftest import TINY_PRESETS
from tests.images import make_photo


def test_load_reads_config_presets_and_enhancer(model):
    assert model.generator.config.base_channels == 8
    assert model.enhancer is not None
    assert model.presets == TINY_PRESETS
    assert model.dtype == torch.float32 and model.device.type == "cpu"


def test_default_dtype_is_bf16_only_where_it_is_native(tiny_weights):
    default = hidt_cli.load(tiny_weights, device="cpu")
    assert default.dtype == (torch.bfloat16 if native_bf16(default.device) else torch.float32)
    assert not native_bf16(torch.device("meta"))


def test_codes_and_decode_shapes(model):
    images = torch.rand(2, 3, 64, 96) * 2 - 1
    styles = model.encode_style(images)
    assert styles.shape == (2, 3)
    content = model.encode_content(images)
    assert content.content.shape == (2, 32, 16, 24)
    assert content.skip_half.shape == (2, 5, 32, 48)
    assert content.skip_full.shape == (2, 5, 64, 96)
    decoded = model.decode(content, styles)
    assert decoded.shape == (2, 3, 64, 96) and decoded.abs().max() <= 1
    assert model.decode_segmentation(content, styles).shape == (2, 3, 64, 96)


def test_one_content_decodes_with_every_style(model):
    content = model.encode_content(torch.rand(1, 3, 32, 48) * 2 - 1)
    styles = torch.randn(3, 3)
    together = model.decode(content, styles)
    apart = torch.cat([model.decode(content, s[None]) for s in styles])
    torch.testing.assert_close(together, apart, atol=1e-5, rtol=0)
    assert not torch.allclose(together[0], together[1])


def test_translate_keeps_the_input_size_unless_native(model):
    photo = Image.fromarray(make_photo(100, 70))
    assert model.translate(photo, "night", inference_size=32).size == (100, 70)
    # shorter side 32; 100·32/70 = 45.7 → nearest multiple of 16 is 48
    assert model.translate(photo, "night", inference_size=32, native_size=True).size == (48, 32)


def test_hires_output_is_four_times_the_inference_size(model):
    photo = make_photo(96, 64)
    out = model.translate(photo, (0.1, 0.2, 0.3), hires=True, inference_size=32, native_size=True)
    assert out.size == (192, 128)
    assert model.hires_crops(photo, 32).shape == (16, 3, 32, 48)
    merged = model.merge_input(model.hires_crops(photo, 32))
    assert merged.shape == (1, 48, 32, 48)
    assert model.enhance(merged).shape == (1, 3, 128, 192)


def test_styles_from_preset_vector_and_image_agree_with_their_sources(model, tmp_path):
    assert model.style_code("night").tolist() == [list(TINY_PRESETS["night"])]
    assert model.style_code([1.0, 2.0, 3.0]).tolist() == [[1.0, 2.0, 3.0]]
    photo = make_photo(64, 64, seed=3)
    path = tmp_path / "style.png"
    Image.fromarray(photo).save(path)
    from_path = model.style_code(path, inference_size=32)
    from_array = model.style_code(photo, inference_size=32)
    torch.testing.assert_close(from_path, from_array)
    with pytest.raises(StyleError, match="unknown preset 'noon'"):
        model.style_code("noon")
    with pytest.raises(StyleError, match="3 finite numbers"):
        model.style_code([1.0, 2.0])


def test_different_styles_give_different_pictures(model):
    photo = make_photo()
    a = np.asarray(model.translate(photo, "night", inference_size=32))
    b = np.asarray(model.translate(photo, "day", inference_size=32))
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.5


def test_batched_translation_equals_one_by_one(model):
    photos = torch.stack(
        [torch.from_numpy(make_photo(seed=s)).permute(2, 0, 1).float() for s in (1, 2)]
    )
    styles = torch.randn(2, 3)
    together = model.translate_tensor(photos, styles, inference_size=32)
    apart = torch.cat(
        [
            model.translate_tensor(photos[i : i + 1], styles[i : i + 1], inference_size=32)
            for i in (0, 1)
        ]
    )
    torch.testing.assert_close(together, apart, atol=1e-4, rtol=0)


def test_hires_chunking_does_not_change_results(model):
    photo = torch.from_numpy(make_photo()).permute(2, 0, 1)[None].float()
    styles = torch.randn(3, 3)
    big = model.translate_tensor(photo, styles, hires=True, inference_size=32, max_batch=8)
    small = model.translate_tensor(photo, styles, hires=True, inference_size=32, max_batch=1)
    assert big.shape == (3, 3, 128, 192)
    torch.testing.assert_close(big, small, atol=1e-4, rtol=0)


def test_alpha_is_carried_through(model):
    rgba = np.dstack([make_photo(), np.tile(np.arange(96, dtype=np.uint8), (64, 1))])
    out = model.translate(Image.fromarray(rgba, "RGBA"), "day", inference_size=32)
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out.getchannel("A")), rgba[..., 3])


@pytest.mark.parametrize("size", [0, 24, 100])
def test_bad_inference_sizes_are_refused(model, size):
    with pytest.raises(ValueError, match="multiple of 16"):
        model.translate(make_photo(), "day", inference_size=size)


def test_bf16_channels_last_path_stays_close_to_float32(tiny_weights):
    """The GPU configuration (bf16 autocast, channels_last), exercised on the CPU so that its
    dtype and layout handling is checked without a GPU."""
    reference = hidt_cli.load(tiny_weights, device="cpu", dtype=torch.float32)
    fast = hidt_cli.HiDT(
        reference.generator,
        reference.enhancer,
        device="cpu",
        dtype=torch.bfloat16,
        channels_last=True,
    )
    photo = torch.from_numpy(make_photo()).permute(2, 0, 1)[None].float()
    styles = torch.tensor([[0.3, -0.8, 0.5]])
    for hires in (False, True):
        want = reference.translate_tensor(photo, styles, hires=hires, inference_size=32)
        got = fast.translate_tensor(photo, styles, hires=hires, inference_size=32)
        assert got.dtype == torch.float32 and got.shape == want.shape
        assert (got - want).abs().mean().item() < 0.02
