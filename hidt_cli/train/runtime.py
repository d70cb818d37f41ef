"""What both trainers share: device and multi-GPU set-up, gradient averaging, seeding,
atomic checkpoints with saving and resuming, and the JSON-lines log."""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
import torch.distributed as dist

from hidt_cli.devices import native_bf16, pick_device
from hidt_cli.train.config import from_dict, to_json

ConfigT = TypeVar("ConfigT")


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

    def close(self) -> None:
        """Leave the process group once every rank is done. Left to the interpreter's exit,
        gloo's threads abort a rank now and then ("terminate called without an active
        exception") after all the work is done, failing the run."""
        if self.world_size > 1 and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

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
    """Each rank its own stream, so that ranks draw different random styles (their weights
    agree anyway: rank 0's are broadcast)."""
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


@dataclass(frozen=True)
class Checkpoint:
    """A resumable checkpoint, read once: the command line takes the run's settings from it,
    the trainer its state."""

    path: Path
    state: dict

    @classmethod
    def read(cls, path: Path) -> Checkpoint:
        """Checkpoints hold only tensors, numbers and strings: load them without unpickling
        code."""
        return cls(path, torch.load(path, map_location="cpu", weights_only=True))

    def config(self, kind: type[ConfigT]) -> ConfigT:
        return from_dict(kind, json.loads(self.state["config"]))


class Checkpointed:
    """Saving and resuming, shared by both trainers. A checkpoint holds the config (JSON), the
    step, the RNG state, the state dict of every part and any `extra_state`.

    A subclass sets the file names, NETWORK (the config field that fixes the trained network's
    shape, which a resumed run must keep), `parts` (networks and optimisers by name) and
    `export` (the weights-only file)."""

    CHECKPOINT: ClassVar[str]
    WEIGHTS: ClassVar[str]
    NETWORK: ClassVar[str]
    config: Any
    runtime: Runtime
    out_dir: Path
    data_root: Path
    photos: list[Path]
    step: int
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer

    PARTS: ClassVar[tuple[str, ...]]
    """The attributes (networks and optimisers) whose state a checkpoint holds."""

    def parts(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.PARTS}

    def export(self, path: Path) -> None:
        raise NotImplementedError

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict) -> None:
        """Restore what `extra_state` saved."""

    def state(self) -> dict:
        return {
            "config": to_json(self.config),
            "step": self.step,
            "rng": rng_state(),
            **{name: part.state_dict() for name, part in self.parts().items()},
            **self.extra_state(),
        }

    def save(self) -> None:
        """The full checkpoint (to resume) and the weights alone (to use), on the main rank."""
        if not self.runtime.is_main:
            return
        save_checkpoint(self.out_dir / self.CHECKPOINT, self.state())
        self.export(self.out_dir / self.WEIGHTS)

    def resume(self, checkpoint: Checkpoint) -> None:
        saved = checkpoint.config(type(self.config))
        if getattr(saved, self.NETWORK) != getattr(self.config, self.NETWORK):
            raise ValueError(f"{checkpoint.path}: was trained with a different {self.NETWORK} size")
        for name, part in self.parts().items():
            part.load_state_dict(checkpoint.state[name])
        self._apply_learning_rates()
        restore_rng(checkpoint.state["rng"], self.runtime.rank)
        self.step = int(checkpoint.state["step"])
        self.load_extra_state(checkpoint.state)

    def _apply_learning_rates(self) -> None:
        """A resumed run takes its learning rates from its settings, not from the optimiser
        state saved with it, so that a later phase can train on with a lower one."""
        for opt, lr in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr

    def provenance(self) -> dict:
        """What the exported weights were trained on and with."""
        return {
            "trained_steps": self.step,
            "data": str(self.data_root),
            "photos": len(self.photos),
            "config": to_json(self.config),
        }


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, rank: int) -> None:
    """The checkpoint holds rank 0's RNG state; the other ranks derive their own from it, so
    that they keep drawing different random styles after a resume."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if rank:
        seed_everything(int(torch.randint(2**62, ())), rank)


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
