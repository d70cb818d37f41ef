"""Video frames in and out with OpenCV, as RGB arrays like the still-image path uses."""

from __future__ import annotations

import contextlib
import math
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from hidt_cli.io.errors import PathError

_MP4V = cv2.VideoWriter.fourcc(*"mp4v")  # MPEG-4 Part 2: in every OpenCV build with FFmpeg
# Some containers (and streams cut from them) report 0 or NaN fps; 25 is the PAL rate.
FALLBACK_FPS = 25.0


class VideoError(PathError):
    """A video that cannot be read or written."""


@dataclass
class VideoInfo:
    """What the pipeline needs to plan the work and write a matching output."""

    fps: float
    frame_count: int
    width: int
    height: int
    fps_guessed: bool = False
    """The container did not give a usable rate, so fps is FALLBACK_FPS."""


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Check that a video opens and has frames; fps falls back to FALLBACK_FPS when unknown."""
    capture = _open_capture(path)
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if count <= 0:  # the container did not say: count by decoding
            count = 0
            while capture.grab():
                count += 1
        if count <= 0:
            raise VideoError(path, "video has no frames")
        known = math.isfinite(fps) and fps > 0
        return VideoInfo(
            fps=fps if known else FALLBACK_FPS,
            frame_count=count,
            width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps_guessed=not known,
        )
    finally:
        capture.release()


def read_frames(
    path: str | os.PathLike[str], *, stride: int = 1, max_frames: int | None = None
) -> Iterator[np.ndarray]:
    """Yield every stride-th frame as RGB uint8 H×W×3; opening errors raise now, not when used."""
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    capture = _open_capture(path)
    ok, first = capture.read()
    if not ok:
        capture.release()
        raise VideoError(path, "cannot decode the first frame")
    return _frames(capture, first, path, stride, max_frames)


def _frames(
    capture: cv2.VideoCapture,
    first: np.ndarray,
    path: str | os.PathLike[str],
    stride: int,
    limit: int | None,
) -> Iterator[np.ndarray]:
    try:
        yield cv2.cvtColor(first, cv2.COLOR_BGR2RGB)
        kept, index = 1, 1
        while limit is None or kept < limit:
            # grab() decodes without the colour conversion and copy that read() adds.
            if not capture.grab():
                return
            if index % stride == 0:
                ok, bgr = capture.retrieve()
                if not ok:
                    raise VideoError(path, f"cannot decode frame {index}")
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                kept += 1
            index += 1
    finally:
        capture.release()


def _open_capture(path: str | os.PathLike[str]) -> cv2.VideoCapture:
    if not os.path.exists(path):
        raise VideoError(path, "no such file")
    if os.path.isdir(path):
        raise VideoError(path, "is a directory")
    capture = cv2.VideoCapture(os.fspath(path))
    if not capture.isOpened():
        capture.release()
        raise VideoError(path, "cannot open as a video")
    return capture


def _stored_frames(path: Path) -> int:
    """Frames the finished file says it holds; 0 when it cannot be opened."""
    capture = cv2.VideoCapture(os.fspath(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()


class VideoWriter:
    """An MP4 written under a hidden temporary name and renamed into place only when closed cleanly.

    Width and height must be even: the usual MP4 codecs work on 2×2 chroma blocks, and it is
    for the caller to decide whether to pad or crop.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        size: tuple[int, int],
        overwrite: bool = False,
    ) -> None:
        width, height = size
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"video frame size must be positive and even, got {width}x{height}")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps}")
        self.path = Path(path)
        self.size = (width, height)
        self._written = 0
        if not overwrite and os.path.lexists(self.path):
            raise VideoError(self.path, "exists (use --overwrite)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VideoError(self.path, f"cannot write: {exc.strerror or exc}") from exc
        # OpenCV picks the container from the extension, so the temporary name must end in .mp4.
        self._temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp.mp4")
        self._writer = cv2.VideoWriter(os.fspath(self._temp), _MP4V, fps, self.size)
        if not self._writer.isOpened():
            self._discard()
            raise VideoError(self.path, "cannot write video (OpenCV could not open an MP4 writer)")

    def write(self, rgb: np.ndarray) -> None:
        """Append one RGB frame; OpenCV itself would silently drop a frame of the wrong size."""
        width, height = self.size
        if rgb.dtype != np.uint8 or rgb.shape != (height, width, 3):
            raise ValueError(
                f"expected a {height}×{width}×3 uint8 frame, got {rgb.dtype} with shape {rgb.shape}"
            )
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self._written += 1

    def close(self) -> None:
        """Finish the file and move it onto the final name once it is known to hold every frame:
        OpenCV drops what it cannot write (on a full disk, say) without an error."""
        self._writer.release()
        if not self._temp.is_file() or self._temp.stat().st_size == 0:
            self._discard()
            raise VideoError(self.path, "cannot write video (OpenCV wrote no data)")
        stored = _stored_frames(self._temp)
        if stored != self._written:
            self._discard()
            raise VideoError(
                self.path, f"cannot write video (OpenCV stored {stored} of {self._written} frames)"
            )
        try:
            os.replace(self._temp, self.path)
        except OSError as exc:
            self._discard()
            raise VideoError(self.path, f"cannot write: {exc.strerror or exc}") from exc

    def _discard(self) -> None:
        self._writer.release()
        with contextlib.suppress(OSError):
            os.unlink(self._temp)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()
