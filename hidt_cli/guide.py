"""Styles taken from a guide video, frame by frame and smoothed over time, for the commands
that follow another video's light: a timelapse of one photo, or a clip translated in step."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hidt_cli.clips import StylesOf, chunks
from hidt_cli.io.video import Frame, VideoInfo, VideoReader
from hidt_cli.model import HiDT
from hidt_cli.ranges import photo_tensor
from hidt_cli.styles import smooth_codes

STYLE_BATCH = 16
"""Guide frames style-encoded per device batch (they are resized on the device first)."""


class Clock:
    """Seconds since a video's first frame: from the frames' timestamps, so that a variable
    frame rate is followed, or from the frame rate where the file gives none."""

    def __init__(self, info: VideoInfo) -> None:
        self._info = info
        self._origin: int | None = None

    def __call__(self, frame: Frame) -> float:
        if frame.pts is None:
            return frame.index / self._info.fps
        if self._origin is None:
            self._origin = frame.pts
        return float((frame.pts - self._origin) * self._info.time_base)


@dataclass(frozen=True)
class GuideStyles:
    """The smoothed style codes of a guide's frames and when each frame is shown."""

    seconds: np.ndarray
    """N increasing times, from the guide's first frame."""
    codes: torch.Tensor
    """N×style_dim."""

    def at(self, seconds: Sequence[float]) -> torch.Tensor:
        """The codes at these times (B×style_dim): interpolated between the guide's frames,
        held at its first and last beyond its ends."""
        columns = [
            np.interp(seconds, self.seconds, column) for column in self.codes.double().T.numpy()
        ]
        return torch.from_numpy(np.stack(columns, 1)).float()

    def follow(self, clock: Clock) -> StylesOf:
        """Styles for a clip in step with this guide: each frame takes the guide's code at
        the same moment."""
        return lambda frames: self.at([clock(frame) for frame in frames])


def guide_styles(
    model: HiDT,
    video: str | os.PathLike[str],
    *,
    stride: int = 1,
    max_frames: int | None = None,
    sigma: float = 2.0,
    inference_size: int = 256,
    advance: Callable[[int], None] = lambda n: None,
) -> GuideStyles:
    """The codes of every stride-th frame, smoothed over time (sigma in those frames): the
    style encoder jitters from frame to frame, which would make the result flicker."""
    codes, seconds = [], []
    with VideoReader(video) as reader:
        clock = Clock(reader.info)
        for chunk in chunks(reader.frames(stride=stride, max_frames=max_frames), STYLE_BATCH):
            images = torch.cat([photo_tensor(frame.rgb, model.device) for frame in chunk])
            codes.append(model.styles_of_images(images, inference_size).cpu())
            seconds.extend(clock(frame) for frame in chunk)
            advance(len(chunk))
    return GuideStyles(np.asarray(seconds), smooth_codes(torch.cat(codes), sigma))


def guide_codes(model: HiDT, video: str | os.PathLike[str], **options) -> torch.Tensor:
    """N×style_dim smoothed codes of a guide, one per frame read (`guide_styles`' options)."""
    return guide_styles(model, video, **options).codes
