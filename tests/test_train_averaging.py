"""The moving average of the generator's weights: its arithmetic and its state."""

from __future__ import annotations

import pytest
import torch

from hidt_cli.train.averaging import WeightAverage


def _net(value: float) -> torch.nn.Module:
    net = torch.nn.BatchNorm1d(2)
    with torch.no_grad():
        net.weight.fill_(value)
        net.running_mean.fill_(value)
    return net


def test_average_warms_up_then_keeps_the_decay():
    net = _net(0.0)
    average = WeightAverage(net, decay=0.5)
    with torch.no_grad():
        net.weight.fill_(1.0)
        net.running_mean.fill_(3.0)
    average.update(net)
    keep = 2 / 11  # warm-up: (1 + n) / (10 + n) after the first update, below 0.5
    assert average.module.weight.tolist() == pytest.approx([1 - keep] * 2)
    assert average.module.running_mean.tolist() == [3.0, 3.0]
    for _ in range(20):
        average.update(net)
    before = average.module.weight[0].item()
    average.update(net)
    assert 1 - average.module.weight[0].item() == pytest.approx((1 - before) * 0.5)
    assert net.weight.tolist() == [1.0, 1.0]
    assert not average.module.weight.requires_grad


def test_average_state_round_trip_and_restart():
    net = _net(2.0)
    average = WeightAverage(net, decay=0.9)
    average.update(_net(4.0))
    copy = WeightAverage(_net(0.0), decay=0.9)
    copy.load_state_dict(average.state_dict())
    assert copy.updates == 1
    assert torch.equal(copy.module.weight, average.module.weight)
    copy.restart(_net(7.0))
    assert copy.updates == 0 and copy.module.weight.tolist() == [7.0, 7.0]
