"""Writing, probing and reading MP4 files through OpenCV, with real files in tmp_path."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from hidt_cli.io import video
from hidt_cli.io.video import (
    FALLBACK_FPS,
    VideoError,
    VideoInfo,
    VideoWriter,
    probe_video,
    read_frames,
)

WIDTH, HEIGHT, FRAMES = 64, 48, 20


def colour_of(index: int) -> tuple[int, int, int]:
    return (12 * index, 255 - 12 * index, 100)


def frame(index: int) -> np.ndarray:
    return np.full((HEIGHT, WIDTH, 3), colour_of(index), dtype=np.uint8)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    with VideoWriter(path, 10.0, (WIDTH, HEIGHT)) as writer:
        for index in range(FRAMES):
            writer.write(frame(index))
    return path


def assert_colour(rgb: np.ndarray, index: int) -> None:
    # MP4 is lossy; a flat frame keeps its mean colour to within a few levels.
    assert rgb.shape == (HEIGHT, WIDTH, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb.reshape(-1, 3).mean(axis=0) - colour_of(index)).max() < 8


def test_writer_leaves_only_the_final_file(clip: Path) -> None:
    assert [p.name for p in clip.parent.iterdir()] == ["clip.mp4"]


def test_probe(clip: Path) -> None:
    info = probe_video(clip)
    assert isinstance(info, VideoInfo)
    assert (info.frame_count, info.width, info.height) == (FRAMES, WIDTH, HEIGHT)
    assert info.fps == pytest.approx(10.0)


def test_read_every_third_frame(clip: Path) -> None:
    frames = list(read_frames(clip, stride=3))
    kept = list(range(0, FRAMES, 3))
    assert len(frames) == len(kept) == 7
    for rgb, index in zip(frames, kept, strict=True):
        assert_colour(rgb, index)


def test_read_stops_at_max_frames(clip: Path) -> None:
    frames = list(read_frames(clip, stride=2, max_frames=4))
    assert len(frames) == 4
    assert_colour(frames[-1], 6)


def test_read_all_frames(clip: Path) -> None:
    assert len(list(read_frames(clip))) == FRAMES


@pytest.mark.parametrize(("stride", "max_frames"), [(0, None), (1, 0)])
def test_read_rejects_bad_arguments(clip: Path, stride: int, max_frames: int | None) -> None:
    with pytest.raises(ValueError):
        read_frames(clip, stride=stride, max_frames=max_frames)


def capture_reporting(
    monkeypatch: pytest.MonkeyPatch, overrides: dict[int, float], frames: bool = True
) -> None:
    """Make OpenCV report other container properties (and optionally no decodable frames)."""
    real_capture = cv2.VideoCapture

    class Reporting:
        def __init__(self, path: str) -> None:
            self._capture = real_capture(path)

        def get(self, prop: int) -> float:
            return overrides.get(prop, self._capture.get(prop))

        def grab(self) -> bool:
            return frames and self._capture.grab()

        def __getattr__(self, name: str):
            return getattr(self._capture, name)

    monkeypatch.setattr(video.cv2, "VideoCapture", Reporting)


@pytest.mark.parametrize("fps", [math.nan, 0.0])
def test_unknown_fps_falls_back(clip: Path, monkeypatch: pytest.MonkeyPatch, fps: float) -> None:
    capture_reporting(monkeypatch, {cv2.CAP_PROP_FPS: fps})
    assert probe_video(clip).fps == FALLBACK_FPS


def test_unknown_frame_count_is_counted(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    capture_reporting(monkeypatch, {cv2.CAP_PROP_FRAME_COUNT: -1})
    assert probe_video(clip).frame_count == FRAMES


def test_no_frames(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    capture_reporting(monkeypatch, {cv2.CAP_PROP_FRAME_COUNT: 0}, frames=False)
    with pytest.raises(VideoError, match=r": video has no frames$"):
        probe_video(clip)


# --- errors -------------------------------------------------------------------------------


def reason_for(path: Path) -> str:
    with pytest.raises(VideoError) as caught:
        probe_video(path)
    assert str(caught.value) == f"{path}: {caught.value.reason}"
    with pytest.raises(VideoError):
        read_frames(path)  # raised on the call, before iteration
    return caught.value.reason


def test_missing_video(tmp_path: Path) -> None:
    assert reason_for(tmp_path / "nope.mp4") == "no such file"


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "d.mp4").mkdir()
    assert reason_for(tmp_path / "d.mp4") == "is a directory"


@pytest.mark.parametrize(
    "content",
    [b"", b"this is a text file, not a movie\n" * 20, bytes(range(256)) * 64],
    ids=["empty", "text", "junk"],
)
def test_not_a_video(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "bad.mp4").write_bytes(content)
    assert reason_for(tmp_path / "bad.mp4") == "cannot open as a video"


def test_cut_video(clip: Path, tmp_path: Path) -> None:
    (tmp_path / "cut.mp4").write_bytes(clip.read_bytes()[:64])  # the 'ftyp' box and a little more
    assert reason_for(tmp_path / "cut.mp4") == "cannot open as a video"


def test_video_written_without_frames(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "none.mp4", 10.0, (WIDTH, HEIGHT)):
        pass
    assert reason_for(tmp_path / "none.mp4") == "cannot open as a video"


# --- writer -------------------------------------------------------------------------------


def test_writer_refuses_existing_output(clip: Path) -> None:
    before = clip.read_bytes()
    with pytest.raises(VideoError, match=r"exists \(use --overwrite\)$"):
        VideoWriter(clip, 10.0, (WIDTH, HEIGHT))
    assert clip.read_bytes() == before


def test_writer_overwrites_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"old")
    with VideoWriter(target, 5.0, (WIDTH, HEIGHT), overwrite=True) as writer:
        writer.write(frame(3))
    info = probe_video(target)
    assert (info.frame_count, info.width, info.height) == (1, WIDTH, HEIGHT)


def test_writer_discards_everything_on_error(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.mp4"
    with pytest.raises(RuntimeError), VideoWriter(target, 10.0, (WIDTH, HEIGHT)) as writer:
        writer.write(frame(0))
        raise RuntimeError("pipeline failed")
    assert list(target.parent.iterdir()) == []


@pytest.mark.parametrize("size", [(63, 48), (64, 47), (0, 48)])
def test_writer_needs_even_positive_size(tmp_path: Path, size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="even"):
        VideoWriter(tmp_path / "out.mp4", 10.0, size)
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_frames_of_another_size(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "out.mp4", 10.0, (WIDTH, HEIGHT)) as writer:
        with pytest.raises(ValueError, match="48×64×3 uint8"):
            writer.write(np.zeros((HEIGHT, WIDTH + 2, 3), np.uint8))
        writer.write(frame(0))


def test_writer_reports_when_opencv_cannot_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Refusing:
        def __init__(self, *_: object) -> None:
            pass

        def isOpened(self) -> bool:
            return False

        def release(self) -> None:
            pass

    monkeypatch.setattr(video.cv2, "VideoWriter", Refusing)
    with pytest.raises(
        VideoError, match=r"cannot write video \(OpenCV could not open an MP4 writer\)$"
    ):
        VideoWriter(tmp_path / "out.mp4", 10.0, (WIDTH, HEIGHT))
    assert list(tmp_path.iterdir()) == []
