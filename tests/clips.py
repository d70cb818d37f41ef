"""Clips the tests make, written with PyAV directly (so that reading is tested apart from
hidt's writer): flat frames and a moving, noisy scene, H.264 with B-frames and an optional
tone, and where a file's packets start."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT = 64, 48
"""The size of flat() frames."""
SCENE_SIZE, SCENE_FRAMES, SCENE_RATE = (96, 64), 20, 10
"""A scene_clip's size (width, height), frame count and rate unless told otherwise."""


def colour_of(index: int) -> tuple[int, int, int]:
    return (12 * index, 255 - 12 * index, 100)


def flat(index: int, size: tuple[int, int] = (WIDTH, HEIGHT)) -> np.ndarray:
    return np.full((size[1], size[0], 3), colour_of(index), dtype=np.uint8)


def scene(
    index: int, rng: np.random.Generator, step: int = 3, noise: float = 6.0, gain: float = 1.0
) -> np.ndarray:
    """Frame `index` of a textured scene moving `step` pixels a frame, with Gaussian sensor
    noise, its light scaled by `gain`."""
    width, height = SCENE_SIZE
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    x = x + step * index
    rgb = np.stack(
        [
            128 + 70 * np.sin(x / 9) * np.cos(y / 13),
            110 + 60 * np.sin(y / 6),
            120 + 50 * np.sin((x + 2 * y) / 11),
        ],
        axis=-1,
    )
    return (gain * rgb + rng.normal(0, noise, rgb.shape)).clip(0, 255).astype(np.uint8)


def scene_clip(path: Path, step: int = 3, frames: int = SCENE_FRAMES, **options) -> Path:
    """A clip of the scene (the same noise every time), made with make_clip(**options)."""
    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames_rgb = [scene(i, rng, step) for i in range(frames)]
    return make_clip(path, frames_rgb, rate=SCENE_RATE, **options)


def make_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    rate: int = 10,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int = 0,
    audio: str | None = None,
    faststart: bool = True,
    container: str = "mp4",
    codec: str = "libx264",
    audio_seconds: float | None = None,
    lossless: bool = False,
) -> Path:
    """Encode RGB frames as H.264 (x264's defaults: B-frames) with PyAV; `audio` names a
    codec for a 440 Hz tone as long as the video, or `audio_seconds` long. `lossless` stores
    the frames' YUV exactly: x264's lossy choices can differ from run to run once torch has
    run in the process, so a clip whose pixels are measured is made lossless."""
    options = {"movflags": "+faststart"} if faststart and container in ("mp4", "mov") else {}
    with av.open(str(path), "w", format=container, options=options) as out:
        stream = out.add_stream(codec, rate=rate, options={"qp": "0"} if lossless else None)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = time_base or Fraction(1, rate)
        if rotation:
            stream.set_display_rotation(rotation)
        sound = out.add_stream(audio, rate=48000, layout="mono") if audio else None
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = pts[index] if pts is not None else index
            frame.time_base = stream.codec_context.time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound is not None:
            out.mux(sound.encode(tone(audio_seconds or len(frames) / rate)))
            out.mux(sound.encode(None))
    return path


def tone(seconds: float, rate: int = 48000) -> av.AudioFrame:
    samples = np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate) * 0.3
    frame = av.AudioFrame.from_ndarray(
        samples.astype(np.float32)[None], format="fltp", layout="mono"
    )
    frame.sample_rate, frame.pts = rate, 0
    return frame


def packet_starts(path: Path) -> list[int]:
    """Where each video packet starts in the file, in file order: the cuts between packets
    (Matroska's position is that of the block, before the packet's data)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(p.pos for p in container.demux(stream) if p.size and p.pos >= 0)
