"""`hidt styles`, `hidt info` and `hidt convert-weights` through the CLI."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

import hidt_cli
from hidt_cli.devices import native_bf16
from hidt_cli.ranges import photo_tensor
from tests.conftest import TINY_PRESETS, invoke
from tests.images import make_photo


def test_styles_lists_the_presets_sorted(tiny_weights):
    result = invoke("styles", "--weights", tiny_weights, "--json")
    assert result.exit_code == 0, result.output
    presets = json.loads(result.stdout)["presets"]
    assert list(presets) == ["day", "night"]
    for name, code in TINY_PRESETS.items():
        assert presets[name] == pytest.approx(code)
    table = invoke("styles", "--weights", tiny_weights)
    assert "night" in table.stdout and "-1.00" in table.stdout


def test_styles_says_when_there_are_none(model, tmp_path):
    bare = tmp_path / "bare.safetensors"
    hidt_cli.weights.save_safetensors(bare, model.generator, "generator")
    result = invoke("styles", "--weights", bare)
    assert result.exit_code == 0
    assert "no presets" in result.output


def test_info_reports_the_sha256_of_the_files(tiny_weights):
    result = invoke("info", "--weights", tiny_weights, "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for kind in ("generator", "enhancer"):
        path = tiny_weights / f"{kind}.safetensors"
        assert report[kind]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert report[kind]["path"] == str(path) and report[kind]["format"] == "safetensors"
        assert report[kind]["parameters"] > 0
    assert report["generator"]["config"]["base_channels"] == 8
    assert report["generator"]["presets"] == 2
    assert report["generator"]["provenance"] == {"note": "random weights for tests"}
    assert report["device"] == "cpu"
    assert report["dtype"] == ("bfloat16" if native_bf16(torch.device("cpu")) else "float32")
    fp32 = invoke("info", "-w", tiny_weights, "--device", "cpu", "--fp32", "--json")
    assert json.loads(fp32.stdout)["dtype"] == "float32"
    assert report["torch"] == torch.__version__
    text = invoke("info", "--weights", tiny_weights, "--device", "cpu")
    assert report["generator"]["sha256"] in text.stdout


def _outputs(weights: Path) -> torch.Tensor:
    model = hidt_cli.load(weights, device="cpu", dtype=torch.float32)
    photo = photo_tensor(make_photo(80, 48), model.device).float()
    return model.translate_tensor(photo, model.style_code("night"), inference_size=32)


def convert(source: Path, target: Path, *extra: str):
    return invoke("convert-weights", source, target, *extra)


@pytest.fixture(scope="module")
def published_outputs(shared) -> torch.Tensor:
    """The published generator's outputs, computed once for every conversion to match."""
    return _outputs(shared / "parity" / "generator.pt")


# float16 weights are exactly the rounded originals (checked below); through the random-weight
# network that rounding moves outputs by about 2e-3, within one 8-bit level (2/255).
@pytest.mark.parametrize(("half", "tolerance"), [(False, 0.0), (True, 2 / 255)])
def test_converted_published_generator_gives_the_same_outputs(
    shared, published_outputs, tmp_path, half, tolerance
):
    source = shared / "parity" / "generator.pt"
    target = tmp_path / "generator.safetensors"
    result = convert(source, target, *(["--half"] if half else []))
    assert result.exit_code == 0, result.output
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert digest in result.stdout
    with safe_open(str(target), framework="pt") as fh:
        meta = fh.metadata()
    provenance = json.loads(meta["provenance"])
    assert provenance == {
        "converted_from": "generator.pt",
        "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
    }
    assert "night" in json.loads(meta["presets"])
    stored = hidt_cli.weights.load(target, "generator").state
    for key, value in torch.load(source, weights_only=True).items():
        expected = value.half().float() if half else value.float()
        assert torch.equal(stored[key], expected), key
    difference = (_outputs(target) - published_outputs).abs().max().item()
    assert difference <= tolerance


def test_module_prefixed_checkpoint_converts(shared, published_outputs, tmp_path):
    state = torch.load(shared / "parity" / "generator.pt", weights_only=True)
    prefixed = tmp_path / "daytime.pt"
    torch.save({f"module.{k}": v for k, v in state.items()}, prefixed)
    target = tmp_path / "generator.safetensors"
    assert convert(prefixed, target).exit_code == 0
    assert (_outputs(target) - published_outputs).abs().max().item() == 0


def test_enhancer_kind_is_detected(shared, tmp_path):
    target = tmp_path / "enhancer.safetensors"
    result = convert(shared / "parity" / "enhancer.pth", target)
    assert result.exit_code == 0, result.output
    assert hidt_cli.weights.load(target, "enhancer").presets == {}


def test_existing_output_needs_overwrite(tiny_weights, tmp_path):
    target = tmp_path / "generator.safetensors"
    target.write_bytes(b"keep me")
    result = convert(tiny_weights / "generator.safetensors", target)
    assert result.exit_code != 0 and target.read_bytes() == b"keep me"
    assert convert(tiny_weights / "generator.safetensors", target, "--overwrite").exit_code == 0
    presets = hidt_cli.weights.load(target, "generator").presets
    assert {k: pytest.approx(v) for k, v in presets.items()} == TINY_PRESETS


class Payload:
    """A custom object: unpickling it would import and run code from the checkpoint."""


def test_a_checkpoint_holding_objects_is_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"content_encoder.x": torch.zeros(1), "extra": Payload()}, evil)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(evil, weights_only=True)
    target = tmp_path / "out.safetensors"
    result = convert(evil, target)
    assert result.exit_code == 3
    assert "refused" in result.output and "Traceback" not in result.output
    assert not target.exists()
