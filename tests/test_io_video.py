"""Probing and reading videos through PyAV, and the errors of files that are not (whole)
videos, with real files made in tmp_path. The clips are written with PyAV directly, so that
reading is tested apart from our writer."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from hidt_cli.io.container_size import bytes_missing
from hidt_cli.io.video import (
    FALLBACK_FPS,
    IncompleteVideoError,
    VideoError,
    VideoInfo,
    VideoReader,
    probe_video,
    read_frames,
)
from tests.clips import HEIGHT, WIDTH, colour_of, flat, make_clip, packet_starts, tone

FRAMES = 20


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


# --- clips cut short: named as damaged wherever the cut falls --------------------------------

CUT_CONTAINERS = {
    "faststart.mp4": {"container": "mp4"},
    "faststart.mov": {"container": "mov"},
    "with_sound.mp4": {"container": "mp4", "audio": "aac"},
    "clip.mkv": {"container": "matroska"},
    "with_sound.mkv": {"container": "matroska", "audio": "aac"},
    "clip.webm": {"container": "webm", "codec": "libvpx-vp9"},
}


def read_to_the_end(path: Path) -> tuple[int, str]:
    """(frames read, how it ended: 'whole', 'incomplete' or 'refused' at opening)."""
    read = 0
    try:
        with VideoReader(path, prefetch=0) as reader:
            for _ in reader.frames():
                read += 1
    except IncompleteVideoError as exc:
        assert exc.decoded == read and read < exc.expected, str(exc)
        assert "\n" not in str(exc) and str(exc).startswith(f"{path}: truncated or damaged")
        return read, "incomplete"
    except VideoError:
        return read, "refused"
    return read, "whole"


def gradient(index: int) -> np.ndarray:
    """A frame that moves, so that each packet holds a little data and B-frames are used."""
    x = np.arange(WIDTH)[None, :, None]
    y = np.arange(HEIGHT)[:, None, None]
    return ((x * 4 + y * 2 + index * 9 + np.array([0, 80, 160])) % 256).astype(np.uint8)


@pytest.mark.parametrize("name", CUT_CONTAINERS)
def test_a_cut_anywhere_is_refused_or_named_never_passed_as_whole(name: str, tmp_path: Path):
    """Between every two packets, inside each packet, and through the index: the reader
    refuses the file, or stops with IncompleteVideoError, or has given every frame."""
    frames = [gradient(i) for i in range(24)]
    whole = make_clip(tmp_path / name, frames, **CUT_CONTAINERS[name])
    assert read_to_the_end(whole) == (24, "whole")
    data = whole.read_bytes()
    starts = packet_starts(whole)
    cuts = {*starts, *(at + 5 for at in starts), *(len(data) * k // 10 for k in range(1, 10))}
    outcomes = {}
    for at in sorted(at for at in cuts if 0 < at < len(data)):
        cut = tmp_path / f"cut_{at}{whole.suffix}"
        cut.write_bytes(data[:at])
        read, how = read_to_the_end(cut)
        assert how != "whole" or read == 24, f"cut at {at} of {len(data)}: {read} frames read"
        outcomes[at] = how
        cut.unlink()
    assert list(outcomes.values()).count("incomplete") >= len(starts) // 2  # not all refused


@pytest.mark.parametrize(
    ("container", "faststart"), [("mp4", True), ("mov", True), ("matroska", False)]
)
def test_the_reported_cut_half_way(container: str, faststart: bool, tmp_path: Path) -> None:
    """The index at the front lists 24 frames and 8 are left: named, with what was read."""
    whole = make_clip(tmp_path / "clip", [flat(i) for i in range(24)], container=container)
    cut = tmp_path / "half"
    cut.write_bytes(whole.read_bytes()[: packet_starts(whole)[8]])
    with pytest.raises(IncompleteVideoError) as caught:
        list(read_frames(cut))
    assert 7 <= caught.value.decoded <= 8 and caught.value.expected == 24  # B-frames wait
    assert re.search(r"its frames stop at 0\.[789]0 s of the 2\.40 s it states", str(caught.value))


@pytest.mark.parametrize("container", ["mp4", "matroska"])
def test_b_frames_lost_before_the_last_frame_shown_are_found(container: str, tmp_path: Path):
    """A cut just after the packet of the last frame shown: the packets lost hold B-frames
    shown before it, so the frames reach the end; the file's own size tells the cut."""
    for count in range(24, 40):  # a length whose last mini-GOP x264 ends with B-frames
        whole = make_clip(
            tmp_path / "clip", [gradient(i) for i in range(count)], container=container
        )
        with av.open(str(whole)) as source:
            video = source.streams.video[0]
            packets = sorted((p.pos, p.pts) for p in source.demux(video) if p.size)
        last_shown = max(range(count), key=lambda i: packets[i][1])
        if last_shown < count - 1:
            break
    else:
        pytest.fail("x264 ended every clip with the last frame shown")
    cut = tmp_path / "cut"
    cut.write_bytes(whole.read_bytes()[: packets[last_shown + 1][0]])
    with pytest.raises(IncompleteVideoError, match="the file is cut short: [0-9]+ bytes"):
        list(read_frames(cut))


