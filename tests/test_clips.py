"""The clip render loop and its steadying: fields averaged over time where the scene holds
still, kept apart across scene cuts and where things move; frames streamed in order with a
bounded delay; guide styles looked up by time."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from hidt_cli.clips import fixed_style, render_clip
from hidt_cli.concurrency import one_thread_per_worker
from hidt_cli.guide import Clock, GuideStyles
from hidt_cli.io.video import Frame, VideoInfo
from hidt_cli.render import RenderSpec
from hidt_cli.steady import Steadiness, SteadyFields, histogram_distance, histograms
from tests.images import make_photo

SIZE = (3, 16, 24)


def scene(value: float) -> torch.Tensor:
    """A small copy in [0, 255]: a gradient, brightened by `value`."""
    ramp = torch.linspace(0, 120, SIZE[2]).expand(*SIZE)
    return (ramp + value).clamp(0, 255)


def run(window: SteadyFields, pushes) -> list:
    out = []
    for item, field, small in pushes:
        out.extend(window.push(item, field, small))
    return out + window.flush()


def test_every_frame_comes_back_once_in_order_radius_frames_later():
    window = SteadyFields(Steadiness(radius=3))
    field = torch.zeros(12, *SIZE[1:])
    handed = [len(window.push(i, field, scene(0))) for i in range(10)]
    assert handed == [0, 0, 0] + [1] * 7
    assert [item for item, _ in window.flush()] == [7, 8, 9]


def test_a_still_scene_averages_away_the_noise_of_its_fields():
    rng = torch.Generator().manual_seed(0)
    fields = [1 + 0.1 * torch.randn(12, *SIZE[1:], generator=rng) for _ in range(30)]
    out = run(SteadyFields(Steadiness(radius=4)), [(i, f, scene(0)) for i, f in enumerate(fields)])
    steady = torch.stack([field for _, field in out])[4:-4]  # full windows
    assert steady.std(0).mean() < 0.1 / 2.5  # 1/sqrt(9) of the noise, with room


def test_nothing_is_shared_across_a_scene_cut():
    window = SteadyFields(Steadiness(radius=4))
    first = [(i, torch.zeros(12, *SIZE[1:]), scene(0)) for i in range(6)]
    second = [(i, torch.ones(12, *SIZE[1:]), scene(130)) for i in range(6, 12)]
    out = run(window, first + second)
    assert window.cuts == 1
    assert all(field.eq(0).all() for item, field in out if item < 6)
    assert all(field.eq(1).all() for item, field in out if item >= 6)


def test_where_the_content_changes_a_frame_keeps_its_own_field():
    moved = scene(0).clone()
    moved[:, :, :4] = 250  # a bright object enters on the left
    pushes = [(0, torch.zeros(12, *SIZE[1:]), scene(0)), (1, torch.ones(12, *SIZE[1:]), moved)]
    out = dict(run(SteadyFields(Steadiness(radius=1)), pushes))
    assert out[1][:, :, :2].min() > 0.99  # the object's transforms are its own
    assert (out[1][:, :, -4:] - 0.5).abs().max() < 0.01  # the still part is averaged


def test_histograms_tell_a_cut_from_noise():
    rng = torch.Generator().manual_seed(0)
    still = scene(0)[None]
    noisy = (still + 3 * torch.randn(still.shape, generator=rng)).clamp(0, 255)
    assert histograms(still).sum(-1).allclose(torch.ones(1, 3))
    assert histogram_distance(histograms(still)[0], histograms(noisy)[0]) < 0.3
    assert histogram_distance(histograms(still)[0], histograms(scene(130)[None])[0]) > 0.9


def frames(count: int, pulled: list[int] | None = None):
    for index in range(count):
        if pulled is not None:
            pulled.append(index)
        yield Frame(make_photo(40, 32, seed=index % 3), index * 10, index)


def test_render_clip_streams_with_a_bounded_delay(model):
    pulled: list[int] = []
    spec = RenderSpec(inference_size=32)
    out = render_clip(
        model.renderer, frames(12, pulled), fixed_style(model.style_code("night")), spec, batch=2
    )
    first = next(out)
    assert (first.index, first.pts, first.rgb.shape) == (0, 0, (32, 40, 3))
    assert len(pulled) <= 2 + Steadiness().radius  # a batch and the window ahead, not the clip
    assert [frame.index for frame in out] == list(range(1, 12))


def test_workers_side_by_side_give_the_same_frames_in_order(model):
    code = model.style_code("night")
    spec = RenderSpec(inference_size=32)
    alone = list(render_clip(model.renderer, frames(7), fixed_style(code), spec, batch=2))
    before = torch.get_num_threads()
    with one_thread_per_worker(model.device) as workers:
        assert (workers, torch.get_num_threads()) == (before, 1)
        together = list(
            render_clip(model.renderer, frames(7), fixed_style(code), spec, batch=2, workers=2)
        )
    assert torch.get_num_threads() == before
    assert [frame.index for frame in together] == list(range(7))
    for a, b in zip(alone, together, strict=True):
        assert np.abs(a.rgb.astype(int) - b.rgb).max() <= 1


def test_each_frame_gets_its_own_style(model):
    codes = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])
    seen = []

    def styles_of(batch):
        seen.extend(frame.index for frame in batch)
        return codes[[frame.index % 2 for frame in batch]]

    spec = RenderSpec(inference_size=32)
    out = [frame.rgb for frame in render_clip(model.renderer, frames(4), styles_of, spec, batch=2)]
    assert seen == [0, 1, 2, 3] and len(out) == 4
    assert not np.array_equal(out[0], out[1])


def test_guide_styles_follow_time_and_hold_at_the_ends():
    guided = GuideStyles(np.array([0.0, 1.0, 2.0]), torch.tensor([[0.0], [2.0], [4.0]]))
    assert guided.at([0.5, 1.5, -1.0, 9.0]).flatten().tolist() == [1.0, 3.0, 0.0, 4.0]


def test_clock_counts_from_the_first_frame_or_from_the_rate():
    info = VideoInfo(fps=25.0, frame_count=0, width=8, height=8, time_base=Fraction(1, 1000))
    clock = Clock(info)
    assert [clock(Frame(None, pts, i)) for i, pts in enumerate([500, 540, 620])] == [
        0.0,
        0.04,
        0.12,
    ]
    assert Clock(info)(Frame(None, None, 50)) == 2.0
