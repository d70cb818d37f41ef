"""What a network call costs, measured on any device: the multiply-accumulates of its convs
and linears, and the peak bytes of the tensors it creates. Tests check the work limits and the
published networks' cost with them on a CPU; benchmarks/ report them next to timings."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


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
