"""The sound of a source video carried into an MP4 as it is written: packets copied unchanged
(no loss, no time) when MP4 can hold the codec, otherwise decoded and encoded again as AAC,
so that a camera's PCM or a WebM's Vorbis track is kept rather than dropped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction

import av
from av.container import InputContainer, OutputContainer

MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"})
"""Audio codecs FFmpeg's MP4 muxer stores as they are."""
REENCODE_CODEC = "aac"
REENCODE_BIT_RATE = 192_000


class AudioTrack:
    """The first audio stream of a source, streamed into an output MP4 alongside the video.

    Times given to it are seconds of the output; `start(origin)` says which source time the
    output's zero is (the first video frame), so sound before it is dropped and the rest
    keeps its sync. It must be created before the output's first packet is written.
    """

    def __init__(self, source: InputContainer, output: OutputContainer) -> None:
        self._source = source
        self._output = output
        self._input = source.streams.audio[0]
        self.copied = self._input.codec_context.name in MP4_AUDIO_CODECS
        self.note: str | None = None
        if self.copied:
            self._stream = output.add_stream_from_template(self._input)
        else:
            self._stream = _aac_stream(output, self._input)
            self.note = (
                f"audio: {self._input.codec_context.name} cannot go into MP4; "
                f"re-encoded as AAC at {REENCODE_BIT_RATE // 1000} kbit/s"
            )
        self._origin = Fraction(0)
        self._units = self._timed_units()
        self._pending: av.Packet | av.AudioFrame | None = None
        self._lead: av.Packet | av.AudioFrame | None = None

    def start(self, origin: Fraction | None) -> None:
        """Map source time `origin` (seconds) to 0; None: the source video's start."""
        self._origin = _video_start(self._source) if origin is None else origin

    def copy_until(self, seconds: Fraction) -> None:
        """Write the sound that starts before `seconds` of output time. Of the sound before
        the origin only the last unit is kept: the decoder needs it to warm up (AAC's first
        packet is such a one), and MP4's edit list hides it."""
        while True:
            if self._pending is None:
                self._pending = next(self._units, None)
            unit = self._pending
            if unit is None or self._start_of(unit) >= seconds:
                return
            self._pending = None
            if self._start_of(unit) < 0:
                self._lead = unit
                continue
            if self._lead is not None:
                self._write(self._lead)
                self._lead = None
            self._write(unit)

    def finish(self, seconds: Fraction) -> None:
        """Write the sound up to `seconds`, drop the rest and flush the encoder."""
        self.copy_until(seconds)
        if not self.copied:
            self._output.mux(self._stream.encode(None))
        self.close()

    def close(self) -> None:
        self._source.close()

    def _timed_units(self) -> Iterator[av.Packet | av.AudioFrame]:
        """Packets (copying) or decoded frames (re-encoding) that carry a time."""
        for packet in self._source.demux(self._input):
            if not self.copied:
                yield from (frame for frame in packet.decode() if frame.pts is not None)
            elif packet.pts is not None:  # not the demuxer's closing empty packet
                yield packet

    def _start_of(self, unit: av.Packet | av.AudioFrame) -> Fraction:
        return unit.pts * unit.time_base - self._origin

    def _write(self, unit: av.Packet | av.AudioFrame) -> None:
        """Shift onto the output's clock and write."""
        shift = round(self._origin / unit.time_base)
        unit.pts -= shift
        if self.copied:
            if unit.dts is not None:
                unit.dts -= shift
            unit.stream = self._stream
            self._output.mux(unit)
        else:
            self._output.mux(self._stream.encode(unit))


def open_audio(
    source: str | os.PathLike[str], output: OutputContainer
) -> tuple[AudioTrack | None, str | None]:
    """The source's first audio stream added to `output` (None when there is none to carry),
    and a note for the user when the sound is changed or dropped."""
    container = av.open(os.fspath(source))
    streams = container.streams.audio
    if streams and streams[0].codec_context is not None:
        track = AudioTrack(container, output)
        return track, track.note
    container.close()
    return None, ("audio: no decoder for the source's sound; dropped" if streams else None)


def _aac_stream(output: OutputContainer, source: av.audio.stream.AudioStream):
    rate = source.codec_context.sample_rate
    stream = output.add_stream(REENCODE_CODEC, rate=rate)
    stream.codec_context.layout = _aac_layout(source.codec_context.layout)
    stream.codec_context.time_base = Fraction(1, rate)  # the encoder refuses any other
    stream.codec_context.bit_rate = REENCODE_BIT_RATE
    return stream


def _aac_layout(layout: av.AudioLayout) -> av.AudioLayout | str:
    """AAC takes named layouts only; an unnamed one ("2 channels") becomes mono or stereo."""
    if not layout.name.endswith("channels"):
        return layout
    return "mono" if layout.nb_channels == 1 else "stereo"


def _video_start(container: InputContainer) -> Fraction:
    """Seconds at which the source's video starts; 0 when unknown."""
    for stream in container.streams.video:
        if stream.start_time is not None:
            return stream.start_time * stream.time_base
    return Fraction(0)
