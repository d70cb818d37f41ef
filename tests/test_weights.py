"""Resolving and loading weights: formats, safety, verification and clear errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hidt_cli
from hidt_cli.models import Enhancer, Generator
from hidt_cli.weights import (
    WeightsError,
    load,
    resolve,
    save_safetensors,
    sha256_of,
    write_manifest,
)
from tests.conftest import TINY_ENHANCER, TINY_GENERATOR, offline_hub_environment


@pytest.fixture
def tiny_state():
    torch.manual_seed(1)
    return Generator(TINY_GENERATOR).state_dict()


def test_published_pickle_with_module_prefix_loads(tmp_path, tiny_state):
    path = tmp_path / "daytime.pt"
    torch.save({f"module.{k}": v for k, v in tiny_state.items()}, path)
    loaded = load(path, "generator")
    assert loaded.format == "published" and loaded.config == TINY_GENERATOR
    assert "night" in loaded.presets  # the published presets come with a published checkpoint
    net = loaded.build()
    assert torch.equal(
        net.state_dict()["decoder.adain_net.model.2.fc.bias"],
        tiny_state["decoder.adain_net.model.2.fc.bias"],
    )


def test_pickle_carrying_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"content_encoder.x": Payload()}, path)
    with pytest.raises(WeightsError, match="refused"):
        load(path, "generator")
    assert not marker.exists()


def test_missing_key_is_named(tmp_path, tiny_state):
    state = dict(tiny_state)
    del state["decoder.body.0.model.0.model.1.conv.bias"]
    torch.save(state, tmp_path / "g.pt")
    with pytest.raises(WeightsError, match="missing key decoder.body.0.model.0.model.1.conv.bias"):
        load(tmp_path / "g.pt", "generator").build()


def test_unexpected_key_and_wrong_shape_are_named(tmp_path, tiny_state):
    torch.save({**tiny_state, "extra.weight": torch.zeros(1)}, tmp_path / "extra.pt")
    with pytest.raises(WeightsError, match="unexpected key extra.weight"):
        load(tmp_path / "extra.pt", "generator").build()
    bad = dict(tiny_state)
    bad["decoder.model_postprocess.0.conv.bias"] = torch.zeros(7)
    torch.save(bad, tmp_path / "shape.pt")
    with pytest.raises(WeightsError, match="decoder.model_postprocess.0.conv.bias has shape"):
        load(tmp_path / "shape.pt", "generator").build()


def test_nan_weights_are_refused(tmp_path, tiny_state):
    bad = dict(tiny_state)
    bad["style_encoder.head.1.bias"] = torch.tensor([0.0, float("nan"), 0.0])
    torch.save(bad, tmp_path / "nan.pt")
    with pytest.raises(WeightsError, match="style_encoder.head.1.bias contains NaN"):
        load(tmp_path / "nan.pt", "generator")


def test_an_enhancer_is_not_a_generator(tmp_path):
    torch.save(Enhancer(TINY_ENHANCER).state_dict(), tmp_path / "enhancer.pth")
    with pytest.raises(WeightsError, match="not a HiDT generator checkpoint"):
        load(tmp_path / "enhancer.pth", "generator")


def test_garbage_file_is_a_clear_error(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(WeightsError, match="junk.pt"):
        load(tmp_path / "junk.pt", "generator")
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(WeightsError, match="junk.safetensors"):
        load(tmp_path / "junk.safetensors", "generator")


def test_safetensors_round_trip_keeps_metadata_and_half_precision_is_close(tmp_path, tiny_state):
    presets = {"dusk": (0.1, -0.2, 0.3)}
    save_safetensors(
        tmp_path / "full.safetensors",
        tiny_state,
        "generator",
        presets=presets,
        provenance={"steps": 5},
    )
    save_safetensors(tmp_path / "half.safetensors", tiny_state, "generator", half=True)
    full = load(tmp_path / "full.safetensors", "generator")
    assert (
        full.presets == presets
        and full.provenance == {"steps": 5}
        and full.config == TINY_GENERATOR
    )
    assert all(torch.equal(full.state[k], v) for k, v in tiny_state.items())
    half = load(tmp_path / "half.safetensors", "generator")
    assert max((half.state[k] - v).abs().max().item() for k, v in tiny_state.items()) < 1e-2
    assert half.state["style_encoder.head.1.bias"].dtype == torch.float32


def test_manifest_mismatch_is_detected(tiny_weights, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(tiny_weights, folder)
    assert load(folder / "generator.safetensors", "generator").sha256 == sha256_of(
        folder / "generator.safetensors"
    )
    with open(folder / "generator.safetensors", "r+b") as fh:
        fh.seek(-4, os.SEEK_END)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(WeightsError, match="does not match manifest.json"):
        load(folder / "generator.safetensors", "generator")
    write_manifest(folder)  # re-listing the changed file makes it acceptable again
    assert json.loads((folder / "manifest.json").read_text())["files"]["generator.safetensors"][
        "sha256"
    ]


def test_resolve_folder_file_and_defaults(tiny_weights, tmp_path, monkeypatch):
    assert resolve(tiny_weights, "generator").name == "generator.safetensors"
    assert resolve(tiny_weights, "enhancer").name == "enhancer.safetensors"
    assert resolve(tmp_path, "enhancer") is None
    with pytest.raises(WeightsError, match="folder holds none of"):
        resolve(tmp_path, "generator")
    with pytest.raises(WeightsError, match="no such weights file"):
        resolve(tmp_path / "nope.pt", "generator")
    monkeypatch.setenv("HIDT_WEIGHTS_DIR", str(tmp_path / "empty"))
    with pytest.raises(WeightsError, match="no default weights are installed.*convert-weights"):
        resolve(None, "generator")
    monkeypatch.setenv("HIDT_WEIGHTS_DIR", str(tiny_weights))
    assert hidt_cli.load(device="cpu").info.generator.source.startswith("default weights")


def _resolve_in_subprocess(spec: str, cache: Path) -> subprocess.CompletedProcess:
    """resolve() in a process that finds hub weights only in `cache`."""
    env = offline_hub_environment(cache)
    code = (
        "import sys; from hidt_cli.weights import resolve; print(resolve(sys.argv[1], 'generator'))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, spec], env=env, capture_output=True, text=True, timeout=120
    )


def test_hub_reference_offline_and_not_cached(tmp_path):
    result = _resolve_in_subprocess(
        "hf://someone/hidt-weights/generator.safetensors@main", tmp_path / "hub"
    )
    assert result.returncode != 0
    assert "not in the local Hugging Face cache and HF_HUB_OFFLINE is set" in result.stderr
    with pytest.raises(WeightsError, match="expected hf://owner/repo/file"):
        resolve("hf://only-owner", "generator")


def test_hub_reference_served_from_the_cache(tiny_weights, tmp_path):
    """A file already in the Hugging Face cache resolves offline (cache layout made by hand)."""
    cache = tmp_path / "hub"
    repo = cache / "models--someone--hidt-weights"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    shutil.copy(tiny_weights / "generator.safetensors", snapshot / "generator.safetensors")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    result = _resolve_in_subprocess("hf://someone/hidt-weights/generator.safetensors", cache)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.read_bytes() == (tiny_weights / "generator.safetensors").read_bytes()
