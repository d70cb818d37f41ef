"""Frames per second of the video path without the networks: decoding an H.264 MP4 to RGB,
encoding RGB to H.264 MP4 with each x264 preset, and both at once (read → write, with the
sound copied), as `hidt translate` will run them around the networks. Synthetic footage: a
textured scene panning sideways, a moving bright disc, and sensor-like noise.

    python benchmarks/bench_video_io.py
    python benchmarks/bench_video_io.py --sizes 1920x1080 --presets veryfast --frames 96
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from hidt_cli.io.video import DEFAULT_CRF, VideoReader, VideoWriter

DEFAULT_SIZES = "1280x720,1920x1080"
DEFAULT_PRESETS = "ultrafast,superfast,veryfast,faster,medium"
FPS = 30


def main() -> None:
    args = parse_args()
    print(
        f"# PyAV {av.__version__}, libx264, CRF {args.crf}, {args.frames} frames per run, kbit/s at {FPS} fps;"
    )
    print(f"# {os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.1f}")
    print("| size | preset | encode fps | CPU ms/frame | read+write fps | CPU ms/frame | kbit/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            decode_fps = bench_size(Path(folder), size, args)
            print(
                f"| {size[0]}×{size[1]} | decode only | | | {decode_fps[0]:.1f} | {decode_fps[1]:.1f} | |"
            )
    print(f"# load average after: {os.getloadavg()[0]:.1f} (other processes share the CPUs)")


def bench_size(
    folder: Path, size: tuple[int, int], args: argparse.Namespace
) -> tuple[float, float]:
    """Print one row per preset; return the decode-only rate of this size."""
    frames = footage(size, args.frames)
    source = folder / "source.mp4"
    encode(frames, source, args.crf, "veryfast", audio=True)
    for preset in args.presets:
        target = folder / f"{preset}.mp4"
        encoding = rate(args.frames, lambda p=preset, t=target: encode(frames, t, args.crf, p))
        kbits = target.stat().st_size * 8 / 1000 / (args.frames / FPS)
        both = rate(args.frames, lambda p=preset, t=target: transcode(source, t, args.crf, p))
        print(
            f"| {size[0]}×{size[1]} | {preset} | {encoding[0]:.1f} | {encoding[1]:.1f} "
            f"| {both[0]:.1f} | {both[1]:.1f} | {kbits:.0f} |"
        )
    return rate(args.frames, lambda: decode(source))


def rate(frames: int, run: Callable[[], None]) -> tuple[float, float]:
    """Frames per wall-clock second, and CPU milliseconds per frame over all our threads:
    the second does not depend on what else runs on the machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return frames / wall, 1000 * cpu / frames


def encode(frames: list[np.ndarray], target: Path, crf: int, preset: str, audio: bool = False):
    height, width = frames[0].shape[:2]
    with VideoWriter(target, FPS, (width, height), True, crf=crf, preset=preset) as writer:
        for frame in frames:
            writer.write(frame)
    if audio:
        add_sound(target, len(frames) / FPS)


def transcode(source: Path, target: Path, crf: int, preset: str) -> None:
    with (
        VideoReader(source) as reader,
        VideoWriter.like(target, reader, overwrite=True, crf=crf, preset=preset) as writer,
    ):
        for frame in reader.frames():
            writer.write(frame.rgb, frame.pts)


def decode(source: Path) -> None:
    with VideoReader(source) as reader:
        for _ in reader.frames():
            pass


def add_sound(path: Path, seconds: float) -> None:
    """Mux a stereo AAC tone next to the video (copying the video packets), as phones record."""
    temporary = path.with_suffix(".sound.mp4")
    with av.open(str(path)) as source, av.open(str(temporary), "w") as out:
        video = out.add_stream_from_template(source.streams.video[0])
        sound = out.add_stream("aac", rate=48000, layout="stereo")
        for packet in source.demux(source.streams.video[0]):
            if packet.size:
                packet.stream = video
                out.mux(packet)
        samples = np.sin(2 * np.pi * 440 * np.arange(int(seconds * 48000)) / 48000) * 0.2
        tone = av.AudioFrame.from_ndarray(
            np.repeat(samples.astype(np.float32)[None], 2, 0), format="fltp", layout="stereo"
        )
        tone.sample_rate, tone.pts = 48000, 0
        out.mux(sound.encode(tone))
        out.mux(sound.encode(None))
    temporary.replace(path)


def footage(size: tuple[int, int], count: int) -> list[np.ndarray]:
    """A textured scene panning 4 px a frame with a disc crossing it, plus fresh noise."""
    width, height = size
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:height, : width + 4 * count].astype(np.float32)
    scene = np.stack(
        [
            120 + 60 * np.sin(x / 37) * np.cos(y / 53) + 40 * y / height,
            110 + 50 * np.sin(x / 91 + y / 71),
            90 + 70 * np.cos(x / 23) * np.sin(y / 29),
        ],
        axis=-1,
    )
    frames = []
    for index in range(count):
        frame = scene[:, 4 * index : 4 * index + width].copy()
        cx, cy = (index * 17) % width, height // 2
        disc = (x[:, :width] - cx) ** 2 + (y[:, :width] - cy) ** 2 < (height // 10) ** 2
        frame[disc] = 245
        frame += rng.normal(0, 1.5, frame.shape).astype(np.float32)
        frames.append(frame.clip(0, 255).astype(np.uint8))
    return frames


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, type=sizes, help="WxH,WxH,...")
    parser.add_argument("--presets", default=DEFAULT_PRESETS, type=lambda s: s.split(","))
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--crf", type=int, default=DEFAULT_CRF)
    return parser.parse_args()


def sizes(text: str) -> list[tuple[int, int]]:
    return [tuple(int(n) for n in part.split("x")) for part in text.split(",")]


if __name__ == "__main__":
    main()