def test_an_mkv_cut_before_its_first_frame_says_so(tmp_path: Path) -> None:
    whole = make_clip(tmp_path / "clip.mkv", [flat(i) for i in range(24)], container="matroska")
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: packet_starts(whole)[0]])
    assert reason_for(cut) == "no frame decodes (the file ends before its first frame)"


def test_a_cut_through_the_index_is_refused(tmp_path: Path) -> None:
    whole = make_clip(tmp_path / "clip.mp4", [flat(i) for i in range(24)])
    data = whole.read_bytes()
    moov = data.index(b"moov")
    (tmp_path / "cut.mp4").write_bytes(data[: moov + 200])
    assert reason_for(tmp_path / "cut.mp4").startswith("cannot open as a video")


WHOLE_CLIPS = {
    "sound longer than the picture": {"audio": "aac", "audio_seconds": 3.4},
    "29.97 frames/s": {"rate": Fraction(30000, 1001)},
    "60 frames/s": {"rate": 60},
    "variable rate": {"pts": [0, 1, 2, 5, 6, 7, 15, 16, 30, 31, 32, 33], "rate": 30},
}


@pytest.mark.parametrize("container", ["mp4", "mov", "matroska", "webm"])
@pytest.mark.parametrize("case", WHOLE_CLIPS)
def test_whole_clips_are_not_taken_for_cut_ones(container: str, case: str, tmp_path: Path):
    """The measurements behind END_SLACK_FRAMES: these end where their container says."""
    options = dict(WHOLE_CLIPS[case])
    count = len(options.get("pts", range(24)))
    rate = options.pop("rate", 10)
    if "pts" in options:
        options["time_base"] = Fraction(1, rate)
    if container == "webm":
        options["codec"] = "libvpx-vp9"
        options["audio"] = "libopus" if "audio" in options else None
    frames = [gradient(i) for i in range(count)]
    clip = make_clip(tmp_path / "clip", frames, container=container, rate=rate, **options)
    assert read_to_the_end(clip) == (count, "whole")


# --- the sizes a file declares ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "options"),
    [
        ("mp4", {}),
        ("mp4", {"faststart": False}),
        ("mov", {}),
        ("matroska", {}),
        ("webm", {"codec": "libvpx-vp9"}),
        ("avi", {"codec": "mpeg4"}),
    ],
)
def test_bytes_missing_counts_what_a_cut_took(container: str, options: dict, tmp_path: Path):
    whole = make_clip(
        tmp_path / "clip", [gradient(i) for i in range(12)], container=container, **options
    )
    data = whole.read_bytes()
    assert bytes_missing(whole) == 0
    for keep in (len(data) // 2, len(data) - 1):
        cut = tmp_path / "cut"
        cut.write_bytes(data[:keep])
        # what the structure up to the cut declares: all of it when the cut is in the last box
        assert 0 < bytes_missing(cut) <= len(data) - keep, keep
    assert bytes_missing(cut) == 1


@pytest.mark.parametrize(
    "content",
    [b"", b"ftyp", b"\x1a\x45\xdf\xa3", b"RIFF", b"not a video at all", b"\0\0\0\x04moov"],
)
def test_bytes_missing_of_what_it_cannot_read_is_zero_or_the_cut(tmp_path: Path, content: bytes):
    path = tmp_path / "odd"
    path.write_bytes(content)
    assert bytes_missing(path) >= 0
    assert bytes_missing(tmp_path / "absent") == 0
