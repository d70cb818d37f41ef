"""Device policy: which device runs the networks, whether bf16 is native there, and how
much one network call may take on (memory and, on a CPU, cache)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch


def pick_device(name: str | torch.device = "auto") -> torch.device:
    """'auto' → cuda, else mps, else cpu; anything else is checked to exist."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name}: CUDA is not available in this PyTorch build or machine")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {name}: only {torch.cuda.device_count()} CUDA device(s) found")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device mps: MPS is not available on this machine")
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 runs at native speed here: on CUDA, and on CPUs with AMX or AVX512-BF16
    (measured 2.9× faster than float32 for --hires on such a CPU; elsewhere the CPU would
    emulate it, far slower than float32)."""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    return torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()


GENERATOR_BYTES_PER_PIXEL = 1100
ENHANCER_BYTES_PER_PIXEL = 9300
"""Peak activation bytes per input pixel of one call, measured in float32 (bf16 needs less):
the generator's encoder or decoder, and G_enh, whose output has 16 pixels per input pixel."""

MIN_ENHANCER_TILE = 32


@dataclass(frozen=True)
class WorkLimits:
    """How much one network call may take on. Bounds memory; on a CPU the generator limit also
    keeps each call's tensors in cache (one 256×384 crop at a time measured fastest)."""

    generator_pixels: int
    """Images × height × width per encoder or decoder call; larger batches are split."""
    enhancer_pixels: int
    """Height × width of one G_enh call; a larger merge input runs as overlapping tiles."""
    enhancer_overlap: int = 16
    """Context pixels read around each G_enh tile. Its receptive field reaches ~80 pixels,
    but the 0.2-scaled residuals make distant pixels count little: on the parity weights an
    overlap of 4 stays within 0.04 of an 8-bit level of the untiled output and 8 matches it;
    16 leaves room for trained weights that reach further."""

    @property
    def smallest_enhancer_call(self) -> int:
        """Pixels read by a G_enh tile of the smallest size, context included."""
        return (MIN_ENHANCER_TILE + 2 * self.enhancer_overlap) ** 2

    def halved(self) -> WorkLimits:
        return replace(
            self,
            generator_pixels=max(1, self.generator_pixels // 2),
            enhancer_pixels=max(self.smallest_enhancer_call, self.enhancer_pixels // 2),
        )


def default_limits(device: torch.device) -> WorkLimits:
    """Half the GPU's memory (or a quarter of the host's) for activations."""
    if device.type == "cuda":
        budget = torch.cuda.get_device_properties(device).total_memory // 2
        return WorkLimits(budget // GENERATOR_BYTES_PER_PIXEL, budget // ENHANCER_BYTES_PER_PIXEL)
    budget = _host_memory() // 4
    generator = budget // GENERATOR_BYTES_PER_PIXEL
    if device.type == "cpu":
        generator = min(generator, 256 * 384)
    return WorkLimits(generator, budget // ENHANCER_BYTES_PER_PIXEL)


def _host_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): assume 16 GiB
        return 16 * 2**30
