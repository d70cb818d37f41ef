"""Videos in and out through PyAV (FFmpeg), frame by frame, as the RGB arrays the still-image
path uses.

Every frame in this module is as displayed: the reader turns frames by the file's rotation
metadata, and the writer, given a rotation, turns them back and records it, so a phone clip
comes out stored and tagged as it went in. Times are kept as the file's own ticks (`pts` in
units of `time_base`), so a variable frame rate survives a read, compute, write loop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import secrets
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from hidt_cli.concurrency import Behind, prefetched
from hidt_cli.io.audio import AudioTrack, open_audio
from hidt_cli.io.container_size import bytes_missing
from hidt_cli.io.errors import OutputExistsError, PathError
from hidt_cli.io.publish import publish

# Some containers (and streams cut from them) give no frame rate; 25 is the PAL rate.
FALLBACK_FPS = 25.0
H264_ENCODERS = ("libx264", "libopenh264")
"""Software H.264 encoders, preferred first: x264 has CRF and fast presets."""
CRF_ENCODERS = frozenset({"libx264", "libx265"})
DEFAULT_CRF = 20
DEFAULT_PRESET = "veryfast"
"""x264's speed/size trade-off. On a 2-core Xeon (benchmarks/bench_video_io.py) it costs
~20 ms of CPU per 720p frame and ~48 ms per 1080p one, a tenth of the networks' budget at 4
and 2 frames/s, while `faster` and `medium` cost 1.8-2x that for no smaller files."""
PREFETCH = 4
"""Frames decoded (or queued for encoding) ahead of the caller."""
END_SLACK_FRAMES = 0.5
"""A clip whose frames stop more than this many frame intervals before the length its
container states was cut short. Measured on clips PyAV writes (tests/test_io_video.py,
test_whole_clips_are_not_taken_for_cut_ones): whole MP4, MOV, MKV and WebM files, with
B-frames, at 10, 29.97 and 60 frames/s, at a variable rate, behind an edit list or beside
longer sound, end within 0.02 of an interval of that length (MKV keeps milliseconds); a file
that lost its last frame is 1 short."""
SHARED_LENGTH_SLACK_S = 0.5
"""Added when the only length known is the container's, which is that of its longest stream:
sound may run on past the last frame (AAC alone pads 21 ms at 48 kHz), so a cut is found
there only to within half a second."""
_BT709 = 1  # AVCOL_SPC_BT709, AVCOL_PRI_BT709, AVCOL_TRC_BT709
_UNTAGGED = 2  # AVCOL_SPC_UNSPECIFIED
_LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG
_SD_HEIGHT = 576


_RECIPE_TAG, _RECIPE_MARK = "comment", "hidt recipe: "
"""Where a clip records how it was made: MP4's comment tag, which players show as text."""


class VideoError(PathError):
    """A video that cannot be read or written."""


class IncompleteVideoError(VideoError):
    """Raised after the last frame that decoded, when the file is cut short or damaged; a
    caller that wants what could be read catches it and keeps going."""

    def __init__(self, path: str | os.PathLike[str], decoded: int, expected: int, why: str) -> None:
        of = f" of {expected}" if expected > decoded else ""
        super().__init__(path, f"truncated or damaged video: decoded {decoded}{of} frames ({why})")
        self.decoded = decoded
        self.expected = expected


class VideoExistsError(VideoError, OutputExistsError):
    """The output video is already there and overwriting was not asked for."""


class EncoderNotFoundError(VideoError):
    """The FFmpeg inside PyAV has no such (or no H.264) encoder."""


@dataclass(frozen=True)
class VideoInfo:
    """What a caller needs to plan the work and write a matching output."""

    fps: float
    """Average frame rate (FALLBACK_FPS when the file gives none)."""
    frame_count: int
    """From the container's index or its duration: an estimate, 0 when unknown."""
    width: int
    """As displayed, i.e. after `rotation`."""
    height: int
    fps_guessed: bool = False
    rotation: int = 0
    """Degrees (0, 90, 180, 270) the stored frames turn counter-clockwise for display."""
    time_base: Fraction = Fraction(1, 1000)
    """Seconds per tick of the frames' `pts`."""
    has_audio: bool = False
    audio_codec: str | None = None
    codec: str = ""


