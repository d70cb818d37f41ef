"""Writing H.264 MP4s with VideoWriter: the stream it makes, sound, rotation, variable frame
rates, the index at the front, and that nothing partial is ever left behind."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import typer

from hidt_cli.cli import common
from hidt_cli.io import video
from hidt_cli.io.video import (
    EncoderNotFoundError,
    VideoError,
    VideoReader,
    VideoWriter,
    h264_encoders,
    probe_video,
)
from tests.clips import HEIGHT, WIDTH, flat, make_clip

FRAMES, RATE = 36, 12


def moving(index: int, rng: np.random.Generator) -> np.ndarray:
    """A bright square that crosses a gradient, plus noise: something real to encode."""
    y, x = np.mgrid[:HEIGHT, :WIDTH]
    rgb = np.stack([x * 4, y * 5, np.full_like(x, 90)], axis=-1).astype(np.int16)
    left = (2 * index) % (WIDTH - 12)
    rgb[18:30, left : left + 12] = 240
    rgb += rng.integers(-6, 7, rgb.shape, dtype=np.int16)
    return rgb.clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of a moving pattern at 12 fps with an AAC tone."""
    rng = np.random.default_rng(0)
    frames = [moving(i, rng) for i in range(FRAMES)]
    return make_clip(tmp_path_factory.mktemp("src") / "src.mp4", frames, rate=RATE, audio="aac")


def copy(source: Path, target: Path, **options: object) -> tuple[VideoWriter, list[np.ndarray]]:
    """What `hidt translate` does with a video, with the identity for a network."""
    frames = []
    with VideoReader(source) as reader, VideoWriter.like(target, reader, **options) as writer:
        for frame in reader.frames():
            writer.write(frame.rgb, frame.pts)
            frames.append(frame.rgb)
    return writer, frames


def decoded(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [frame.rgb for frame in reader.frames()]


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


def top_level_boxes(path: Path) -> list[str]:
    """The MP4 boxes ('atoms') at the top of the file, in file order."""
    data, boxes, offset = path.read_bytes(), [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:  # a 64-bit size follows the type
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        offset += size if size else len(data)
    return boxes


@pytest.fixture(scope="module")
def copied(source: Path, tmp_path_factory: pytest.TempPathFactory):
    target = tmp_path_factory.mktemp("out") / "out.mp4"
    writer, frames = copy(source, target)
    return target, writer, frames


def test_the_stream_is_h264_yuv420p_at_the_source_rate(copied) -> None:
    target, writer, _ = copied
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (stream.width, stream.height, stream.frames) == (WIDTH, HEIGHT, FRAMES)
        assert stream.average_rate == RATE
        assert stream.codec_context.colorspace == 1  # BT.709, as converted
    assert writer.codec == "libx264" and writer.notes == []
    assert [p.name for p in target.parent.iterdir()] == ["out.mp4"]


def test_the_frames_survive(copied) -> None:
    target, _, frames = copied
    again = decoded(target)
    assert len(again) == FRAMES
    error = np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(again, frames, strict=True)])
    assert error < 3  # CRF 20 on noise; a colour-matrix mix-up would be ~10


def test_the_sound_is_copied_packet_for_packet(copied, source: Path) -> None:
    target, _, _ = copied
    info = probe_video(target)
    assert (info.has_audio, info.audio_codec) == (True, "aac")
    out, src = audio_packets(target), audio_packets(source)
    assert len(out) >= len(src) - 2 and out == src[: len(out)]  # at most the end trimmed


def test_the_index_comes_before_the_data(copied) -> None:
    boxes = top_level_boxes(copied[0])
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")


