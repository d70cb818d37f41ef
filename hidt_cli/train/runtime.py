"""What both trainers share: device and multi-GPU set-up, gradient averaging, seeding,
atomic checkpoints and the JSON-lines log."""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from hidt_cli.pipeline import native_bf16, pick_device


@dataclass
class Runtime:
    """One process of a (possibly multi-GPU) run. Launched by torchrun, each rank takes its
    GPU from LOCAL_RANK; alone, it is rank 0 of 1."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    fp32: bool = False
    """Train in float32 even where bf16 is native."""

    def autocast(self):
        """bf16 autocast where the hardware runs it natively (CUDA, AMX/AVX512-BF16 CPUs; no
        loss scaling needed), nothing elsewhere."""
        if self.fp32 or not native_bf16(self.device):
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def average_gradients(self, parameters) -> None:
        """All-reduce gradients across ranks. Done by hand rather than with DDP because a HiDT
        step runs the generator several times before one backward pass."""
        if self.world_size == 1:
            return
        for p in parameters:
            if p.grad is not None:
                dist.all_reduce(p.grad, op=dist.ReduceOp.AVG)


def setup_runtime(device: str = "auto", fp32: bool = False) -> Runtime:
    """Join the process group when started by torchrun (WORLD_SIZE > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Runtime(pick_device(device), fp32=fp32)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return Runtime(chosen, dist.get_rank(), world_size, fp32)


def broadcast_parameters(module: torch.nn.Module, runtime: Runtime) -> None:
    """Start every rank from rank 0's weights."""
    if runtime.world_size > 1:
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, 0)


def seed_everything(seed: int, rank: int = 0) -> None:
    torch.manual_seed(seed + rank)


def save_checkpoint(path: Path, payload: dict) -> None:
    """torch.save to a temporary name and rename, so a crash never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict:
    """Checkpoints hold only tensors, numbers and strings: load them without unpickling code."""
    return torch.load(path, map_location="cpu", weights_only=True)


def training_state(config_json: str, step: int, parts: dict) -> dict:
    """A resumable checkpoint: the config, the step, the RNG and the state dict of every
    named network and optimiser."""
    return {
        "config": config_json,
        "step": step,
        "rng": rng_state(),
        **{name: part.state_dict() for name, part in parts.items()},
    }


def restore_training_state(state: dict, parts: dict) -> int:
    """Load what `training_state` saved into the same named parts; returns the step."""
    for name, part in parts.items():
        part.load_state_dict(state[name])
    set_rng_state(state["rng"])
    return int(state["step"])


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RunLog:
    """Appends one JSON object per logged step to `log.jsonl` (main rank only)."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path = path
        self.enabled = enabled
        self.started = time.monotonic()
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        record = {**record, "elapsed_s": round(time.monotonic() - self.started, 2)}
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