@dataclass(frozen=True)
class Frame:
    """One decoded frame: H×W×3 uint8 RGB as displayed, and when it is shown."""

    rgb: np.ndarray
    pts: int | None
    """In the reader's `info.time_base`; None when the file does not say."""
    index: int
    """Position among all decoded frames, counting the ones a stride skipped."""


class VideoReader:
    """A video opened for streaming: `info` at once, then `frames()` decoded `prefetch`
    frames ahead on a thread (0: on the caller's thread). Damaged packets are skipped; if any
    were, or if the frames stop short of the length the container states (a file cut between
    two packets decodes cleanly up to the cut), IncompleteVideoError follows the last frame.

    Short means fewer frames than `info.frame_count` and evidence of a cut: the frames stop
    before the length the container states (END_SLACK_FRAMES), or the file is smaller than
    its own structure says (io.container_size; this finds B-frames lost before the last
    frame shown). Unchecked: a file that states neither count nor length (a raw stream).
    """

    def __init__(self, path: str | os.PathLike[str], *, prefetch: int = PREFETCH) -> None:
        self.path = Path(path)
        self._prefetch = prefetch
        self._container = _open_input(path)
        self._damage: str | None = None
        self._last_pts: int | None = None
        self._iterator: Iterator[Frame] | None = None
        try:
            self._stream = _video_stream(self._container, path)
            self._stream.thread_type = "AUTO"  # FFmpeg's frame and slice threads
            self._decoded = self._decode()
            first = next(self._decoded, None)
            if first is None:
                if self._damage is None and _stated_length(self._container, self._stream):
                    self._damage = "the file ends before its first frame"
                why = (
                    f"no frame decodes ({self._damage})" if self._damage else "video has no frames"
                )
                raise VideoError(path, why)
            self._first: av.VideoFrame | None = first
            self.info = _describe(self._container, self._stream, first)
        except BaseException:
            self._container.close()
            raise

    def frames(self, *, stride: int = 1, max_frames: int | None = None) -> Iterator[Frame]:
        """Every stride-th frame, at most `max_frames`; one pass per reader."""
        _check_selection(stride, max_frames)
        if self._iterator is not None:
            raise RuntimeError("VideoReader.frames() reads the file once; open it again")
        frames = self._frames(stride, max_frames)
        self._iterator = prefetched(frames, self._prefetch) if self._prefetch else frames
        return self._iterator

    def close(self) -> None:
        """Stop the decoding thread, if any, before the file it reads goes."""
        if self._iterator is not None:
            self._iterator.close()
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _frames(self, stride: int, limit: int | None) -> Iterator[Frame]:
        first, self._first = self._first, None  # do not pin the first frame for the whole run
        kept = index = 0
        for frame in chain([first], self._decoded):
            if index % stride == 0:
                yield Frame(self._rgb(frame), frame.pts, index)
                kept += 1
                if kept == limit:
                    return
            index += 1
        self._check_complete(index)

    def _decode(self) -> Iterator[av.VideoFrame]:
        """The frames that decode; a damaged packet is skipped and remembered, a demuxer that
        cannot go on ends the stream."""
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError as exc:
                self._damage = _reason(exc)
                return
            if packet.is_corrupt:
                self._damage = "a frame's data is cut short"
            try:
                for frame in packet.decode():
                    if frame.pts is not None and (
                        self._last_pts is None or frame.pts > self._last_pts
                    ):
                        self._last_pts = frame.pts
                    yield frame
            except av.FFmpegError as exc:
                self._damage = _reason(exc)

    def _rgb(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = frame.to_ndarray(format="rgb24", src_colorspace=_matrix(frame))
        turns = self.info.rotation // 90
        return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb

    def _check_complete(self, decoded: int) -> None:
        expected = self.info.frame_count
        if self._damage is not None:
            raise IncompleteVideoError(self.path, decoded, expected, self._damage)
        if decoded < expected and (why := self._why_short()):
            raise IncompleteVideoError(self.path, decoded, expected, why)

    def _why_short(self) -> str | None:
        """Fewer frames decoded than the file counts is no damage by itself (an edit list
        hides some, and a count from the length is an estimate at a variable rate): it is,
        when the frames stop short of the stated length or the file of its stated size."""
        stream, fps = self._stream, self.info.fps
        stated = _stated_length(self._container, stream)
        if stated is not None and self._last_pts is not None:
            start, length, shared = stated
            reached = float(self._last_pts * stream.time_base) + 1 / fps  # the last frame's end
            slack = END_SLACK_FRAMES / fps + (SHARED_LENGTH_SLACK_S if shared else 0.0)
            if start + length - reached > slack:
                return f"its frames stop at {reached - start:.2f} s of the {length:.2f} s it states"
        missing = bytes_missing(self.path)
        return f"the file is cut short: {missing} bytes of it are missing" if missing else None


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Check that a video opens and its first frame decodes; count its frames when the file
    does not say how many it has."""
    with VideoReader(path, prefetch=0) as reader:
        info = reader.info
    if info.frame_count > 0:
        return info
    return dataclasses.replace(info, frame_count=_count_packets(path))


def read_frames(
    path: str | os.PathLike[str], *, stride: int = 1, max_frames: int | None = None
) -> Iterator[np.ndarray]:
    """Yield every stride-th frame as RGB uint8 H×W×3; opening errors raise now, not when used."""
    _check_selection(stride, max_frames)
    reader = VideoReader(path)
    return _arrays(reader, reader.frames(stride=stride, max_frames=max_frames))


def _arrays(reader: VideoReader, frames: Iterator[Frame]) -> Iterator[np.ndarray]:
    with reader:
        for frame in frames:
            yield frame.rgb


def read_video_recipe(path: str | os.PathLike[str]) -> str | None:
    """The recipe VideoWriter recorded in a clip (from its header; None when it has none)."""
    try:
        with av.open(os.fspath(path)) as container:
            tag = container.metadata.get(_RECIPE_TAG, "")
    except (OSError, av.FFmpegError):
        return None
    return tag[len(_RECIPE_MARK) :] if tag.startswith(_RECIPE_MARK) else None


def h264_encoders() -> list[str]:
    """The H.264 encoders in PyAV's FFmpeg (hardware ones need their device to open)."""
    names = set()
    for name in av.codecs_available:
        codec = _encoder_or_none(name)
        if codec is not None and codec.canonical_name == "h264" and codec.name != "libx264rgb":
            names.add(codec.name)
    return sorted(names, key=lambda n: (n not in H264_ENCODERS, n))


class VideoWriter:
    """An H.264 MP4 (yuv420p, `+faststart`: the index before the data, so it plays while it
    downloads) written under a hidden temporary name beside `path` and renamed into place only
    when closed cleanly (io.publish: without `overwrite`, never over a file that appeared
    meanwhile: VideoExistsError); on an error or Ctrl-C the temporary file is removed.

    `size` is (width, height) as displayed. An odd side is padded by repeating the last row or
    column, since 4:2:0 needs even sides. Frames get the `pts` given to `write` (in
    `time_base`; the first becomes 0) or, without one, follow at `fps`. `rotation` records the
    source's display rotation and stores the frames turned back as the source did. With
    `audio_from`, that file's first audio stream is copied (see hidt_cli.io.audio) up to the
    end of the video. With `background`, frames are converted and encoded on a thread at most
    PREFETCH frames behind `write`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        size: tuple[int, int],
        overwrite: bool = False,
        *,
        crf: int = DEFAULT_CRF,
        codec: str | None = None,
        preset: str = DEFAULT_PRESET,
        time_base: Fraction | None = None,
        rotation: int = 0,
        audio_from: str | os.PathLike[str] | None = None,
        background: bool = True,
        recipe: str | None = None,
    ) -> None:
        _check_settings(fps, size, crf, rotation)
        self.path = Path(path)
        self.size = size
        self.rotation = rotation % 360
        self.notes: list[str] = []
        self.frames_written = 0
        self.overwrite = overwrite
        if not overwrite and os.path.lexists(self.path):
            raise VideoExistsError(self.path)
        self.codec = _pick_encoder(self.path, codec)
        self._rate = Fraction(fps).limit_denominator(1001 * 1000)
        self._time_base = time_base or 1 / self._rate
        self._has_clock = time_base is not None
        self._step = max(1, round(1 / (self._rate * self._time_base)))
        self._origin: int | None = None
        self._last_pts = -1
        self._audio: AudioTrack | None = None
        self._encoder: Behind[None] | None = None
        self._temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp.mp4")
        self._container = self._open_output()
        if recipe is not None:  # how the clip was made, read back by read_video_recipe
            self._container.metadata[_RECIPE_TAG] = f"{_RECIPE_MARK}{recipe}"
        try:
            self._stream = self._add_video(crf, preset)
            if audio_from is not None:
                self._add_audio(audio_from)
            if background:
                self._encoder = Behind(workers=1, depth=PREFETCH, name="hidt-encode")
        except Exception as exc:
            raise self._failure(exc) from exc
        except BaseException:
            self._discard()
            raise

    @classmethod
    def like(
        cls,
        path: str | os.PathLike[str],
        source: VideoReader,
        size: tuple[int, int] | None = None,
        **options: object,
    ) -> VideoWriter:
        """A writer that keeps the source's clock, rotation and sound (unless `options` say
        otherwise); give `write` each frame's `pts`. `size`: when the frames written differ
        from the source's."""
        info = source.info
        kept = {
            "time_base": info.time_base,
            "rotation": info.rotation,
            "audio_from": source.path if info.has_audio else None,
        }
        return cls(path, info.fps, size or (info.width, info.height), **{**kept, **options})

    def write(self, rgb: np.ndarray, pts: int | None = None) -> None:
        """Append one displayed RGB frame; `pts` (in `time_base`) not after the previous one
        is moved one tick past it, since the encoder needs increasing times."""
        if pts is not None and not self._has_clock:
            raise ValueError("a frame's pts needs the time_base it counts in (time_base=...)")
        width, height = self.size
        if rgb.dtype != np.uint8 or rgb.shape != (height, width, 3):
            raise ValueError(
                f"expected a {height}×{width}×3 uint8 frame, got {rgb.dtype} with shape {rgb.shape}"
            )
        frame = av.VideoFrame.from_ndarray(self._stored(rgb), format="rgb24")
        frame.pts = self._next_pts(pts)
        frame.time_base = self._time_base
        try:
            if self._encoder is None:
                self._encode(frame)
            else:
                self._encoder.raise_error()
                self._encoder.submit(None, self._encode, frame)
        except Exception as exc:
            raise self._failure(exc) from exc
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file (flush the encoder, the rest of the sound, the index) and rename it."""
        if self.frames_written == 0:
            self._discard()
            raise VideoError(self.path, "cannot write video (no frames were given)")
        try:
            if self._encoder is not None:
                failed = [error for _, error in self._encoder.drain() if error is not None]
                self._encoder.close()
                if failed:
                    raise failed[0]
            self._container.mux(self._stream.encode(None))
            if self._audio is not None:
                self._audio.finish((self._last_pts + self._step) * self._time_base)
            self._container.close()
            publish(self._temp, self.path, self.overwrite, VideoExistsError)
        except Exception as exc:
            raise self._failure(exc) from exc
        except BaseException:
            self._discard()
            raise

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

    def _open_output(self) -> av.container.OutputContainer:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return av.open(
                os.fspath(self._temp), "w", format="mp4", options={"movflags": "+faststart"}
            )
        except (OSError, av.FFmpegError) as exc:
            with contextlib.suppress(OSError):
                os.unlink(self._temp)
            raise VideoError(self.path, f"cannot write: {_reason(exc)}") from exc

    def _add_video(self, crf: int, preset: str) -> av.video.stream.VideoStream:
        stream = self._container.add_stream(self.codec, rate=self._rate)
        width, height = _even(self._stored_size())
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = self._time_base
        # BT.709, limited range: what the frames are converted with, said so players agree.
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = _BT709
        context.color_range = _LIMITED_RANGE
        if self.codec in CRF_ENCODERS:
            stream.options = {"crf": str(crf), "preset": preset}
        else:
            self.notes.append(f"video: --crf does not apply to {self.codec}; its defaults are used")
        if self.rotation:
            stream.set_display_rotation(self.rotation)
        return stream

    def _add_audio(self, source: str | os.PathLike[str]) -> None:
        try:
            self._audio, note = open_audio(source, self._container)
        except av.FFmpegError as exc:
            raise VideoError(source, f"cannot read its audio ({_reason(exc)})") from exc
        if note is not None:
            self.notes.append(note)

    def _stored_size(self) -> tuple[int, int]:
        width, height = self.size
        return (height, width) if self.rotation in (90, 270) else (width, height)

    def _stored(self, rgb: np.ndarray) -> np.ndarray:
        """The frame as the file stores it: turned back by the rotation, sides made even."""
        if self.rotation:
            rgb = np.rot90(rgb, -(self.rotation // 90))
        height, width = rgb.shape[:2]
        if width % 2 or height % 2:
            rgb = np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        return np.ascontiguousarray(rgb)

    def _next_pts(self, pts: int | None) -> int:
        """Output ticks of the next frame; the first frame given sets the origin."""
        if self._origin is None:
            self._origin = pts or 0
            if self._audio is not None:
                self._audio.start(None if pts is None else pts * self._time_base)
        wanted = self._last_pts + self._step if pts is None else pts - self._origin
        self._last_pts = max(wanted, self._last_pts + 1)
        return self._last_pts

    def _encode(self, frame: av.VideoFrame) -> None:
        """Convert, encode and write one frame, then the sound that plays until it."""
        yuv = frame.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
        self._container.mux(self._stream.encode(yuv))
        if self._audio is not None:
            self._audio.copy_until(frame.pts * self._time_base)

    def _failure(self, exc: Exception) -> VideoError:
        """Remove the partial file and say why in one line."""
        self._discard()
        if isinstance(exc, VideoError):
            return exc
        return VideoError(self.path, f"cannot write video ({_reason(exc)})")

    def _discard(self) -> None:
        if self._encoder is not None:
            self._encoder.abort()
        with contextlib.suppress(Exception):
            self._container.close()
        if self._audio is not None:
            self._audio.close()
        with contextlib.suppress(OSError):
            os.unlink(self._temp)


def _pick_encoder(path: Path, wanted: str | None) -> str:
    """The encoder's FFmpeg name: `wanted` if it is a video encoder, else the first H.264 one."""
    for name in (wanted,) if wanted else H264_ENCODERS:
        codec = _encoder_or_none(name)
        if codec is not None and codec.type == "video":
            return codec.name
    available = ", ".join(h264_encoders()) or "none"
    if wanted:
        reason = f"no video encoder {wanted!r} in PyAV's FFmpeg (H.264 encoders: {available})"
    else:
        reason = f"no software H.264 encoder in PyAV's FFmpeg (H.264 encoders: {available})"
    raise EncoderNotFoundError(path, reason)


