"""An exponential moving average of a network's weights, the copy a GAN run exports.

A GAN generator's weights wander from step to step with its discriminators; the held-out
scores of checkpoints a few hundred steps apart differed by more than a thousand steps of
training gained. Averaging the recent weights keeps what they agree on and smooths the rest.
"""

from __future__ import annotations

import copy

import torch


class WeightAverage:
    """Keeps `module`'s weights averaged with decay `decay` per update.

    The first updates average with a smaller decay, (1 + n) / (10 + n) after n updates, so the
    average follows a network that changes fast at the start instead of lagging behind its
    random initial weights for thousands of steps."""

    def __init__(self, module: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        """Move the average towards `module`'s current weights; buffers are copied as they are."""
        self.updates += 1
        keep = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for mine, theirs in zip(self.module.parameters(), module.parameters(), strict=True):
            mine.lerp_(theirs, 1 - keep)
        for mine, theirs in zip(self.module.buffers(), module.buffers(), strict=True):
            mine.copy_(theirs)

    @torch.no_grad()
    def restart(self, module: torch.nn.Module) -> None:
        """Start averaging afresh from `module`'s weights (new or replaced weights)."""
        self.module.load_state_dict(module.state_dict())
        self.updates = 0

    def state_dict(self) -> dict:
        return {"weights": self.module.state_dict(), "updates": torch.tensor(self.updates)}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["weights"])
        self.updates = int(state["updates"])
