"""The GPU speed table: one markdown table (device, torch version, date) of every number the
GPU plan asks for, each beside the published code's H100 anchor or the goal it answers to.
Networks are the published sizes with random weights (speed does not depend on the values);
whole-process rows run `hidt translate` in a fresh process with such weights saved to a
temporary folder.

    python benchmarks/bench_gpu.py                           # on a CUDA device: the full table
    python benchmarks/bench_gpu.py --deadline 120 --out t.md # rows not started by then: "not run"
    python benchmarks/bench_gpu.py --quick --device cpu      # small inputs: checks the script

Rows, in the order they run (the first ones matter most when time is short): `--hires` on a
1536×1024 photo in bf16 and float32 (networks alone, and the whole render: crops, networks,
detail stage, the result on the host), plain translation of 384×256 photos (inference size
256) in batches, plain translation of 1536×1024 photos at batch 1 and 16, a 1080p clip
through `hidt translate clip.mp4 --preset night`, the 24-MP photo through `hidt translate`,
`--hires` compiled, the published code's way on this device (bench_pipeline --baseline), a
4K clip, the 24-MP photo with `--hires`, and the web page's preview update when hidt_cli/serve
exists. `--skip` takes the keys printed as each row starts.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from bench_pipeline import Job, _jpeg_bytes, run_baseline
from bench_video import make_clip, run_command
from benchlib import (
    StageTimes,
    describe_machine,
    peak_memory_mib,
    random_model,
    reset_peak_memory,
    synchronize,
    synthetic_photo,
)
from PIL import Image

from hidt_cli import hires as scheme
from hidt_cli.devices import pick_device
from hidt_cli.models import Enhancer, Generator
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import RenderSpec
from hidt_cli.weights import load, resolve, save_safetensors, write_manifest

PUBLISHED_HIRES_MS = 458
"""The published code's whole --hires image on an H100."""
PUBLISHED_NETWORKS_MS = {"fp32": 70, "bf16": 50, "compiled": 31}
"""Its networks, batched, on an H100: float32, bf16, bf16 compiled."""
GOAL_HIRES_MS = 25
GOAL_PLAIN_256_PER_S = 300
GOAL_1080P_FPS = 60
STYLE = torch.tensor([[0.25, -2.0, -0.5]])


@dataclass(frozen=True)
class Sizes:
    """What the rows translate: the plan's sizes, or small ones to check the script."""

    hires_photo: tuple[int, int] = (1536, 1024)  # width, height
    plain_photo: tuple[int, int] = (1536, 1024)
    small_photo: tuple[int, int] = (384, 256)
    big_photo: tuple[int, int] = (6000, 4000)
    inference_size: int = 256
    plain_batches: tuple[int, ...] = (1, 16)
    small_batches: tuple[int, ...] = (16, 64)
    clips: tuple[tuple[str, tuple[int, int], int, int], ...] = (
        ("1080p", (1920, 1080), 240, 24),  # name, size, frames, distinct frames
        ("4K", (3840, 2160), 90, 12),
    )
    repeats: int = 10


QUICK = Sizes(
    hires_photo=(384, 256),
    plain_photo=(384, 256),
    small_photo=(96, 64),
    big_photo=(1200, 800),
    inference_size=32,
    plain_batches=(1, 4),
    small_batches=(4,),
    clips=(("1080p", (320, 180), 6, 3), ("4K", (640, 360), 4, 2)),
    repeats=1,
)


@dataclass
class Row:
    measurement: str
    result: str
    anchor: str = ""
    goal: str = ""
    notes: str = ""


