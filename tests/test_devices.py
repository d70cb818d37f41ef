"""Device policy: bf16 is chosen only where the hardware runs it natively, with the CPU's
feature probes forced each way so that the choice is checked on any machine."""

from __future__ import annotations

import pytest
import torch

import hidt_cli
from hidt_cli.devices import native_bf16
from hidt_cli.train.runtime import Runtime


@pytest.fixture(params=[(False, False), (True, False), (False, True), (True, True)])
def cpu_features(request, monkeypatch) -> bool:
    """The CPU's AMX and AVX512-BF16 probes forced to one combination; True when either is
    there, i.e. when bf16 should be native."""
    amx, avx512_bf16 = request.param
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    return amx or avx512_bf16


def test_cpu_bf16_is_native_with_amx_or_avx512_bf16(cpu_features):
    assert native_bf16(torch.device("cpu")) is cpu_features


def test_inference_picks_bf16_only_where_native(cpu_features, tiny_weights):
    model = hidt_cli.load(tiny_weights, device="cpu")
    assert model.dtype == (torch.bfloat16 if cpu_features else torch.float32)
    forced = hidt_cli.load(tiny_weights, device="cpu", dtype=torch.float32)
    assert forced.dtype == torch.float32


def test_training_autocasts_to_bf16_only_where_native_and_not_with_fp32(cpu_features):
    with Runtime(torch.device("cpu")).autocast():
        assert torch.is_autocast_enabled("cpu") is cpu_features
        if cpu_features:
            assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    with Runtime(torch.device("cpu"), fp32=True).autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_other_devices_do_not_probe_the_cpu(monkeypatch):
    def no_probe():
        raise AssertionError("probed the CPU for another device")

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", no_probe)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", no_probe)
    assert native_bf16(torch.device("cuda"))
    assert not native_bf16(torch.device("mps"))
    assert not native_bf16(torch.device("meta"))
