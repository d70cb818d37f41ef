"""Shared fixtures: tiny random-weight models saved the way real weights are, generated
photos, and the shared parity data (skipped with a reason when absent); the suite's thread
count and hypothesis profiles."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings
from PIL import Image, ImageCms
from typer.testing import CliRunner

from hidt_cli.cli.app import app
from hidt_cli.models import Enhancer, EnhancerConfig, Generator, GeneratorConfig
from hidt_cli.weights import save_safetensors, write_manifest

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
TINY_GENERATOR = GeneratorConfig(
    base_channels=8,
    content_res_blocks=1,
    decoder_res_blocks=1,
    style_channels=(8, 16, 16, 16, 16),
    mlp_dim=16,
)
TINY_ENHANCER = EnhancerConfig(features=8, blocks=1, growth=4)
TINY_PRESETS = {"night": (-0.5, -1.0, -1.0), "day": (0.2, 0.5, 0.3)}


def run_translate(weights: Path, *args: object, input: bytes | None = None):
    """`hidt translate` through the real CLI with the given weights, on the CPU at inference
    size 32 (fast with the tiny test networks)."""
    base = ["translate", "--weights", str(weights), "--device", "cpu", "--inference-size", "32"]
    return CliRunner().invoke(app, [*base, *map(str, args)], input=input)


def interruptible(command: list[str], **kwargs) -> subprocess.Popen:
    """Start a hidt process that Ctrl-C reaches: a test runner started in the background
    without job control ignores SIGINT, and a child would inherit that and never stop."""
    return subprocess.Popen(
        command, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs
    )


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


def make_photo(width: int = 96, height: int = 64, seed: int = 0) -> np.ndarray:
    """A small synthetic photo: a sky-to-ground gradient with a few coloured blocks."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    image = np.concatenate([120 + 100 * (1 - y), 140 + 60 * (1 - y), 200 - 120 * y], axis=2)
    image = np.broadcast_to(image, (height, width, 3)).copy()
    for _ in range(4):
        x0, y0 = rng.integers(0, width - 8), rng.integers(0, height - 8)
        image[y0 : y0 + 8, x0 : x0 + 8] = rng.integers(0, 255, 3)
    return image.clip(0, 255).astype(np.uint8)


@pytest.fixture
def photo(tmp_path) -> Path:
    """A generated 96×64 JPEG photo in its own folder."""
    path = tmp_path / "inputs" / "photo.jpg"
    path.parent.mkdir()
    Image.fromarray(make_photo()).save(path, quality=95)
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (parity checkpoints and training photos); tests that need it skip without it."""
    if not (SHARED / "parity" / "fixtures.npz").is_file():
        pytest.skip(f"shared data not found at {SHARED} (parity fixtures and photos live there)")
    return SHARED


ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def rgba_photo(path: Path, seed: int = 0) -> Path:
    """A 96×64 PNG with a gradient alpha channel and an embedded sRGB profile."""
    alpha = np.tile(np.linspace(0, 255, 96).astype(np.uint8), (64, 1))
    Image.fromarray(np.dstack([make_photo(seed=seed), alpha]), "RGBA").save(path, icc_profile=ICC)
    return path