@dataclass
class Table:
    """Rows measured one after another until the deadline; a row that fails says why in one
    line (its traceback goes to stderr) and the others still run."""

    deadline: float
    skip: frozenset[str]
    header: Callable[[float], str]
    """The lines above the table, given the seconds spent so far."""
    out: Path | None = None
    """Written again after every row, so that a run stopped from outside leaves its rows."""
    started: float = field(default_factory=time.monotonic)
    rows: list[Row] = field(default_factory=list)

    def measure(self, key: str, label: str, rows: Callable[[], list[Row]]) -> None:
        elapsed = time.monotonic() - self.started
        if key in self.skip:
            self.rows.append(Row(label, "not run (--skip)"))
        elif elapsed > self.deadline:
            self.rows.append(Row(label, f"not run (past the {self.deadline:.0f}-s deadline)"))
        else:
            print(f"[{elapsed:6.1f} s] {key}", file=sys.stderr, flush=True)
            try:
                self.rows.extend(rows())
            except Exception as exc:  # one failed row must not lose the table
                traceback.print_exc()
                message = str(exc).splitlines()[0] if str(exc) else ""
                self.rows.append(Row(label, f"failed: {type(exc).__name__} {message}"[:160]))
        if self.out is not None:
            self.out.write_text(self.markdown())

    def markdown(self) -> str:
        lines = [
            self.header(time.monotonic() - self.started),
            "",
            "| measurement | result | published code, H100 | goal | notes |",
            "| --- | ---: | ---: | --- | --- |",
        ]
        lines += [
            f"| {r.measurement} | {r.result} | {r.anchor} | {r.goal} | {r.notes} |"
            for r in self.rows
        ]
        return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    device = pick_device(args.device)
    sizes = QUICK if args.quick else Sizes()
    skip = frozenset(filter(None, args.skip.split(",")))
    table = Table(args.deadline, skip, lambda seconds: describe(device, args, seconds), args.out)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        weights = published_weights(work / "weights")
        command_options = ["--weights", str(weights), "--device", str(device)]
        command_options += ["--inference-size", str(sizes.inference_size)]
        first_clip, *other_clips = sizes.clips
        rows = [
            ("hires-bf16", "`--hires` bf16", lambda: hires(device, sizes, "bf16")),
            ("hires-fp32", "`--hires` fp32", lambda: hires(device, sizes, "fp32")),
            ("plain-256", "plain, 256 px", lambda: plain_rate(device, sizes, small=True)),
            ("plain-1536", "plain, 1536×1024", lambda: plain_rate(device, sizes)),
            (
                f"video-{first_clip[0]}",
                f"video {first_clip[0]}",
                lambda: video(work, first_clip, command_options),
            ),
            ("photo-24mp", "24-MP photo", lambda: big_photo(work, sizes, command_options)),
            ("hires-compiled", "`--hires` compiled", lambda: hires(device, sizes, "compiled")),
            ("baseline", "published code's way", lambda: baseline(work, device, sizes)),
            *(
                (f"video-{c[0]}", f"video {c[0]}", lambda c=c: video(work, c, command_options))
                for c in other_clips
            ),
            (
                "photo-24mp-hires",
                "24-MP photo, `--hires`",
                lambda: big_photo(work, sizes, command_options, hires=True),
            ),
        ]
        if importlib.util.find_spec("hidt_cli.serve") is not None:
            rows.append(("preview", "web page preview", lambda: preview(device, sizes)))
        for key, label, measure in rows:
            table.measure(key, label, measure)
    print(table.markdown(), end="")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cuda:N, cpu")
    parser.add_argument("--quick", action="store_true", help="small inputs, to check the script")
    parser.add_argument(
        "--deadline", type=float, default=float("inf"), help="seconds after which no row starts"
    )
    parser.add_argument(
        "--skip", default="", help="rows to leave out, e.g. hires-compiled,video-4K"
    )
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    return parser.parse_args()


def describe(device: torch.device, args: argparse.Namespace, seconds: float) -> str:
    cuda = f", CUDA {torch.version.cuda}" if device.type == "cuda" else ""
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    mode = "quick check (small inputs)" if args.quick else "full sizes"
    return (
        f"## {describe_machine(device)} — {today}\n\n"
        f"torch {torch.__version__}{cuda}, Python {sys.version.split()[0]}, hidt {_commit()}; "
        f"{mode}; published network sizes, random weights; medians after warm-up; "
        f"{seconds:.0f} s in all."
    )


def _commit() -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "(no git)"


# ---------------------------------------------------------------- timing


def median_seconds(run: Callable[[], object], device: torch.device, repeats: int) -> tuple:
    """(seconds of the first call, the median of `repeats` calls after one more warm-up)."""

    def once() -> float:
        synchronize(device)
        start = time.perf_counter()
        run()
        synchronize(device)
        return time.perf_counter() - start

    first = once()
    once()
    return first, statistics.median(once() for _ in range(repeats))