def test_sound_stops_with_the_video(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "first_second.mp4"
    with VideoReader(source) as reader, VideoWriter.like(target, reader) as writer:
        for frame in reader.frames(max_frames=RATE):
            writer.write(frame.rgb, frame.pts)
    with av.open(str(target)) as container:
        seconds = [float(s.duration * s.time_base) for s in container.streams]
    assert seconds[0] == pytest.approx(1.0) and seconds[1] == pytest.approx(1.0, abs=0.03)


def test_sound_mp4_cannot_hold_is_encoded_again(tmp_path: Path) -> None:
    source = make_clip(
        tmp_path / "camera.mkv",
        [flat(i) for i in range(6)],
        audio="pcm_s16le",
        container="matroska",
    )
    writer, _ = copy(source, tmp_path / "out.mp4")
    assert writer.notes == ["audio: pcm_s16le cannot go into MP4; re-encoded as AAC at 192 kbit/s"]
    info = probe_video(tmp_path / "out.mp4")
    assert (info.has_audio, info.audio_codec, info.frame_count) == (True, "aac", 6)


@pytest.mark.parametrize("keep", [True, False], ids=["tagged", "turned"])
def test_rotation(tmp_path: Path, keep: bool) -> None:
    stored = flat(3)
    stored[:8, :8] = 255
    source = make_clip(tmp_path / "phone.mp4", [stored] * 4, rotation=90)
    target = tmp_path / "out.mp4"
    with VideoReader(source) as reader:
        rotation = reader.info.rotation if keep else 0
        with VideoWriter.like(target, reader, rotation=rotation) as writer:
            for frame in reader.frames():
                writer.write(frame.rgb, frame.pts)
    info = probe_video(target)
    assert (info.rotation, info.width, info.height) == (rotation, HEIGHT, WIDTH)
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == ((WIDTH, HEIGHT) if keep else (HEIGHT, WIDTH))
    for a, b in zip(decoded(target), decoded(source), strict=True):
        assert np.abs(a.astype(int) - b).mean() < 3  # displayed the same either way


def test_variable_frame_rate_is_kept(tmp_path: Path) -> None:
    millis = [0, 40, 70, 150, 160, 300, 330, 500, 520, 700]
    source = make_clip(
        tmp_path / "vfr.mp4",
        [flat(i) for i in range(len(millis))],
        pts=millis,
        time_base=Fraction(1, 1000),
    )
    target = tmp_path / "out.mp4"
    copy(source, target)
    with VideoReader(target) as reader:
        seconds = [float(f.pts * reader.info.time_base) for f in reader.frames()]
    assert seconds == pytest.approx([m / 1000 for m in millis], abs=1e-3)


def test_the_first_frame_starts_at_zero(tmp_path: Path) -> None:
    """A stream cut from a broadcast starts at some large time; the output at 0."""
    target = tmp_path / "out.mp4"
    with VideoWriter(target, 10.0, (WIDTH, HEIGHT), time_base=Fraction(1, 90000)) as writer:
        for index, pts in enumerate([900000, 909000, 918000]):
            writer.write(flat(index), pts)
    with VideoReader(target) as reader:
        seconds = [float(f.pts * reader.info.time_base) for f in reader.frames()]
    assert seconds == pytest.approx([0.0, 0.1, 0.2])


def test_constant_rate_without_times(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with VideoWriter(target, 5.0, (WIDTH, HEIGHT), background=False) as writer:
        for index in range(5):
            writer.write(flat(index))
    info = probe_video(target)
    assert (info.frame_count, info.fps) == (5, 5.0)


def test_times_need_their_clock(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "out.mp4", 5.0, (WIDTH, HEIGHT)) as writer:
        with pytest.raises(ValueError, match="time_base"):
            writer.write(flat(0), 1024)
        writer.write(flat(0))


def test_odd_sizes_are_padded_by_repeating_the_edge(tmp_path: Path) -> None:
    rgb = np.zeros((HEIGHT - 1, WIDTH - 1, 3), np.uint8)
    rgb[-1], rgb[:, -1] = 200, 200  # a bright last row and column
    target = tmp_path / "odd.mp4"
    with VideoWriter(target, 10.0, (WIDTH - 1, HEIGHT - 1)) as writer:
        writer.write(rgb)
    (frame,) = decoded(target)
    assert frame.shape == (HEIGHT, WIDTH, 3)
    assert frame[-1].mean() > 180 and frame[:, -1].mean() > 180
    assert np.abs(frame[:-1, :-1].astype(int) - rgb).mean() < 3


# --- nothing partial ----------------------------------------------------------------------


def test_interrupted_write_leaves_nothing(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.mp4"
    reader = VideoReader(source)
    with pytest.raises(KeyboardInterrupt), reader, VideoWriter.like(target, reader) as writer:
        for frame in reader.frames():
            writer.write(frame.rgb, frame.pts)
            if frame.index == 10:
                raise KeyboardInterrupt
    assert list(target.parent.iterdir()) == []


def test_an_encoding_failure_behind_the_caller_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self, frame) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(VideoWriter, "_encode", full_disk)
    target = tmp_path / "out.mp4"
    with pytest.raises(VideoError) as caught, VideoWriter(target, 10.0, (WIDTH, HEIGHT)) as writer:
        for index in range(50):
            writer.write(flat(index))
    assert str(caught.value) == f"{target}: cannot write video (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_no_frames_no_file(tmp_path: Path) -> None:
    empty = r"cannot write video \(no frames were given\)$"
    with pytest.raises(VideoError, match=empty), VideoWriter(tmp_path / "none.mp4", 10.0, (64, 48)):
        pass
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_existing_output(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"keep me")
    with pytest.raises(VideoError, match=r"exists \(use --overwrite\)$"):
        VideoWriter(target, 10.0, (WIDTH, HEIGHT))
    assert target.read_bytes() == b"keep me"


def test_writer_overwrites_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"old")
    with VideoWriter(target, 5.0, (WIDTH, HEIGHT), overwrite=True) as writer:
        writer.write(flat(3))
    info = probe_video(target)
    assert (info.frame_count, info.width, info.height) == (1, WIDTH, HEIGHT)


@pytest.mark.parametrize(
    "settings",
    [{"size": (0, 48)}, {"fps": 0.0}, {"crf": 52}, {"rotation": 45}],
    ids=["size", "fps", "crf", "rotation"],
)
def test_writer_checks_its_settings(tmp_path: Path, settings: dict) -> None:
    arguments = {"fps": 10.0, "size": (WIDTH, HEIGHT), **settings}
    with pytest.raises(ValueError):
        VideoWriter(tmp_path / "out.mp4", **arguments)
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_frames_of_another_size(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "out.mp4", 10.0, (WIDTH, HEIGHT)) as writer:
        with pytest.raises(ValueError, match="48×64×3 uint8"):
            writer.write(np.zeros((HEIGHT, WIDTH + 2, 3), np.uint8))
        writer.write(flat(0))


# --- encoders -----------------------------------------------------------------------------


def test_libx264_is_there_and_preferred() -> None:
    assert h264_encoders()[0] == "libx264"


@pytest.mark.parametrize("codec", ["no-such-encoder", "aac"])
def test_a_missing_encoder_is_one_line_and_exit_4(tmp_path: Path, codec: str) -> None:
    target = tmp_path / "out.mp4"
    with pytest.raises(EncoderNotFoundError) as caught:
        VideoWriter(target, 10.0, (WIDTH, HEIGHT), codec=codec)
    message = str(caught.value)
    assert message.startswith(f"{target}: no video encoder {codec!r}") and "libx264" in message
    assert "\n" not in message and list(tmp_path.iterdir()) == []
    with pytest.raises(typer.Exit) as exit_, common.reported_errors(debug=False):
        raise caught.value
    assert exit_.value.exit_code == common.EXIT_INPUT == 4


def test_no_h264_encoder_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video, "H264_ENCODERS", ("libnope264",))
    with pytest.raises(EncoderNotFoundError, match="no software H.264 encoder"):
        VideoWriter(tmp_path / "out.mp4", 10.0, (WIDTH, HEIGHT))


def test_another_encoder_can_be_asked_for(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with VideoWriter(target, 10.0, (WIDTH, HEIGHT), codec="mpeg4") as writer:
        writer.write(flat(0))
    assert writer.notes == ["video: --crf does not apply to mpeg4; its defaults are used"]
    assert probe_video(target).codec == "mpeg4"
