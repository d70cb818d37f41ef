"""A timelapse of one photo: its style codes (keyframes, or a guide video's smoothed codes,
guide.py) and its frames, rendered from one content encoding (render.Encoded) in batches
side by side, yielded in order so that a long timelapse never sits in memory whole."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from hidt_cli import hires
from hidt_cli.concurrency import in_order
from hidt_cli.model import HiDT
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import RenderSpec
from hidt_cli.styles import StyleError

DEFAULT_FRAMES = 48
DEFAULT_FPS = 24.0
DEFAULT_MAX_SIDE = 3840
"""4K UHD: larger frames play on few devices."""
STRIP_FRAMES = 8


def keyframe_codes(model: HiDT, keyframes: str) -> torch.Tensor:
    """'day,-0.5:-1.0:-1.0,night' → K×style_dim keyframes. Codes use colons because commas
    already separate the keyframes."""
    parts = [part.strip() for part in keyframes.split(",") if part.strip()]
    if not parts:
        raise StyleError("needs at least one preset name or style code")
    styles = model.styles()
    return torch.cat([styles.keyframe(part) for part in parts])


def render_frames(
    model: HiDT,
    rgb: np.ndarray,
    codes: torch.Tensor,
    spec: RenderSpec,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    batch: int = 8,
    workers: int = 1,
) -> Iterator[np.ndarray]:
    """The photo in each style, as B×H×W×3 uint8 batches of `batch` styles yielded in order
    as they are rendered; `workers` batches render at once (on a CPU, inside
    `one_thread_per_worker`: a 4K frame 0.31 s instead of 0.44 s on two cores). The content
    is encoded once for every frame. Frames have the photo's size, shrunk to fit max_side: a
    video frame larger than 4K plays nowhere."""
    photo = hires.fit_within(photo_tensor(rgb, model.device), max_side)
    encoded = model.encode(photo, spec)

    def render(chunk: torch.Tensor) -> np.ndarray:
        return next(model.render_encoded(encoded, chunk, max_batch=len(chunk)))

    for _, frames in in_order(render, torch.split(codes, batch), workers):
        yield frames


def strip_indices(count: int) -> set[int]:
    """The frames a strip shows, known up front so that only those are kept."""
    return set(np.linspace(0, count - 1, min(STRIP_FRAMES, count)).round().astype(int).tolist())
