"""Frames per second of a timelapse: one photo, its content encoded once, decoded with K
styles by `HiDT.render` at the networks' size, each frame brought back to 8-bit (video encoding excluded).
Published network sizes, random weights.

    python benchmarks/bench_timelapse.py --device cpu --frames 32
    python benchmarks/bench_timelapse.py --device cuda --frames 480 --max-batch 32 --compile
"""

from __future__ import annotations

import argparse
import time

import benchlib
import torch

from hidt_cli.model import HiDT
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import RenderSpec


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads or torch.get_num_threads())
    model = benchlib.random_model(
        args.device, benchlib.dtype_from_name(args.dtype), args.channels_last, args.compile
    )
    width, height = args.photo
    photo = photo_tensor(benchlib.synthetic_photo(height, width), model.device).float()
    styles = style_path(args.frames)
    benchlib.reset_peak_memory(model.device)
    warmup = benchlib.StageTimes(model.device)
    render(model, photo, styles, args, warmup)
    times = benchlib.best_run(
        lambda: render(model, photo, styles, args, benchlib.StageTimes(model.device)),
        args.repeats,
        0.1,
    )
    memory = benchlib.peak_memory_mib(model.device)
    print(
        f"# timelapse: {args.dtype}, {benchlib.layout_name(args.channels_last)}"
        f"{', compiled' if args.compile else ''}; {benchlib.describe_machine(model.device)}"
    )
    print(
        f"# photo {width}×{height} → inference size {args.inference_size}, {args.frames} styles, "
        f"max batch {args.max_batch}, best of {args.repeats}; first run {warmup.total:.2f} s"
    )
    print("| frames | total s | frames/s | ms/frame | first frames after (ms) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {args.frames} | {times.total:.2f} | {args.frames / times.total:.1f} | "
        f"{1e3 * times.total / args.frames:.1f} | {1e3 * times.inside['first frames']:.0f} |"
    )
    print(f"peak memory ({memory[0]}): {memory[1]:.0f} MiB")
    print(f"other processes used {100 * times.contention:.0f}% of the machine during the best run")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    benchlib.add_model_arguments(parser)
    parser.add_argument("--frames", type=int, default=32, help="styles K, one frame each")
    parser.add_argument("--max-batch", type=int, default=8, help="frames decoded per batch")
    parser.add_argument("--inference-size", type=int, default=256)
    parser.add_argument(
        "--photo", type=benchlib.photo_size, default=(1536, 1024), help="WIDTHxHEIGHT"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int)
    return parser.parse_args()


def style_path(frames: int) -> torch.Tensor:
    """K style codes moving from a day-like to a night-like code, as a timelapse does."""
    day, night = torch.tensor([-0.24, 0.49, 0.23]), torch.tensor([-0.50, -1.01, -1.04])
    weights = torch.linspace(0, 1, frames)[:, None]
    return day * (1 - weights) + night * weights


def render(
    model: HiDT, photo: torch.Tensor, styles: torch.Tensor, args, times: benchlib.StageTimes
) -> benchlib.StageTimes:
    """All frames, timed as a whole; 'first frames' is the time to the first batch."""
    with times.stage("all frames"):
        start = time.perf_counter()
        spec = RenderSpec(inference_size=args.inference_size, native_size=True)
        for i, _ in enumerate(model.render(photo, styles, spec, args.max_batch)):
            if i == 0:
                first = time.perf_counter() - start
    times.inside["first frames"] = first
    return times


if __name__ == "__main__":
    main()
