"""Pieces shared by the benchmark scripts: a MAC counter, stage timing that waits for the
device and notices other processes on the machine, peak memory, and synthetic inputs."""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import hidt_cli
from hidt_cli.models import Enhancer, Generator


def conv_macs(module: nn.Conv2d, output: torch.Tensor) -> int:
    """Multiply-accumulates of one Conv2d call: every output element sums over its
    (in_channels / groups) × kernel window."""
    kh, kw = module.kernel_size
    return output.numel() * (module.in_channels // module.groups) * kh * kw


def linear_macs(module: nn.Linear, output: torch.Tensor) -> int:
    return output.numel() * module.in_features


@contextlib.contextmanager
def count_macs(root: nn.Module) -> Iterator[dict[str, int]]:
    """Count the MACs of every Conv2d and Linear under `root` during the forward passes run
    inside the block, per top-level child ("content_encoder", "decoder", …) and in "total".
    Counting on the real forward means the count follows the shapes actually used."""
    counts: dict[str, int] = {"total": 0}
    handles = []
    for prefix, module in root.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            group = prefix.split(".")[0]
            handles.append(module.register_forward_hook(_mac_hook(counts, group)))
    try:
        yield counts
    finally:
        for handle in handles:
            handle.remove()


def _mac_hook(counts: dict[str, int], group: str):
    def hook(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        macs = (
            conv_macs(module, output)
            if isinstance(module, nn.Conv2d)
            else linear_macs(module, output)
        )
        counts[group] = counts.get(group, 0) + macs
        counts["total"] += macs

    return hook


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


class LiveTensorBytes(TorchDispatchMode):
    """Peak bytes of the tensor storages created inside the block and alive at once: what a
    CUDA caching allocator reports as max_memory_allocated (less workspaces and rounding),
    measured on any device, so that a GPU memory target can be checked on a CPU.
    Tensors that existed before the block (weights, inputs) are not counted."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._storages: dict[int, list[int]] = {}  # data_ptr → [bytes, tensors alive]
        self._seen: set[int] = set()  # ids of the tensors counted (and still alive)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        aliases = any(r.alias_info is not None for r in func._schema.returns)
        for tensor in tree_leaves(out):
            if isinstance(tensor, torch.Tensor) and id(tensor) not in self._seen:
                self._track(tensor, new_storage=not aliases)
        return out

    def _track(self, tensor: torch.Tensor, new_storage: bool) -> None:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        entry = self._storages.get(key)
        if entry is None:
            if not new_storage or storage.nbytes() == 0:
                return  # a view of a tensor made before the block
            entry = self._storages[key] = [storage.nbytes(), 0]
            self.live += entry[0]
            self.peak = max(self.peak, self.live)
        entry[1] += 1
        self._seen.add(id(tensor))
        weakref.finalize(tensor, self._release, key, id(tensor))

    def _release(self, key: int, tensor_id: int) -> None:
        self._seen.discard(tensor_id)
        entry = self._storages[key]
        entry[1] -= 1
        if entry[1] == 0:
            self.live -= entry[0]
            del self._storages[key]


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