def photo_on(device: torch.device, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    width, height = size
    return photo_tensor(synthetic_photo(height, width, seed), device)


def _met(value: float, goal: float, smaller_is_better: bool) -> str:
    return "met" if (value <= goal if smaller_is_better else value >= goal) else "not met"


# ---------------------------------------------------------------- the rows


def hires(device: torch.device, sizes: Sizes, variant: str) -> list[Row]:
    """--hires: the networks (crops, encoder, decoder, merge, G_enh) and the whole render."""
    dtype = torch.float32 if variant == "fp32" else torch.bfloat16
    model = random_model(str(device), dtype, None, compile_networks=variant == "compiled")
    photo = photo_on(device, sizes.hires_photo)
    spec = RenderSpec(hires=True, inference_size=sizes.inference_size)
    renderer = model.renderer

    def networks() -> None:
        for _ in renderer.translations(renderer.encode(photo, spec), STYLE):
            pass

    reset_peak_memory(device)
    first, network_s = median_seconds(networks, device, sizes.repeats)
    _, render_s = median_seconds(
        lambda: next(model.render(photo, STYLE, spec)), device, sizes.repeats
    )
    memory = peak_memory_mib(device)
    w, h = sizes.hires_photo
    note = f"; first call {first:.1f} s (compiling)" if variant == "compiled" else ""
    if variant == "fp32" and device.type == "cuda" and torch.backends.cudnn.allow_tf32:
        note = "; convolutions in TF32, torch's default"
    render_ms = 1e3 * render_s
    return [
        Row(
            f"`--hires` {w}×{h}, {variant}: networks",
            f"{1e3 * network_s:.1f} ms/image",
            f"{PUBLISHED_NETWORKS_MS[variant]} ms",
            "",
            f"16 crops, encoder, decoder, G_enh{note}",
        ),
        Row(
            f"`--hires` {w}×{h}, {variant}: whole render",
            f"{render_ms:.1f} ms/image",
            f"{PUBLISHED_HIRES_MS} ms",
            f"≤ {GOAL_HIRES_MS} ms: {_met(render_ms, GOAL_HIRES_MS, True)}",
            f"+ detail stage, result on the host; peak {memory[1]:.0f} MiB ({memory[0]})",
        ),
    ]


def plain_rate(device: torch.device, sizes: Sizes, small: bool = False) -> list[Row]:
    """Plain translation (bf16, the default on CUDA), photos at once through the render
    core: networks and the detail stage to the photo's size, results on the host."""
    model = random_model(str(device), torch.bfloat16, None, compile_networks=False)
    size = sizes.small_photo if small else sizes.plain_photo
    spec = RenderSpec(inference_size=sizes.inference_size)
    rows = []
    for batch in sizes.small_batches if small else sizes.plain_batches:
        photos = torch.cat([photo_on(device, size, seed) for seed in range(batch)])
        codes = STYLE.expand(batch, -1)

        def render(photos=photos, codes=codes, batch=batch) -> None:
            for _ in model.render(photos, codes, spec, max_batch=batch):
                pass

        _, seconds = median_seconds(render, device, sizes.repeats)
        rate = batch / seconds
        goal = ""
        if small:
            goal = f"≥ {GOAL_PLAIN_256_PER_S}/s: {_met(rate, GOAL_PLAIN_256_PER_S, False)}"
        rows.append(
            Row(
                f"plain {size[0]}×{size[1]}, bf16, batch {batch}",
                f"{rate:.1f} images/s",
                "",
                goal,
                f"inference size {sizes.inference_size}; {1e3 * seconds / batch:.1f} ms/image",
            )
        )
    return rows


def video(work: Path, clip: tuple, options: list[str]) -> list[Row]:
    """`hidt translate clip.mp4 --preset night` in a fresh process (bench_video's command),
    on a synthetic clip with sound; "after start-up" leaves out what a one-frame clip takes."""
    name, size, frames, distinct = clip
    path = make_clip(work / name, size, frames, distinct)
    startup, _ = run_command(make_clip(work / f"{name}-one", size, 1), options)
    wall, _ = run_command(path, options)
    rate = frames / wall
    if wall <= startup:  # too few frames to tell them from the start-up's noise
        return [Row(f"video {name} ({size[0]}×{size[1]})", f"{rate:.1f} frames/s with start-up")]
    steady = (frames - 1) / (wall - startup)
    goal = f"≥ {GOAL_1080P_FPS}: {_met(steady, GOAL_1080P_FPS, False)}" if name == "1080p" else ""
    return [
        Row(
            f"video {name} ({size[0]}×{size[1]}), `hidt translate`",
            f"{steady:.1f} frames/s",
            "",
            goal,
            f"after start-up; {frames} frames in {wall:.1f} s ({rate:.1f}/s), "
            f"start-up and a frame {startup:.1f} s",
        )
    ]


def big_photo(work: Path, sizes: Sizes, options: list[str], hires: bool = False) -> list[Row]:
    """The 24-MP photo as a user runs it: `hidt translate photo.jpg --preset night` (or with
    --hires), wall seconds of the whole process, beside what a tiny photo takes (start-up)."""
    width, height = sizes.big_photo
    path, tiny = work / "photo.jpg", work / "tiny.jpg"
    if not path.exists():
        Image.fromarray(synthetic_photo(height, width)).save(path, quality=92)
        Image.fromarray(synthetic_photo(64, 96)).save(tiny, quality=92)
    startup, _ = run_command(tiny, options)
    extra = ["--hires"] if hires else []
    wall, cpu = run_command(path, [*options, *extra])
    return [
        Row(
            f"{width}×{height} photo, `hidt translate` {' '.join(extra)}".rstrip(),
            f"{wall:.2f} s",
            "",
            "",
            f"whole process: read, networks, detail stage, JPEG written; "
            f"a 96×64 photo takes {startup:.2f} s; CPU {cpu:.1f} s",
        )
    ]


def baseline(work: Path, device: torch.device, sizes: Sizes) -> list[Row]:
    """The published inference's way on this device (bench_pipeline --baseline): PIL resizes
    per crop, one crop at a time through the float32 networks."""
    width, height = sizes.hires_photo
    job = Job(True, (height, width), sizes.inference_size, 1, work)
    torch.manual_seed(0)
    generator, enhancer = Generator().eval().to(device), Enhancer().eval().to(device)
    run = run_baseline(
        generator, enhancer, device, job, _jpeg_bytes(synthetic_photo(height, width)), STYLE
    )
    times = []
    for _ in range(2 + min(sizes.repeats, 5)):
        stages = StageTimes(device)
        run(stages)
        times.append(stages)
    times = times[2:]
    total = statistics.median(t.total for t in times)
    networks = statistics.median(
        sum(t.seconds.get(s, 0.0) for s in ("content encoder", "decoder", "enhancer"))
        for t in times
    )
    return [
        Row(
            f"published code's way, `--hires` {width}×{height}, fp32",
            f"{1e3 * total:.0f} ms/image",
            f"{PUBLISHED_HIRES_MS} ms",
            "",
            f"networks {1e3 * networks:.0f} ms; JPEG read and write included",
        )
    ]


def preview(device: torch.device, sizes: Sizes) -> list[Row]:
    """What the web page runs when a slider moves: the photo encoded once, then the decoder
    and the detail stage onto a preview copy (longer side 1280) in each new style."""
    model = random_model(str(device), None, None, compile_networks=False)
    photo = photo_on(device, sizes.big_photo)
    onto = scheme.fit_within(photo, 1280).round().to(torch.uint8)
    encoded = model.encode(photo, RenderSpec(inference_size=sizes.inference_size))
    codes = iter(torch.randn(4 + sizes.repeats, 1, 3, generator=torch.Generator().manual_seed(0)))
    _, seconds = median_seconds(
        lambda: next(model.render_encoded(encoded, next(codes), onto=onto)), device, sizes.repeats
    )
    return [
        Row(
            f"web page preview update ({onto.shape[-1]}×{onto.shape[-2]} of a "
            f"{sizes.big_photo[0]}×{sizes.big_photo[1]} photo)",
            f"{1e3 * seconds:.1f} ms",
            "",
            "",
            "render core's encode-once path: decoder, detail stage onto the preview",
        )
    ]


def published_weights(folder: Path) -> Path:
    """Random published-size networks saved as a weights folder, with the shipped defaults'
    style presets, for the commands run in fresh processes."""
    folder.mkdir(parents=True)
    presets = load(resolve(None, "generator"), "generator").presets
    torch.manual_seed(0)
    note = {"note": "random weights of the published sizes, for speed measurements"}
    save_safetensors(
        folder / "generator.safetensors", Generator(), "generator", presets=presets, provenance=note
    )
    save_safetensors(folder / "enhancer.safetensors", Enhancer(), "enhancer", provenance=note)
    write_manifest(folder)
    return folder


if __name__ == "__main__":
    main()
