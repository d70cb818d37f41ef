"""The detail-transfer stage and the whole `hidt translate` on large photos: seconds and the
memory the stage needs beyond the decoded photo.

    python benchmarks/bench_detail.py                      # stage at 24 MP, 4K, 2 MP; CLI at 24 MP
    python benchmarks/bench_detail.py --sizes 6000x4000 --cli-runs 5
    python benchmarks/bench_detail.py --sizes "" --cli-runs 0 --timelapse-runs 3   # 4K frames

Stage times are the best of --repeats uncontended runs (each run prints how busy other
processes kept the machine); CLI times are whole processes (start-up, decode, networks with the
default weights, stage, JPEG encode, write), best and median of --cli-runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from benchlib import StageTimes, best_run, describe_machine, photo_size, synthetic_photo
from PIL import Image

from hidt_cli import detail
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import network_input

MEMORY_PROBE = """
import sys, numpy as np, torch
sys.path.insert(0, {bench!r})
from benchlib import synthetic_photo
from hidt_cli import detail, hires
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import network_input
def rss(field):
    for line in open('/proc/self/status'):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
photo = photo_tensor(synthetic_photo({height}, {width}), torch.device('cpu'))
x = network_input(photo, 256).add(1).mul(0.5)
before = rss('VmRSS')
open('/proc/self/clear_refs', 'w').write('5')  # the peak so far was the photo's making
config = detail.DetailConfig()
detail.transfer(detail.transforms(x, x.flip(1), config), photo, config)  # the 8-bit result included
print((rss('VmHWM') - before) / 2**20)
"""


def stage_times(height: int, width: int, repeats: int) -> StageTimes:
    """Fit at the networks' size and apply to the photo, as the render path does."""
    photo = photo_tensor(synthetic_photo(height, width), torch.device("cpu"))
    x_lr = network_input(photo, 256).add(1).mul(0.5)
    y_lr = detail.gaussian_blur(x_lr.flip(1) * 0.4, 1.0)  # a soft, recoloured translation
    config = detail.DetailConfig()

    def run() -> StageTimes:
        times = StageTimes(torch.device("cpu"))
        with times.stage("fit"):
            coefficients = detail.fit(x_lr, y_lr, config)
        with times.stage("apply"):
            detail.transfer(coefficients, photo, config)
        return times

    run()  # warm-up
    return best_run(run, repeats, max_contention=0.1)


def peak_extra_mib(height: int, width: int) -> float:
    """Peak resident memory of a fresh process during the stage, beyond what it held with the
    photo decoded and shrunk: what the stage itself needs."""
    code = MEMORY_PROBE.format(bench=str(Path(__file__).parent), height=height, width=width)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def cli_seconds(height: int, width: int, runs: int) -> tuple[float, float, float]:
    """(best, median, start-up) seconds of `hidt translate photo.jpg --preset night`."""
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder, "photo.jpg")
        Image.fromarray(synthetic_photo(height, width)).save(photo, quality=92)
        command = [sys.executable, "-m", "hidt_cli", "translate", str(photo), "--preset", "night"]
        command += ["-o", str(Path(folder, "night.jpg")), "--overwrite", "-q"]
        times = [_timed(command) for _ in range(runs + 1)][1:]  # the first warms the disk cache
        startup = min(_timed([sys.executable, "-c", "import hidt_cli.cli.app"]) for _ in range(3))
    return min(times), statistics.median(times), startup


def timelapse_frame_seconds(height: int, width: int, runs: int) -> tuple[float, float]:
    """(best, median) seconds per frame after the first of `hidt timelapse photo.jpg --presets
    day,night`: whole processes of FEW and MANY frames, the difference over the extra frames,
    so start-up, model load and the first frame cancel out."""
    few, many = 4, 24
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder, "photo.jpg")
        Image.fromarray(synthetic_photo(height, width)).save(photo, quality=92)

        def command(frames: int) -> list[str]:
            return [
                *(sys.executable, "-m", "hidt_cli", "timelapse", str(photo)),
                *("--presets", "day,night", "--frames", str(frames), "--overwrite", "-q"),
                *("-o", str(Path(folder, "timelapse.mp4"))),
            ]

        _timed(command(few))  # warms the disk cache
        per_frame = [
            (_timed(command(many)) - _timed(command(few))) / (many - few) for _ in range(runs)
        ]
    return min(per_frame), statistics.median(per_frame)


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="6000x4000,3840x2160,1920x1080", type=str)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cli-size", type=photo_size, default=(6000, 4000))
    parser.add_argument("--cli-runs", type=int, default=3)
    parser.add_argument("--timelapse-size", type=photo_size, default=(3840, 2160))
    parser.add_argument("--timelapse-runs", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {describe_machine(torch.device('cpu'))}, torch {torch.__version__}")
    print(
        "\n| photo | MP | fit (s) | apply (s) | stage (s) | peak beyond photo (MiB) | others busy |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in filter(None, args.sizes.split(",")):
        width, height = photo_size(size)
        times = stage_times(height, width, args.repeats)
        memory = peak_extra_mib(height, width)
        fit, apply = times.seconds["fit"], times.seconds["apply"]
        print(
            f"| {width}×{height} | {width * height / 1e6:.1f} | {fit:.3f} | {apply:.3f} "
            f"| {fit + apply:.3f} | {memory:.0f} | {times.contention:.0%} |"
        )
    if args.cli_runs:
        width, height = args.cli_size
        best, median, startup = cli_seconds(height, width, args.cli_runs)
        print(
            f"\n`hidt translate` {width}×{height} JPEG --preset night: best {best:.2f} s, ", end=""
        )
        print(f"median {median:.2f} s of {args.cli_runs}; start-up (imports) {startup:.2f} s")
    if args.timelapse_runs:
        width, height = args.timelapse_size
        best, median = timelapse_frame_seconds(height, width, args.timelapse_runs)
        print(f"\n`hidt timelapse` {width}×{height} photo, per frame after the first: ", end="")
        print(f"best {best:.3f} s, median {median:.3f} s of {args.timelapse_runs}")


if __name__ == "__main__":
    main()
