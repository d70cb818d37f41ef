"""Steady light for video: the detail stage's colour transforms averaged over neighbouring
frames.

Fitted frame by frame, the transforms follow every small change of the networks' output,
which answers sensor noise and compression artefacts with changes of light; carried onto
the whole frame, that is flicker. Each frame's transforms are therefore a two-sided moving
average over `radius` frames on either side (no lag; the output runs `radius` frames behind
the input). Per location, a neighbour counts less the more the small copy's local mean colour
there differs from the frame's own, so that where something moves each frame keeps the
transforms fitted on its own content; and nothing is averaged across a scene cut, found from
the colour histograms of consecutive small copies.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import torch

from hidt_cli.detail import box_mean

T = TypeVar("T")

HISTOGRAM_BINS = 16


@dataclass(frozen=True)
class Steadiness:
    """How the transforms are smoothed over time."""

    radius: int = 4
    """Frames on each side averaged into a frame's transforms (0: none). Noise in the
    transforms falls as 1/sqrt(2·radius + 1); the output is delayed by as many frames, and
    as many decoded frames wait in memory."""
    motion: float = 0.04
    """Change of local mean colour (in [0, 1]) at which a neighbour weighs e^-1 of the frame's
    own transforms at that location. Sensor noise, averaged over the local window of a small
    copy, changes it by far less."""
    motion_radius: int = 3
    """Window radius, in small-copy pixels, of the local mean colour compared."""
    cut: float = 0.3
    """Share of the pixels whose colour histogram bin changed (half the L1 distance of the
    normalised histograms, averaged over channels) at which a frame starts a new scene. Motion
    and noise move little of the histogram from one frame to the next; a cut moves much."""

    def scaled(self, factor: float) -> Steadiness:
        """The same settings for fields `factor` times finer than the networks' size (G_enh's
        output is 4×): the compared window spans the same part of the picture."""
        if factor <= 1:
            return self
        return replace(self, motion_radius=round(self.motion_radius * factor))


def histograms(images_255: torch.Tensor) -> torch.Tensor:
    """B×3×h×w images in [0, 255] → B×3×bins normalised colour histograms."""
    b, c = images_255.shape[:2]
    bins = (images_255.flatten(2) * (HISTOGRAM_BINS / 256)).long().clamp_(0, HISTOGRAM_BINS - 1)
    offsets = torch.arange(b * c, device=bins.device).view(b, c, 1) * HISTOGRAM_BINS
    counts = torch.bincount((bins + offsets).flatten(), minlength=b * c * HISTOGRAM_BINS)
    return counts.view(b, c, HISTOGRAM_BINS).float() / bins.shape[-1]


def histogram_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Half the L1 distance of two 3×bins histograms, averaged over channels: in [0, 1]."""
    return float((a - b).abs().sum(-1).mean() / 2)


@dataclass
class _Entry(Generic[T]):
    item: T | None  # None once handed back: only the field is needed then
    field: torch.Tensor  # C×h×w
    local: torch.Tensor  # 3×h×w local mean colour of the small copy, in [0, 1]
    scene: int


class SteadyFields(Generic[T]):
    """Push each frame's field (C×h×w transforms) with its small copy, in order; get frames
    back, in the same order and `radius` frames later, with their averaged fields. `flush`
    hands back the rest at the end of the clip."""

    def __init__(self, steadiness: Steadiness = Steadiness()) -> None:
        self.steadiness = steadiness
        self.cuts = 0
        self._entries: deque[_Entry[T]] = deque()
        self._next = 0  # index in _entries of the first frame not handed back
        self._histogram: torch.Tensor | None = None

    def push(
        self, item: T, field: torch.Tensor, small_255: torch.Tensor
    ) -> list[tuple[T, torch.Tensor]]:
        """One frame: `item` is handed back with its field; small_255 (3×h×w in [0, 255]) is
        the small copy the field was fitted on."""
        histogram = histograms(small_255[None])[0]
        if self._histogram is not None:
            self.cuts += histogram_distance(histogram, self._histogram) >= self.steadiness.cut
        self._histogram = histogram
        local = box_mean(small_255[None] / 255, self.steadiness.motion_radius)[0]
        self._entries.append(_Entry(item, field, local, self.cuts))
        return self._ready(final=False)

    def flush(self) -> list[tuple[T, torch.Tensor]]:
        return self._ready(final=True)

    def _ready(self, final: bool) -> list[tuple[T, torch.Tensor]]:
        radius = self.steadiness.radius
        ready = []
        while self._next < len(self._entries):
            entry, last = self._entries[self._next], self._entries[-1]
            ahead = len(self._entries) - 1 - self._next
            if not (final or ahead >= radius or last.scene != entry.scene):
                break
            ready.append((entry.item, self._average(self._next)))
            entry.item = None
            self._next += 1
            if self._next > radius:  # no longer anyone's neighbour
                self._entries.popleft()
                self._next -= 1
        return ready

    def _average(self, index: int) -> torch.Tensor:
        centre = self._entries[index]
        radius = self.steadiness.radius
        total, weights = centre.field.clone(), torch.ones_like(centre.local[:1])
        for offset in range(max(0, index - radius), min(len(self._entries), index + radius + 1)):
            other = self._entries[offset]
            if offset == index or other.scene != centre.scene:
                continue
            change = (other.local - centre.local).abs().amax(0, keepdim=True)
            weight = torch.exp(-((change / self.steadiness.motion) ** 2))
            total.addcmul_(other.field, weight)
            weights += weight
        return total / weights
