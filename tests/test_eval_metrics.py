"""Evaluation metrics on constructed cases whose answers are known."""

from __future__ import annotations

import math

import pytest
import torch

from hidt_cli.eval import metrics
from hidt_cli.eval.color import lab_to_srgb, srgb_to_lab


def test_inception_score_of_identical_predictions_is_one():
    uniform = torch.full((10, 4), 0.25)
    assert metrics.inception_score(uniform) == pytest.approx(1.0)
    same = torch.tensor([[0.7, 0.2, 0.1]]).expand(5, -1)
    assert metrics.inception_score(same) == pytest.approx(1.0)


def test_inception_score_of_confident_distinct_predictions_is_the_class_count():
    assert metrics.inception_score(torch.eye(5)) == pytest.approx(5.0)
    assert metrics.inception_score(torch.eye(3).repeat(4, 1)) == pytest.approx(3.0)


def test_conditional_inception_score_averages_per_content():
    diverse, collapsed = torch.eye(4), torch.eye(4)[[2, 2, 2, 2]]
    assert metrics.conditional_inception_score([diverse, collapsed]) == pytest.approx(2.5)
    with pytest.raises(ValueError):
        metrics.conditional_inception_score([])


def test_dipd_is_zero_for_identical_features_and_ignores_channel_statistics():
    features = torch.rand(3, 8, 4, 4)
    assert metrics.dipd(features, features).abs().max() < 1e-6
    # A per-channel gain and offset is style, which instance normalisation removes.
    restyled = features * torch.rand(1, 8, 1, 1).add(0.5) + torch.rand(1, 8, 1, 1)
    assert metrics.dipd(features, restyled).abs().max() < 1e-3
    assert (metrics.dipd(features, torch.rand(3, 8, 4, 4)) > 0.1).all()


def test_dipd_of_opposite_unit_vectors_is_two():
    a = torch.tensor([[1.0, 0.0]]).view(1, 2, 1, 1)
    assert metrics.dipd(a, -a).item() == pytest.approx(2.0)


def test_psnr_known_values_and_cap():
    x = torch.zeros(2, 3, 8, 8)
    assert metrics.psnr(x, x).tolist() == [metrics.PSNR_CAP_DB] * 2
    # An error of 0.2 on the [−1, 1] scale is 0.1 of the peak: 20 dB.
    assert metrics.psnr(x + 0.2, x)[0].item() == pytest.approx(20.0, abs=1e-4)


def test_style_consistency_is_the_distance_per_code():
    styles = torch.zeros(2, 3)
    recovered = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    assert metrics.style_consistency(recovered, styles).tolist() == [5.0, 0.0]


def test_hit_rate_confusion_matrix_and_accuracy():
    true, predicted = torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 2])
    assert metrics.hit_rate(predicted, true) == 0.75
    matrix = metrics.confusion_matrix(true, predicted, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert metrics.accuracy(matrix) == 0.75
    assert math.isclose(metrics.accuracy(torch.zeros(2, 2, dtype=torch.long)), 0.0)
    with pytest.raises(ValueError):
        metrics.hit_rate(torch.tensor([]), torch.tensor([]))


def test_colour_cast_sees_a_green_tint_not_a_darkening():
    generator = torch.Generator().manual_seed(0)
    grey = torch.rand(1, 1, 16, 16, generator=generator) * 1.2 - 0.6
    photo = grey + torch.rand(1, 3, 16, 16, generator=generator) * 0.4 - 0.2  # muted colours
    darker = (photo + 1) * 0.6 - 1  # the same colours, less light
    green = photo.clone()
    green[:, 1] = (green[:, 1] + 0.3).clamp(max=1)
    casts = metrics.colour_cast(torch.cat([photo, darker, green]), photo)
    assert casts.shape == (3, 2)
    assert casts[0].abs().max() < 1e-4
    assert casts[1].max() < 1 and casts[2, 0] > 10  # a* moves with the tint, not the light


def test_mean_chroma_halves_with_half_the_saturation_and_is_zero_for_grey():
    generator = torch.Generator().manual_seed(1)
    photo = torch.rand(1, 3, 16, 16, generator=generator) * 1.6 - 0.8
    lab = srgb_to_lab(photo.add(1).div(2))
    half = lab.clone()
    half[:, 1:] *= 0.5  # same lightness and hues, half the saturation
    grey = lab.clone()
    grey[:, 1:] = 0
    images = torch.cat([photo, lab_to_srgb(half).mul(2).sub(1), lab_to_srgb(grey).mul(2).sub(1)])
    chroma = metrics.mean_chroma(images)
    assert chroma.shape == (3,)
    assert chroma[0].item() > 10
    assert (chroma[1] / chroma[0]).item() == pytest.approx(0.5, abs=0.05)
    assert chroma[2].item() < 0.5
