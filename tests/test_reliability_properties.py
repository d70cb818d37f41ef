"""Property-based tests: any image size from 1 to 300 pixels a side, in any common mode, read
and translated with any finite style code, gives an output of the input's size."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from hidt_cli import hires
from hidt_cli.io.images import read_image

MODES = ["L", "LA", "P", "RGB", "RGBA", "I;16", "CMYK"]


def encoded_image(mode: str, width: int, height: int, seed: int) -> bytes:
    """Random pixels in `mode`, encoded the way such files usually come (CMYK as JPEG)."""
    rng = np.random.default_rng(seed)
    rgb = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    alpha = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8))
    image = {
        "L": lambda: rgb.convert("L"),
        "LA": lambda: Image.merge("LA", [rgb.convert("L"), alpha]),
        "P": lambda: rgb.convert("P"),
        "RGB": lambda: rgb,
        "RGBA": lambda: Image.merge("RGBA", [*rgb.split(), alpha]),
        "I;16": lambda: Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16)),
        "CMYK": lambda: rgb.convert("CMYK"),
    }[mode]()
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG" if mode == "CMYK" else "PNG")
    return buffer.getvalue()


@settings(max_examples=settings.default.max_examples // 10)  # each example runs the networks
@given(
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    mode=st.sampled_from(MODES),
    code=st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_any_image_translates_to_its_own_size(model, width, height, mode, code, seed):
    loaded = read_image(encoded_image(mode, width, height, seed))
    assert loaded.size == (width, height)
    assert (loaded.alpha is not None) == (mode in ("LA", "RGBA"))
    out = model.translate(loaded.rgb, code, inference_size=32)
    assert (out.size, out.mode) == ((width, height), "RGB")


@given(
    height=st.integers(1, 10_000),
    width=st.integers(1, 10_000),
    size=st.sampled_from([16, 32, 48, 128, 256, 512]),
)
def test_processing_shape_is_in_multiples_of_16_with_the_shorter_side_at_size(height, width, size):
    shape = hires.inference_shape(height, width, size)
    assert all(side % 16 == 0 and side >= 16 for side in shape)
    (short_in, long_in), (short_out, long_out) = sorted((height, width)), sorted(shape)
    assert short_out == size
    wanted = min(long_in * size / short_in, hires.MAX_ASPECT * size)  # extreme strips are capped
    assert abs(long_out - wanted) <= 8
