"""The render core on tiny random weights: encode once and render many gives what rendering
from scratch gives, onto a preview too; 16-bit photos stay 16-bit; a clip's frames are the
photo path's frames, with and without hires; the detail stage's cached statistics change
nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hidt_cli import detail
from hidt_cli.clips import fixed_style, render_clip
from hidt_cli.io.video import Frame
from hidt_cli.ranges import photo_tensor, to_8bit
from hidt_cli.render import RenderSpec
from hidt_cli.steady import Steadiness
from tests.images import make_photo, ramp_16

SPEC = RenderSpec(inference_size=32)


def codes(count: int) -> torch.Tensor:
    return torch.randn(count, 3, generator=torch.Generator().manual_seed(count))


@pytest.mark.parametrize("spec", [SPEC, RenderSpec(hires=True, inference_size=32)])
def test_encoded_once_renders_what_rendering_from_scratch_gives(model, spec):
    photo = photo_tensor(make_photo(96, 64, seed=1), model.device)
    styles = codes(3)
    encoded = model.encode(photo, spec)
    again = [
        np.concatenate(list(model.render_encoded(encoded, styles[i : i + 1]))) for i in range(3)
    ]
    fresh = np.concatenate(list(model.render(photo, styles, spec)))
    assert np.array_equal(np.concatenate(again), fresh)
    assert fresh.shape == (3, 64, 96, 3) and not np.array_equal(fresh[0], fresh[1])


def test_a_preview_is_the_full_render_at_its_own_size(model):
    """Applied onto a smaller copy, the same translation: close to the full-size result
    shrunk, and nothing of the networks runs again."""
    rgb = make_photo(192, 128, seed=2)
    photo = photo_tensor(rgb, model.device)
    encoded = model.encode(photo, SPEC)
    preview = torch.nn.functional.interpolate(photo.float(), size=(64, 96), mode="area")
    style = codes(1)
    calls = []
    decode = model.networks._encode_content
    model.networks._encode_content = lambda x: calls.append(1) or decode(x)
    try:
        small = next(model.render_encoded(encoded, style, onto=preview.round().to(torch.uint8)))
    finally:
        model.networks._encode_content = decode
    full = next(model.render_encoded(encoded, style))
    shrunk = torch.nn.functional.interpolate(
        torch.from_numpy(full).permute(0, 3, 1, 2).float(), size=(64, 96), mode="area"
    )
    assert calls == [] and small.shape == (1, 64, 96, 3)
    assert (torch.from_numpy(small).permute(0, 3, 1, 2).float() - shrunk).abs().mean() < 3


def test_a_16_bit_photo_stays_16_bit_through_the_detail_stage(model):
    deep = ramp_16(256, 64)
    photo = photo_tensor(deep, model.device)
    out = next(model.render(photo, codes(1), SPEC))[0]
    assert out.dtype == np.uint16 and out.shape == deep.shape
    assert len(np.unique(out[..., 1])) > 1024  # no 8-bit step in between: no banding
    eight = next(model.render(to_8bit(photo), codes(1), SPEC))[0]
    # the same light: the 16-bit result rounded to 8 bits is the 8-bit photo's result
    assert np.abs((out.astype(int) + 128) // 257 - eight).mean() < 1.0


def test_cached_guide_statistics_fit_what_a_fresh_fit_gives():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 24, 32, generator=generator)
    y = torch.rand(3, 3, 24, 32, generator=generator)
    config = detail.DetailConfig(residual=0.5)
    cached = detail.transforms(detail.guide_statistics(x, config), y, config)
    assert torch.equal(cached, detail.transforms(x.expand_as(y), y, config))


def still_frames(rgb: np.ndarray, count: int):
    for index in range(count):
        yield Frame(rgb.copy(), index * 40, index)


@pytest.mark.parametrize("hires", [False, True])
def test_a_still_clips_frames_are_the_photo_paths_result(model, hires):
    """The same detail stage, settings and precision: a still clip's steadied frames equal
    the photo rendered once (averaging identical fields changes nothing), with G_enh too."""
    rgb = make_photo(96, 64, seed=4)
    spec = RenderSpec(hires=hires, inference_size=32)
    style = codes(1)
    window = Steadiness(radius=2)
    clip = render_clip(
        model.renderer, still_frames(rgb, 6), fixed_style(style), spec, batch=2, steadiness=window
    )
    frames = list(clip)
    photo = next(model.render(photo_tensor(rgb, model.device), style, spec))[0]
    assert len(frames) == 6
    for frame in frames:
        assert frame.rgb.shape == rgb.shape
        assert np.abs(frame.rgb.astype(int) - photo).max() <= 1


def test_clip_render_refuses_what_only_photos_do(model):
    native = RenderSpec(inference_size=32, native_size=True)
    clip = render_clip(model.renderer, still_frames(make_photo(), 1), fixed_style(codes(1)), native)
    with pytest.raises(ValueError, match="for photos"):
        next(clip)
