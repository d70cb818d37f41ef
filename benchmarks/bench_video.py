"""Frames per second of `hidt translate clip.mp4 --preset night` end to end (a fresh process:
start-up, model load, decode, networks, detail stage, encode, sound copied), per clip size,
on synthetic footage (bench_video_io.footage: a panning textured scene, a moving disc,
noise) with a stereo AAC track. `--stages` adds where the CPU time of a frame goes, each
stage run alone on one thread.

    python benchmarks/bench_video.py
    python benchmarks/bench_video.py --sizes 1920x1080 --frames 120 --stages
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from bench_video_io import add_sound, footage, sizes

import hidt_cli
from hidt_cli.io.video import VideoReader, VideoWriter
from hidt_cli.render import RenderSpec, network_input
from hidt_cli.steady import SteadyFields

DEFAULT_SIZES = "1280x720,1920x1080"
TARGETS = {(1280, 720): 4.0, (1920, 1080): 2.0}
"""Frames per second asked of a 2-core CPU (issue 13)."""
FPS = 30


def main() -> None:
    args = parse_args()
    print(f"# {os.cpu_count()} CPUs; torch {torch.__version__}; {args.frames} frames per clip")
    print(
        "| size | frames | wall s | frames/s | after start-up | target | CPU ms/frame "
        "| load avg before → after |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory() as folder:
        clips = {size: make_clip(Path(folder), size, args.frames) for size in args.sizes}
        for size, clip in clips.items():
            one_frame = make_clip(Path(folder) / "one", size, 1)
            print_row(size, args, startup=run_command(one_frame, args.options)[0], clip=clip)
        if args.stages:
            for size, clip in clips.items():
                print_stages(clip, size, args)


def make_clip(folder: Path, size: tuple[int, int], count: int, distinct: int | None = None) -> Path:
    """A synthetic clip of `count` frames with sound; with `distinct`, its first `distinct`
    frames over and over (making each frame costs more than translating it on a GPU)."""
    path = folder / f"clip_{size[0]}x{size[1]}.mp4"
    folder.mkdir(exist_ok=True)
    frames = footage(size, min(count, distinct or count))
    with VideoWriter(path, FPS, size) as writer:
        for index in range(count):
            writer.write(frames[index % len(frames)])
    add_sound(path, count / FPS)
    return path


def print_row(size: tuple[int, int], args: argparse.Namespace, startup: float, clip: Path) -> None:
    """One table row; "after start-up" leaves out what a one-frame clip of the size takes
    (imports, model load, the first frame)."""
    load = os.getloadavg()[0]
    wall, cpu = run_command(clip, args.options)
    frames = args.frames
    target = TARGETS.get(size)
    print(
        f"| {size[0]}×{size[1]} | {frames} | {wall:.1f} | {frames / wall:.2f} "
        f"| {(frames - 1) / max(wall - startup, 1e-9):.2f} "
        f"| {f'≥ {target:g}' if target else ''} | {1000 * cpu / frames:.0f} "
        f"| {load:.1f} → {os.getloadavg()[0]:.1f} |",
        flush=True,
    )


def run_command(path: Path, options: list[str]) -> tuple[float, float]:
    """`hidt translate` on a clip (or photo) in a fresh process: wall and CPU seconds."""
    command = [sys.executable, "-m", "hidt_cli", "translate", str(path), "--preset", "night"]
    command += ["--overwrite", "--quiet", *options]
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def print_stages(clip: Path, size: tuple[int, int], args: argparse.Namespace) -> None:
    """CPU ms per frame of each stage of the clip loop, one thread, run one after another
    on the same frames (clips.render_clip runs them overlapped)."""
    torch.set_num_threads(1)
    model = hidt_cli.load(device="cpu")
    spec, code = RenderSpec(), model.style_code("night")
    with VideoReader(clip) as reader:
        frames = list(reader.frames(max_frames=args.stage_frames))
    count = len(frames)
    images = [torch.from_numpy(f.rgb).permute(2, 0, 1)[None].contiguous() for f in frames]
    small = [network_input(x, spec.inference_size) for x in images]
    contents = [model.encode_content(x) for x in small]
    renderer = model.renderer
    encoded = [renderer.encode(x, spec) for x in images]
    translated = [next(renderer.translations(e, code, 1))[1] for e in encoded]
    shape = tuple(translated[0].shape[-2:])
    stage = renderer.detail_stage(encoded[0], shape)

    def fit() -> list:
        return [
            stage.fit(stage.guide(e.guide_255(shape)), t)
            for e, t in zip(encoded, translated, strict=True)
        ]

    fields = [field[0] for field in fit()]

    def steady() -> None:
        window = SteadyFields()
        for i, (e, field) in enumerate(zip(encoded, fields, strict=True)):
            window.push(i, field, e.guide_255(shape)[0])
        window.flush()

    def decode() -> None:
        with VideoReader(clip) as reader:
            for _ in reader.frames(max_frames=count):
                pass

    def encode() -> None:
        with VideoWriter(clip.with_name("encoded.mp4"), FPS, size, overwrite=True) as writer:
            for frame in frames:
                writer.write(frame.rgb)

    stages: dict[str, Callable[[], object]] = {
        "decode": decode,
        "small copy": lambda: [network_input(x, spec.inference_size) for x in images],
        "content encoder": lambda: [model.encode_content(x) for x in small],
        "decoder": lambda: [model.decode(c, code) for c in contents],
        "detail fit": fit,
        "steadying": steady,
        "detail apply": lambda: [
            stage.apply(field[None], x) for x, field in zip(images, fields, strict=True)
        ],
        "encode": encode,
    }
    print(f"\n{size[0]}×{size[1]}, CPU ms per frame, one thread, best of 2:\n")
    print("| stage | ms |\n| --- | ---: |")
    total = 0.0
    for name, run in stages.items():
        ms = 1000 * min(_cpu_seconds(run) for _ in range(2)) / count
        total += ms
        print(f"| {name} | {ms:.1f} |")
    print(f"| **sum** | **{total:.0f}** |")


def _cpu_seconds(run: Callable[[], object]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, type=sizes, help="WxH,WxH,...")
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--stages", action="store_true", help="Also time each stage alone.")
    parser.add_argument("--stage-frames", type=int, default=8)
    parser.add_argument(
        "--options", nargs=argparse.REMAINDER, default=[], help="Passed on to hidt translate."
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
