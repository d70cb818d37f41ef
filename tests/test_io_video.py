"""Probing and reading videos through PyAV, and the errors of files that are not (whole)
videos, with real files made in tmp_path. The clips are written with PyAV directly, so that
reading is tested apart from our writer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from hidt_cli.io.video import (
    FALLBACK_FPS,
    IncompleteVideoError,
    VideoError,
    VideoInfo,
    VideoReader,
    probe_video,
    read_frames,
)

WIDTH, HEIGHT, FRAMES = 64, 48, 20


def colour_of(index: int) -> tuple[int, int, int]:
    return (12 * index, 255 - 12 * index, 100)


def flat(index: int, size: tuple[int, int] = (WIDTH, HEIGHT)) -> np.ndarray:
    return np.full((size[1], size[0], 3), colour_of(index), dtype=np.uint8)


def make_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    rate: int = 10,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int = 0,
    audio: str | None = None,
    faststart: bool = True,
    container: str = "mp4",
) -> Path:
    """Encode RGB frames as H.264 with PyAV; `audio` names a codec for a 440 Hz tone as long
    as the video."""
    options = {"movflags": "+faststart"} if faststart and container == "mp4" else {}
    with av.open(str(path), "w", format=container, options=options) as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = time_base or Fraction(1, rate)
        if rotation:
            stream.set_display_rotation(rotation)
        sound = out.add_stream(audio, rate=48000, layout="mono") if audio else None
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = pts[index] if pts is not None else index
            frame.time_base = stream.codec_context.time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound is not None:
            out.mux(sound.encode(tone(len(frames) / rate)))
            out.mux(sound.encode(None))
    return path


def tone(seconds: float, rate: int = 48000) -> av.AudioFrame:
    samples = np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate) * 0.3
    frame = av.AudioFrame.from_ndarray(
        samples.astype(np.float32)[None], format="fltp", layout="mono"
    )
    frame.sample_rate, frame.pts = rate, 0
    return frame


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    return make_clip(path, [flat(i) for i in range(FRAMES)])


def assert_colour(rgb: np.ndarray, index: int) -> None:
    # H.264 is lossy; a flat frame keeps its mean colour to within a few levels.
    assert rgb.shape == (HEIGHT, WIDTH, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb.reshape(-1, 3).mean(axis=0) - colour_of(index)).max() < 8


def test_probe(clip: Path) -> None:
    info = probe_video(clip)
    assert isinstance(info, VideoInfo)
    assert (info.frame_count, info.width, info.height) == (FRAMES, WIDTH, HEIGHT)
    assert info.fps == pytest.approx(10.0) and not info.fps_guessed
    assert (info.codec, info.rotation, info.has_audio) == ("h264", 0, False)


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


@pytest.mark.parametrize("prefetch", [0, 3])
def test_reader_gives_times_and_positions(clip: Path, prefetch: int) -> None:
    with VideoReader(clip, prefetch=prefetch) as reader:
        frames = list(reader.frames(stride=2))
        assert reader.info.time_base == Fraction(1, 10240)  # the MP4 muxer's own clock
    assert [f.index for f in frames] == list(range(0, FRAMES, 2))
    assert [f.pts for f in frames] == [1024 * i for i in range(0, FRAMES, 2)]


def test_reader_reads_once(clip: Path) -> None:
    with VideoReader(clip) as reader:
        next(reader.frames())
        with pytest.raises(RuntimeError, match="once"):
            reader.frames()


def test_closing_early_stops_the_decoding_thread(clip: Path) -> None:
    with VideoReader(clip, prefetch=2) as reader:
        frames = reader.frames()
        next(frames)
    assert not [t for t in threading.enumerate() if t.name == "hidt-prefetch"]
    assert next(frames, None) is None


def test_frames_an_edit_list_hides_are_not_damage(clip: Path, tmp_path: Path) -> None:
    """Cutting a clip without re-encoding keeps the frames before the cut for decoding and
    an edit list to hide them: fewer frames than the index counts, and nothing wrong."""
    path = tmp_path / "trimmed.mp4"
    with av.open(str(clip)) as source, av.open(str(path), "w") as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.size:
                shift = round(Fraction(1, 2) / packet.time_base)  # 5 frames before 0
                packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
                packet.stream = stream
                out.mux(packet)
    assert probe_video(path).frame_count == FRAMES
    assert len(list(read_frames(path))) == FRAMES - 5


@pytest.mark.parametrize(("stride", "max_frames"), [(0, None), (1, 0)])
def test_read_rejects_bad_arguments(clip: Path, stride: int, max_frames: int | None) -> None:
    with pytest.raises(ValueError):
        read_frames(clip, stride=stride, max_frames=max_frames)


@pytest.fixture(scope="module")
def raw_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An H.264 elementary stream: no container, so no frame count, duration or times."""
    path = tmp_path_factory.mktemp("raw") / "clip.h264"
    return make_clip(path, [flat(i) for i in range(7)], container="h264")


