"""Pieces shared by the benchmark scripts: stage timing that waits for the device and notices
other processes on the machine, peak memory, and synthetic inputs. The MAC and live-tensor
counters live in hidt_cli.profiling, shared with the tests; they are passed on from here."""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

import hidt_cli
from hidt_cli.models import Enhancer, Generator
from hidt_cli.profiling import LiveTensorBytes as LiveTensorBytes
from hidt_cli.profiling import count_macs as count_macs


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _busy_seconds() -> float:
    """CPU seconds all processes on the machine have spent busy (from /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


@dataclass
class StageTimes:
    """Wall seconds per stage (summed over calls) and how busy other processes kept the
    machine meanwhile: this machine is shared, and a busy neighbour slows every number."""

    device: torch.device
    seconds: dict[str, float] = field(default_factory=dict)
    inside: dict[str, float] = field(default_factory=dict)
    """Times measured within a stage (latencies); not part of the total."""
    others_busy: float = 0.0
    wall: float = 0.0

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        synchronize(self.device)
        busy, own, start = _busy_seconds(), _own_seconds(), time.perf_counter()
        yield
        synchronize(self.device)
        wall = time.perf_counter() - start
        others = max(0.0, (_busy_seconds() - busy) - (_own_seconds() - own))
        self.seconds[name] = self.seconds.get(name, 0.0) + wall
        self.others_busy += others
        self.wall += wall

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    @property
    def contention(self) -> float:
        """Fraction of the machine's cores that other processes used during the stages."""
        return self.others_busy / max(self.wall * (os.cpu_count() or 1), 1e-9)


def best_run(run: Callable[[], StageTimes], repeats: int, max_contention: float) -> StageTimes:
    """The fastest of `repeats` uncontended runs (extra tries when a neighbour was busy);
    if every try was contended, the fastest of them, with its contention reported."""
    good: list[StageTimes] = []
    tries: list[StageTimes] = []
    for _ in range(repeats * 4):
        times = run()
        tries.append(times)
        if times.contention <= max_contention:
            good.append(times)
        if len(good) >= repeats:
            break
    return min(good or tries, key=lambda t: t.total)


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mib(device: torch.device) -> tuple[str, float]:
    """CUDA: max_memory_allocated since the last reset. CPU: the process's peak resident
    set (it never goes down, so run one configuration per process for a clean number)."""
    if device.type == "cuda":
        return "cuda max allocated", torch.cuda.max_memory_allocated(device) / 2**20
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    return "cpu peak RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def random_model(
    device: str, dtype: torch.dtype, channels_last: bool | None, compile_networks: bool
) -> hidt_cli.HiDT:
    """The published network sizes with random weights (speed does not depend on values).
    compile_networks is passed only when set, so that the scripts also run against a version
    of the package from before it existed (PYTHONPATH=old-checkout: before/after numbers)."""
    torch.manual_seed(0)
    options = {"compile_networks": True} if compile_networks else {}
    return hidt_cli.HiDT(
        Generator(),
        Enhancer(),
        device=device,
        dtype=dtype,
        channels_last=channels_last,
        **options,
    )


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like H×W×3 uint8 image: smooth gradients plus texture, so that JPEG coding
    costs what it costs on a real photo (pure noise or flat colour would not)."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    base = np.array([90, 140, 210], np.float32) * (1 - y) + np.array([60, 90, 40], np.float32) * y
    texture = 25 * np.sin(40 * x + 25 * y + rng.uniform(0, 6, 3).astype(np.float32))
    noise = rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    return np.clip(base + texture + noise, 0, 255).astype(np.uint8)


def layout_name(channels_last: bool | None) -> str:
    if channels_last is None:
        return "default layout (CPU: G_enh channels_last, generator NCHW; CUDA: channels_last)"
    return "channels_last" if channels_last else "NCHW"


def dtype_from_name(name: str) -> torch.dtype:
    return {"float32": torch.float32, "fp32": torch.float32, "bf16": torch.bfloat16}[name]


def describe_machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {torch.get_num_threads()} threads"
    return f"cpu, {torch.get_num_threads()} threads"


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark shares: where and how the networks run."""
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        help="both networks channels_last (or, with --no-, neither); default: HiDT's choice",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the networks")


def photo_size(text: str) -> tuple[int, int]:
    """'WIDTHxHEIGHT' → (width, height)."""
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height