def _encoder_or_none(name: str) -> av.codec.Codec | None:
    try:
        return av.codec.Codec(name, "w")
    except ValueError:  # UnknownCodecError: no such encoder
        return None


def _check_settings(fps: float, size: tuple[int, int], crf: int, rotation: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"video frame size must be positive, got {width}x{height}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be between 0 and 51, got {crf}")
    if rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90 degrees, got {rotation}")


def _check_selection(stride: int, max_frames: int | None) -> None:
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")


def _even(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    return width + width % 2, height + height % 2


def _open_input(path: str | os.PathLike[str]) -> av.container.InputContainer:
    if not os.path.exists(path):
        raise VideoError(path, "no such file")
    if os.path.isdir(path):
        raise VideoError(path, "is a directory")
    try:
        return av.open(os.fspath(path))
    except av.FFmpegError as exc:
        raise VideoError(path, "cannot open as a video") from exc


def _video_stream(container: av.container.InputContainer, path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise VideoError(path, "cannot open as a video (no video stream)")
    return container.streams.video[0]


def _describe(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    first: av.VideoFrame,
) -> VideoInfo:
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else FALLBACK_FPS
    rotation = round(first.rotation / 90) % 4 * 90
    width, height = (
        (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
    )
    audio = container.streams.audio
    return VideoInfo(
        fps=fps,
        frame_count=stream.frames or _count_from_duration(container, stream, fps),
        width=width,
        height=height,
        fps_guessed=not rate,
        rotation=rotation,
        time_base=stream.time_base,
        has_audio=bool(audio),
        audio_codec=audio[0].codec_context.name if audio and audio[0].codec_context else None,
        codec=stream.codec_context.name,
    )


def _count_from_duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, fps: float
) -> int:
    """Frames the stated length allows at the average rate; 0 when the file states none."""
    stated = _stated_length(container, stream)
    return 0 if stated is None else round(stated[1] * fps)


def _stated_length(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> tuple[float, float, bool] | None:
    """(start, length, shared) in seconds: the video stream's own length (MP4/MOV index,
    Matroska's DURATION tag), else the container's (`shared`: that of its longest stream);
    None when the file states none."""
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    if stream.duration:
        return start, float(stream.duration * stream.time_base), False
    tagged = _clock_seconds(stream.metadata.get("DURATION") or stream.metadata.get("duration"))
    if tagged:
        return start, tagged, False
    if container.duration:
        begin = (container.start_time or 0) / av.time_base
        return begin, container.duration / av.time_base, True
    return None


def _clock_seconds(text: str | None) -> float | None:
    """'00:01:02.500000000' (as Matroska writers tag a track's length) → 62.5."""
    try:
        hours, minutes, seconds = (text or "").split(":")
        value = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _count_packets(path: str | os.PathLike[str]) -> int:
    """Video packets in the file (one frame each), counted without decoding."""
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


def _matrix(frame: av.VideoFrame) -> str | None:
    """The YUV matrix of an untagged frame, guessed as players do (BT.709 above SD)."""
    if frame.colorspace != _UNTAGGED:
        return None
    return "itu709" if frame.height > _SD_HEIGHT else "itu601"


def _reason(exc: BaseException) -> str:
    """An FFmpeg error as words, without its errno and call."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def write_frames(
    path: Path,
    batches: Iterator[np.ndarray],
    fps: float,
    *,
    overwrite: bool = False,
    keep: Container[int] = (),
    advance: Callable[[int], None] = lambda n: None,
) -> dict[int, np.ndarray]:
    """Stream frame batches into an MP4 sized by the first batch, encoded on a thread while
    the next batch renders; returns the frames whose indices are in `keep`, by index."""
    first = next(batches)
    kept: dict[int, np.ndarray] = {}
    index = 0
    with VideoWriter(path, fps, (first.shape[2], first.shape[1]), overwrite=overwrite) as writer:
        for batch in chain([first], batches):
            for frame in batch:
                writer.write(frame)
                if index in keep:
                    kept[index] = frame.copy()  # not a view that pins its batch
                index += 1
            advance(len(batch))
    return kept
