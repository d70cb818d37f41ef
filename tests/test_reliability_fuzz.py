"""Fuzzing the two loaders of untrusted files: `read_image` on mutated PNG, JPEG, GIF and WebP
bytes, and `weights.load` (then building the network) on mutated `.pt` and `.safetensors`
checkpoints. The only exceptions allowed out are ImageError and WeightsError; anything else is
a bug. This is the short run for CI; benchmarks/fuzz_loaders.py runs the same targets longer.
Last, each file of the hostile corpus gets its one-line reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hidt_cli.io.images import ImageError, read_image
from hidt_cli.io.video import VideoError, read_frames
from hidt_cli.weights import WeightsError, load
from tests.fuzz_corpus import (
    HOSTILE_FILES,
    IMAGE_FORMATS,
    MUTATIONS,
    WEIGHTS_FORMATS,
    image_seeds,
    load_weights_target,
    mutate,
    read_image_target,
    weights_seeds,
)

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow])
"""Examples per run come from the profile (tests/conftest.py)."""


@settings(FUZZ)
@given(fmt=st.sampled_from(IMAGE_FORMATS), edits=MUTATIONS)
def test_image_loader_raises_only_image_errors(fmt, edits):
    read_image_target(mutate(image_seeds()[fmt], edits))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(FUZZ)
@given(suffix=st.sampled_from(WEIGHTS_FORMATS), edits=MUTATIONS)
def test_weights_loader_raises_only_weights_errors(scratch, suffix, edits):
    load_weights_target(mutate(weights_seeds()[suffix], edits), scratch / f"fuzz{suffix}")


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_image_seeds_are_valid(fmt):
    assert read_image(image_seeds()[fmt]).size in ((24, 16), (16, 24))


@pytest.mark.parametrize("suffix", WEIGHTS_FORMATS)
def test_weights_seeds_are_valid(scratch, suffix):
    path = scratch / f"seed{suffix}"
    path.write_bytes(weights_seeds()[suffix])
    assert load(path, None).kind == "generator"


@pytest.mark.parametrize("case", HOSTILE_FILES, ids=lambda case: case.name)
def test_each_hostile_file_is_refused_in_one_line_naming_it(scratch, case):
    path = scratch / case.name
    path.write_bytes(case.make())
    errors = {"image": ImageError, "weights": WeightsError, "video": VideoError}
    with pytest.raises(errors[case.loader]) as caught:
        if case.loader == "image":
            read_image(path)
        elif case.loader == "weights":
            load(path, None)
        else:
            list(read_frames(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and case.reason in message and "\n" not in message