def test_a_stream_without_a_count_is_counted(raw_stream: Path) -> None:
    info = probe_video(raw_stream)
    assert (info.frame_count, info.width, info.height) == (7, WIDTH, HEIGHT)
    assert [f.pts for f in VideoReader(raw_stream).frames()] == [None] * 7


def test_unknown_fps_falls_back(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(av.video.stream.VideoStream, "average_rate", None)
    monkeypatch.setattr(av.video.stream.VideoStream, "guessed_rate", None)
    info = probe_video(clip)
    assert (info.fps, info.fps_guessed) == (FALLBACK_FPS, True)


def test_rotation_is_applied_to_frames_and_size(tmp_path: Path) -> None:
    stored = flat(0)
    stored[:8, :8] = 255  # a white mark in the stored top-left corner
    path = make_clip(tmp_path / "phone.mp4", [stored] * 3, rotation=90)
    with VideoReader(path) as reader:
        info = reader.info
        upright = next(reader.frames()).rgb
    assert (info.rotation, info.width, info.height) == (90, HEIGHT, WIDTH)
    assert upright.shape == (WIDTH, HEIGHT, 3) and upright.flags.c_contiguous
    # turned a quarter counter-clockwise for display: the mark (red 255, not 0) is bottom-left
    red = upright[..., 0]
    assert red[-8:, :8].min() > 200 and red[:8, :8].max() < 50 and red[-8:, -8:].max() < 50


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


def test_only_the_header(clip: Path, tmp_path: Path) -> None:
    (tmp_path / "cut.mp4").write_bytes(clip.read_bytes()[:64])  # the 'ftyp' box and a little more
    assert reason_for(tmp_path / "cut.mp4").startswith("cannot open as a video")


def test_sound_only(tmp_path: Path) -> None:
    path = tmp_path / "song.mp4"
    with av.open(str(path), "w") as out:
        sound = out.add_stream("aac", rate=48000, layout="mono")
        out.mux(sound.encode(tone(0.2)))
        out.mux(sound.encode(None))
    assert reason_for(path) == "cannot open as a video (no video stream)"


def test_no_frame_decodes(clip: Path, tmp_path: Path) -> None:
    data = bytearray(clip.read_bytes())
    start = data.index(b"mdat") + 4
    data[start:] = bytes(len(data) - start)  # the index is intact, the frames are zeros
    (tmp_path / "zeros.mp4").write_bytes(data)
    assert reason_for(tmp_path / "zeros.mp4").startswith("no frame decodes (")


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Noise compresses badly, so cutting the file in half loses many frames."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8) for _ in range(30)]
    return make_clip(tmp_path_factory.mktemp("noisy") / "noisy.mp4", frames)


def cut(source: Path, target: Path, keep: Callable[[int], int]) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: keep(len(data))])
    return target


def test_truncated_video_yields_what_decodes_then_names_the_file(noisy: Path, tmp_path: Path):
    path = cut(noisy, tmp_path / "half.mp4", lambda n: n // 2)
    assert probe_video(path).frame_count == 30  # the index at the front still says 30
    read: list[np.ndarray] = []
    with pytest.raises(IncompleteVideoError) as caught:
        read.extend(read_frames(path))
    assert 0 < len(read) < 30 and caught.value.decoded == len(read)
    message = str(caught.value)
    assert message.startswith(f"{path}: truncated or damaged video: decoded {len(read)} of 30")
    assert "\n" not in message


def test_truncated_video_without_its_index_cannot_open(tmp_path: Path) -> None:
    """Without +faststart the index comes last, so a cut file has none."""
    whole = make_clip(tmp_path / "slow.mp4", [flat(i) for i in range(5)], faststart=False)
    path = cut(whole, tmp_path / "cut.mp4", lambda n: n - 100)
    with pytest.raises(VideoError) as caught:
        probe_video(path)
    assert str(caught.value).startswith(f"{path}: ")
