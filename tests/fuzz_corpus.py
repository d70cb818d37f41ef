"""The fuzz corpus of the two loaders of untrusted files: small valid seed files of each image
and checkpoint format, the mutations applied to them, and the targets that may raise only
ImageError / WeightsError. Shared by tests/test_reliability_fuzz.py (the short run) and
benchmarks/fuzz_loaders.py (the long campaign).

Then HOSTILE_FILES: files a hostile user tried, each with the reason its loader must give
(link structures cannot be bytes; tests/test_io_paths.py builds those)."""

from __future__ import annotations

import contextlib
import functools
import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from hypothesis import strategies as st
from PIL import Image

from hidt_cli.io.images import ImageError, read_image
from hidt_cli.models import Generator
from hidt_cli.weights import WeightsError, load, save_safetensors
from tests.clips import flat, make_clip, packet_starts
from tests.conftest import TINY_GENERATOR, TINY_PRESETS
from tests.images import SRGB, encoded, make_photo

IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
WEIGHTS_FORMATS = (".pt", ".safetensors")

# A position: mostly near either end of the file (headers, chunk tables, zip directories),
# sometimes anywhere; taken modulo the length of the data it applies to.
_POSITION = st.one_of(st.integers(-2048, 2047), st.integers(0, 1 << 24))
_EDIT = st.one_of(
    st.tuples(st.just("flip"), _POSITION, st.integers(1, 255)),
    st.tuples(st.just("set"), _POSITION, st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF])),
    st.tuples(st.just("insert"), _POSITION, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), _POSITION, st.integers(1, 64)),
    st.tuples(st.just("truncate"), _POSITION, st.just(0)),
)
MUTATIONS = st.lists(_EDIT, min_size=1, max_size=6)
"""Byte flips, interesting byte values, insertions, deletions and truncations."""


def mutate(data: bytes, edits: list[tuple[str, int, object]]) -> bytes:
    out = bytearray(data)
    for kind, position, arg in edits:
        if not out:
            break
        at = position % len(out)
        if kind == "flip":
            out[at] ^= arg
        elif kind == "set":
            out[at] = arg
        elif kind == "insert":
            out[at:at] = arg
        elif kind == "delete":
            del out[at : at + arg]
        else:
            del out[at:]
    return bytes(out)


@functools.cache
def image_seeds() -> dict[str, bytes]:
    """Small valid files that use the parts of each format a loader can trip on: colour
    profiles, EXIF orientation, transparency, progressive scans, several frames."""
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb = make_photo(24, 16)
    alpha = np.arange(16 * 24, dtype=np.uint8).reshape(16, 24)
    frames = [Image.fromarray(make_photo(24, 16, seed=i)) for i in range(3)]
    animated = {"save_all": True, "append_images": frames[1:], "duration": 40}
    return {
        "png": encoded(
            Image.fromarray(np.dstack([rgb, alpha])), "PNG", icc_profile=SRGB, exif=exif
        ),
        "jpeg": encoded(
            Image.fromarray(rgb), "JPEG", icc_profile=SRGB, exif=exif, progressive=True
        ),
        "gif": encoded(frames[0], "GIF", transparency=0, **animated),
        "webp": encoded(frames[0], "WEBP", icc_profile=SRGB, exif=exif, **animated),
    }


@functools.cache
def weights_seeds() -> dict[str, bytes]:
    """A tiny generator as a published-style pickle and in our safetensors format."""
    torch.manual_seed(0)
    state = Generator(TINY_GENERATOR).state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generator.safetensors"
        save_safetensors(path, state, "generator", presets=TINY_PRESETS)
        return {".pt": buffer.getvalue(), ".safetensors": path.read_bytes()}


def read_image_target(data: bytes) -> None:
    with contextlib.suppress(ImageError):
        read_image(data)


def load_weights_target(data: bytes, path: Path) -> None:
    """`path` (named with the format's suffix) receives the bytes: the loader reads files."""
    path.write_bytes(data)
    with contextlib.suppress(WeightsError):
        load(path, None).build()


# --- hostile files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HostileFile:
    """A file and what its loader must say of it: `reason` is part of the one-line error."""

    name: str
    make: Callable[[], bytes]
    loader: str
    """'image' (read_image), 'weights' (weights.load) or 'video' (all frames of VideoReader)."""
    reason: str


def random_weights_bytes() -> bytes:
    """4 KiB of noise passed as `-w random.bin`: torch's unpickler once called it pickled code."""
    return np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def text_named_jpg() -> bytes:
    return b"this is a text file, not a photo\n" * 8


def _cut_clip(container: str, keep_packets: int) -> bytes:
    """24 flat H.264 frames (with B-frames) cut between two packets after `keep_packets`."""
    with tempfile.TemporaryDirectory() as folder:
        whole = make_clip(Path(folder) / "clip", [flat(i) for i in range(24)], container=container)
        return whole.read_bytes()[: packet_starts(whole)[keep_packets]]


@functools.cache
def truncated_faststart_mp4() -> bytes:
    """The index at the front still lists 24 frames; 8 are left."""
    return _cut_clip("mp4", 8)


@functools.cache
def mkv_cut_short() -> bytes:
    """Matroska counts no frames, it states a duration: 12 of its 24 frames are left."""
    return _cut_clip("matroska", 12)


HOSTILE_FILES = (
    HostileFile(
        "random.bin",
        random_weights_bytes,
        "weights",
        "not a checkpoint: neither safetensors nor a PyTorch file",
    ),
    HostileFile("text.jpg", text_named_jpg, "image", "not an image file"),
    HostileFile("cut_faststart.mp4", truncated_faststart_mp4, "video", "truncated or damaged"),
    HostileFile("cut.mkv", mkv_cut_short, "video", "truncated or damaged"),
)
