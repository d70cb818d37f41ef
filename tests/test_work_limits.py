"""Bounded work per network call: batches split, G_enh on tiles, retries after a CUDA
out-of-memory error, and the low-resolution form of the decoder's upsampling convs; all
checked on the CPU by forcing tiny limits or raising the error by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hidt_cli
from hidt_cli import hires
from hidt_cli.devices import WorkLimits
from hidt_cli.models.layers import upsampled_concat_conv
from hidt_cli.profiling import LiveTensorBytes, count_macs
from tests.images import make_photo

UNLIMITED = WorkLimits(generator_pixels=10**9, enhancer_pixels=10**9)
TINY_RECEPTIVE_FIELD = 20
"""Low-resolution reach of the tiny test G_enh (1 RRDB = 15 convs in a row, plus 4 more):
tiles with this much overlap must reproduce the untiled output."""


def _model(tiny_weights, limits: WorkLimits) -> hidt_cli.HiDT:
    reference = hidt_cli.load(tiny_weights, device="cpu", dtype=torch.float32)
    return hidt_cli.HiDT(
        reference.generator, reference.enhancer, device="cpu", dtype=torch.float32, limits=limits
    )


def _photo(width: int = 192, height: int = 128) -> torch.Tensor:
    return torch.from_numpy(make_photo(width, height)).permute(2, 0, 1)[None].float()


@pytest.mark.parametrize("hires", [False, True])
def test_generator_one_image_per_call_matches_one_call(tiny_weights, hires):
    whole = _model(tiny_weights, UNLIMITED)
    pieces = _model(tiny_weights, WorkLimits(generator_pixels=1, enhancer_pixels=10**9))
    photos = torch.cat([_photo(), _photo().flip(-1)])
    styles = torch.randn(2, 3)
    kwargs = {"hires": hires, "inference_size": 32}
    torch.testing.assert_close(
        pieces.translate_tensor(photos, styles, **kwargs),
        whole.translate_tensor(photos, styles, **kwargs),
        atol=1e-5,
        rtol=0,
    )


def test_enhancer_tiles_reproduce_the_whole_image(tiny_weights):
    whole = _model(tiny_weights, UNLIMITED)
    tiled = _model(
        tiny_weights,
        WorkLimits(10**9, enhancer_pixels=32 * 32, enhancer_overlap=TINY_RECEPTIVE_FIELD),
    )
    merged = whole.merge_input(whole.hires_crops(make_photo(384, 256), inference_size=64))
    assert merged.shape[-2:] == (64, 96)  # 2 × 3 tiles of 32
    torch.testing.assert_close(tiled.enhance(merged), whole.enhance(merged), atol=1e-5, rtol=0)


def test_tiles_cover_every_pixel_once_at_any_size():
    images = torch.rand(2, 3, 37, 53)

    def upsample(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=4, mode="nearest")

    out = hires.tiled(upsample, images, tile=16, overlap=5, scale=4)
    assert torch.equal(out, upsample(images))


def test_cuda_out_of_memory_halves_the_limits_and_retries(tiny_weights, monkeypatch):
    reference = _model(tiny_weights, UNLIMITED)
    model = _model(tiny_weights, WorkLimits(generator_pixels=16 * 64 * 96, enhancer_pixels=10**9))
    decode, enhance = model.networks._decode, model.networks._enhance

    def small_decodes_only(content, styles):
        if len(styles) > 4:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return decode(content, styles)

    def small_enhancer_inputs_only(merge_input):
        if merge_input.shape[-2] * merge_input.shape[-1] > 64 * 64:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return enhance(merge_input)

    monkeypatch.setattr(model.networks, "_decode", small_decodes_only)
    monkeypatch.setattr(model.networks, "_enhance", small_enhancer_inputs_only)
    photo, style = _photo(384, 256), torch.tensor([[0.3, -0.8, 0.5]])
    out = model.translate_tensor(photo, style, hires=True, inference_size=64)
    want = reference.translate_tensor(photo, style, hires=True, inference_size=64)
    assert model.limits.generator_pixels <= 4 * 64 * 96
    assert model.limits.enhancer_pixels < 64 * 96  # G_enh ran on tiles
    assert (out - want).abs().max().item() < 0.05  # tiles with the default overlap
    assert (out - want).abs().mean().item() < 0.002


def test_out_of_memory_on_a_single_image_is_raised(tiny_weights, monkeypatch):
    model = _model(tiny_weights, UNLIMITED)

    def no_memory(*args):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(model.networks, "_encode_content", no_memory)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        model.translate_tensor(_photo(), torch.zeros(1, 3), inference_size=32)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_upsampled_conv_equals_conv_of_the_upsampled_concatenation(dtype):
    torch.manual_seed(0)
    conv = nn.Conv2d(12 + 5, 6, 7, 1, 3, padding_mode="reflect").to(dtype)
    low_res = torch.randn(2, 12, 9, 13, dtype=dtype, requires_grad=True)
    skip = torch.randn(2, 5, 18, 26, dtype=dtype)
    want = conv(torch.cat([F.interpolate(low_res, scale_factor=2, mode="nearest"), skip], 1))
    got = upsampled_concat_conv(conv, low_res, skip)
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(got, want, atol=tolerance, rtol=0)
    grads = torch.autograd.grad(got.square().sum(), [low_res, conv.weight])
    want_grads = torch.autograd.grad(want.square().sum(), [low_res, conv.weight])
    for grad, want_grad in zip(grads, want_grads, strict=True):
        torch.testing.assert_close(grad, want_grad, atol=tolerance * 100, rtol=tolerance)


def test_mac_count_matches_a_hand_count():
    conv = nn.Conv2d(3, 8, 5, stride=2, padding=2)
    linear = nn.Linear(10, 4)
    with count_macs(nn.ModuleDict({"conv": conv, "fc": linear})) as macs:
        conv(torch.zeros(2, 3, 32, 48))
        linear(torch.zeros(5, 10))
    assert macs["conv"] == 2 * 8 * 16 * 24 * (3 * 5 * 5)  # outputs × (inputs × kernel) each
    assert macs["fc"] == 5 * 4 * 10
    assert macs["total"] == macs["conv"] + macs["fc"]


def test_published_networks_cost_what_the_issue_says():
    """16 crops of 256×384 through the generator, G_enh, and the style of a 256×384 image:
    the issue's 4.02 TFLOP per image (4.01 without the style image)."""
    from hidt_cli.models import Enhancer, Generator

    generator, enhancer = Generator().to("meta"), Enhancer().to("meta")
    crops = torch.empty(16, 3, 256, 384, device="meta")
    with torch.no_grad(), count_macs(generator) as g, count_macs(enhancer) as e:
        generator.decode(generator.encode_content(crops), torch.empty(16, 3, device="meta"))
        enhancer(torch.empty(1, 48, 256, 384, device="meta"))
        generator.encode_style(crops[:1])
    assert round(2 * (g["total"] - g["style_encoder"] + e["total"]) / 1e12, 2) == 4.01
    assert round(2 * (g["total"] + e["total"]) / 1e12, 2) == 4.02
    assert g["decoder"] > 2 * g["content_encoder"]  # upsampling convs counted at full size


def test_live_tensor_bytes_counts_what_is_alive_at_once():
    with LiveTensorBytes() as tracker:
        a = torch.ones(1024)  # 4 KiB
        b = a * 2  # 4 KiB more, both alive
        view = b[:10]  # no new storage
        del a
        c = torch.ones(512)  # 2 KiB, after a is gone
    assert tracker.peak == 8192
    assert tracker.live == 4096 + 2048
    del b, view, c
