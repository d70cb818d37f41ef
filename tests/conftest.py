"""Shared fixtures and helpers: tiny random-weight models saved the way real weights are, the
shipped default weights, the CLI run in this process or in a child, a generated photo, and the
shared parity data (skipped with a reason when absent); the suite's thread count and hypothesis
profiles. What tests make lives beside it: pictures in tests/images.py, clips in tests/clips.py,
evaluation inputs in tests/eval_inputs.py. Test modules import these, never each other."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import Result
from hypothesis import settings
from typer.testing import CliRunner

import hidt_cli
from hidt_cli.cli.app import app
from hidt_cli.models import Enhancer, EnhancerConfig, Generator, GeneratorConfig
from hidt_cli.weights import save_safetensors, write_manifest
from tests.images import save_photo

# One torch thread, here and in the `hidt` processes tests start: the test networks are tiny,
# and two threads on two busy cores (a training job beside the suite) wait for each other at
# every op, which made single tests 10-70 times slower.
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)

# Examples per property: a plain `pytest` runs 50, new ones each time; CI=true the same 50 every
# time (derandomised), so that a red CI run is the code's fault; HIDT_FUZZ=long runs 400 when
# developing, and benchmarks/fuzz_loaders.py the long fuzz campaigns.
settings.register_profile("quick", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=400, deadline=None)
if os.environ.get("HIDT_FUZZ") == "long":
    settings.load_profile("long")
elif os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")
else:
    settings.load_profile("quick")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEFAULTS = Path(__file__).resolve().parents[1] / "weights"
"""The shipped default weights (small: they are used in tests where random ones cannot tell
styles apart)."""
TINY_GENERATOR = GeneratorConfig(
    base_channels=8,
    content_res_blocks=1,
    decoder_res_blocks=1,
    style_channels=(8, 16, 16, 16, 16),
    mlp_dim=16,
)
TINY_ENHANCER = EnhancerConfig(features=8, blocks=1, growth=4)
TINY_PRESETS = {"night": (-0.5, -1.0, -1.0), "day": (0.2, 0.5, 0.3)}
TINY_TRAIN = {
    "generator": dataclasses.asdict(TINY_GENERATOR),
    "d_base": 8,
    "d_layers": 3,
    "workers": 0,
    "style_pool": 16,
}
"""Training settings (a --config file's JSON) for the tiny networks."""


def model_options(weights: Path, size: int = 32) -> list[str]:
    """The options of a command that loads a model: these weights, on the CPU, at inference
    size `size` (32: fast with the tiny test networks)."""
    return ["--weights", str(weights), "--device", "cpu", "--inference-size", str(size)]


def invoke(*args: object, input: bytes | None = None) -> Result:
    """A `hidt` command line through the real CLI, in this process."""
    return CliRunner().invoke(app, [*map(str, args)], input=input)


def run_hidt(
    command: str, weights: Path, *args: object, size: int = 32, input: bytes | None = None
) -> Result:
    """`hidt COMMAND ARGS` with the model_options."""
    return invoke(command, *model_options(weights, size), *args, input=input)


def converted(result: Result) -> set[str]:
    """The inputs a `--json` report says were converted."""
    report = json.loads(result.stdout)
    return {f["input"] for f in report["files"] if f["status"] == "converted"}


def hidt_process_command(command: str, weights: Path, *args: object, size: int = 32) -> list[str]:
    """The same command line for a child process (`python -m hidt_cli`)."""
    return [
        *(sys.executable, "-m", "hidt_cli", command),
        *model_options(weights, size),
        *map(str, args),
    ]


def interruptible(command: list[str], **kwargs) -> subprocess.Popen:
    """Start a hidt process that Ctrl-C reaches: a test runner started in the background
    without job control ignores SIGINT, and a child would inherit that and never stop."""
    return subprocess.Popen(
        command, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs
    )


def offline_hub_environment(cache: Path) -> dict[str, str]:
    """The environment of a child process that finds hub weights only in `cache`:
    huggingface_hub reads it at import, so each case needs a fresh process."""
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(cache),
        "HF_HOME": str(cache.parent),
    }


def touch(root: Path, *names: str) -> None:
    """Files of these relative names below `root` (folders made), each one byte long: for
    tests of names and walks, where content does not matter."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A folder with a tiny generator and enhancer in our safetensors format, with a manifest."""
    folder = tmp_path_factory.mktemp("tiny_weights")
    torch.manual_seed(0)
    save_safetensors(
        folder / "generator.safetensors",
        Generator(TINY_GENERATOR),
        "generator",
        presets=TINY_PRESETS,
        provenance={"note": "random weights for tests"},
    )
    save_safetensors(folder / "enhancer.safetensors", Enhancer(TINY_ENHANCER), "enhancer")
    write_manifest(folder)
    return folder


@pytest.fixture(scope="module")
def model(tiny_weights) -> hidt_cli.HiDT:
    """The tiny networks in float32 on the CPU, whatever precision this host would pick."""
    return hidt_cli.load(tiny_weights, device="cpu", dtype=torch.float32)


@pytest.fixture(scope="session")
def default_model() -> hidt_cli.HiDT:
    """The shipped default weights in float32 on the CPU."""
    return hidt_cli.load(DEFAULTS, device="cpu", dtype=torch.float32)


@pytest.fixture
def photo(tmp_path) -> Path:
    """A generated 96×64 JPEG photo (make_photo) in its own folder."""
    return save_photo(tmp_path / "inputs" / "photo.jpg", quality=95)


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (parity checkpoints and training photos); tests that need it skip without it."""
    if not (SHARED / "parity" / "fixtures.npz").is_file():
        pytest.skip(f"shared data not found at {SHARED} (parity fixtures and photos live there)")
    return SHARED
