"""Command-line options, each declared once: single options as typed aliases, and the groups
that several commands share (model, render, style, output files, report) as dataclasses,
which a command takes as one parameter each (see grouping.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from hidt_cli.io.formats import DEEP_BITS, SUPPORTED_OUTPUT_FORMATS, format_for_path
from hidt_cli.io.output import OutputSettings
from hidt_cli.io.video import DEFAULT_CRF
from hidt_cli.render import RenderSpec

# ------------------------------------------------------------------ single options


def _option(*names: str, help: str, panel: str | None = None, **checks) -> typer.models.OptionInfo:
    """An option's declaration: its names, help, help panel and value checks."""
    return typer.Option(*names, help=help, rich_help_panel=panel, **checks)


Weights = Annotated[
    str | None,
    _option(
        "--weights",
        "-w",
        help="Generator weights: FILE, FOLDER, or hf://owner/repo/file\\[@rev]. Default: shipped.",
        panel="Model",
    ),
]
EnhancerWeights = Annotated[
    str | None,
    _option(
        "--enhancer",
        help="Enhancer (G_enh) weights; default: the one beside the generator.",
        panel="Model",
    ),
]
Device = Annotated[str, _option("--device", help="auto, cpu, cuda, cuda:N or mps.", panel="Model")]
Fp32 = Annotated[
    bool,
    _option(
        "--fp32",
        help="Float32 instead of bf16 (the default on CUDA and on CPUs with native bf16).",
        panel="Model",
    ),
]
InferenceSize = Annotated[
    int,
    _option(
        "--inference-size", help="Shorter side the networks see (multiple of 16).", panel="Model"
    ),
]
Hires = Annotated[
    bool,
    _option(
        "--hires",
        help="High-resolution output through the 16-crop enhancer (4× the inference size).",
        panel="Rendering",
    ),
]
NativeSize = Annotated[
    bool,
    _option(
        "--native-size",
        help="Keep the processing size instead of the input's size.",
        panel="Rendering",
    ),
]
PlainResize = Annotated[
    bool,
    _option(
        "--plain-resize",
        help="Enlarge the translation with a bicubic resize (soft) instead of carrying its light "
        "onto the photo's own detail.",
        panel="Rendering",
    ),
]
StyleImage = Annotated[
    Path | None, _option("--style", "-s", help="Take the style from this image.", panel="Style")
]
Preset = Annotated[
    str | None,
    _option(
        "--preset", "-p", help="A named style of the weights (see 'hidt styles').", panel="Style"
    ),
]
StyleCode = Annotated[
    str | None,
    _option(
        "--style-code", help="A style code 'a,b,c' (write --style-code=-0.5,-1,-1).", panel="Style"
    ),
]
Seed = Annotated[
    int | None, _option("--seed", help="Seed for styles sampled from the prior.", panel="Style")
]
Guide = Annotated[
    Path | None,
    _option(
        "--guide",
        "-g",
        help="Videos: take each frame's style from this video's frame at the same moment.",
        panel="Style",
    ),
]
Format = Annotated[
    str | None,
    _option(
        "--format",
        "-f",
        help=f"{', '.join(SUPPORTED_OUTPUT_FORMATS)}; default: the input's (a RAW gives tiff).",
        panel="Output",
    ),
]
Quality = Annotated[
    int,
    _option("--quality", help="JPEG/WebP/AVIF/HEIC quality.", panel="Output", min=1, max=100),
]
BitDepth = Annotated[
    int | None,
    _option(
        "--bit-depth",
        help="8 or 16 bits per channel; default: the input's where the format holds it "
        "(16 in png and tiff, 10 in heic and avif).",
        panel="Output",
    ),
]
StripMetadata = Annotated[
    bool,
    _option(
        "--strip-metadata",
        help="Leave out EXIF and XMP (camera, date, GPS) for sharing; the colour profile stays.",
        panel="Output",
    ),
]
Overwrite = Annotated[bool, _option("--overwrite", help="Replace existing outputs.")]
OutputDir = Annotated[
    Path | None,
    _option("--output-dir", "-d", help="Folder for outputs; default: next to the input."),
]
Crf = Annotated[
    int,
    _option(
        "--crf",
        help="Videos: H.264 quality, 0 (lossless) to 51; lower is better, larger.",
        panel="Video",
        min=0,
        max=51,
    ),
]
VideoCodec = Annotated[
    str | None,
    _option(
        "--video-codec",
        help="Videos: FFmpeg encoder name (default: libx264, else libopenh264).",
        panel="Video",
    ),
]
AsJson = Annotated[bool, _option("--json", help="Print a JSON report on stdout.")]
Quiet = Annotated[bool, _option("--quiet", "-q", help="No progress bars or summaries.")]
Debug = Annotated[bool, _option("--debug", help="Show tracebacks on errors.")]


# ------------------------------------------------------------------ groups


@dataclass(frozen=True)
class GeneratorOptions:
    """Which generator weights, on which device, at which precision and size."""

    weights: Weights = None
    device: Device = "auto"
    fp32: Fp32 = False
    inference_size: InferenceSize = 256

    @property
    def enhancer(self) -> str | None:
        return None


@dataclass(frozen=True)
class ModelOptions(GeneratorOptions):
    """The generator's options and the enhancer's weights."""

    enhancer: EnhancerWeights = None


@dataclass(frozen=True)
class RenderOptions:
    """How a translation reaches its output size."""

    hires: Hires = False
    native_size: NativeSize = False
    plain_resize: PlainResize = False

    def spec(self, inference_size: int) -> RenderSpec:
        return RenderSpec(self.hires, inference_size, self.native_size, self.plain_resize)


@dataclass(frozen=True)
class StyleOptions:
    """A style named by an image, a preset or a code (at most one)."""

    style: StyleImage = None
    preset: Preset = None
    style_code: StyleCode = None

    def given(self, random: int | None = None) -> list[str]:
        """The style options given (with the command's --random, where it has one)."""
        named = {
            "--style": self.style,
            "--preset": self.preset,
            "--style-code": self.style_code,
            "--random": random,
        }
        return [name for name, value in named.items() if value is not None]


@dataclass(frozen=True)
class FileOptions:
    """How result files are written (format, quality, replacing)."""

    fmt: Format = None
    quality: Quality = 95
    bit_depth: BitDepth = None
    strip_metadata: StripMetadata = False
    overwrite: Overwrite = False

    def settings(self, default_fmt: str | None = None) -> OutputSettings:
        """What the writer needs of these options; ValueError (a usage error) for a format or
        depth that cannot be, before any work."""
        fmt = default_fmt
        if self.fmt is not None:
            try:  # jpeg → jpg, tif → tiff, heif → heic
                fmt = format_for_path(f"name.{self.fmt.lower().lstrip('.')}")
            except ValueError:
                raise ValueError(
                    f"--format {self.fmt}: use one of {', '.join(SUPPORTED_OUTPUT_FORMATS)}"
                ) from None
        if self.bit_depth not in (None, 8, 16):
            raise ValueError(f"--bit-depth {self.bit_depth}: use 8 or 16")
        if self.bit_depth == 16 and fmt is not None and fmt not in DEEP_BITS:
            raise ValueError(
                f"--bit-depth 16: {fmt} holds 8 bits; use --format png, tiff, heic or avif"
            )
        return OutputSettings(
            fmt, self.quality, self.overwrite, self.bit_depth, self.strip_metadata
        )


@dataclass(frozen=True)
class VideoOptions:
    """How translated clips are encoded."""

    crf: Crf = DEFAULT_CRF
    video_codec: VideoCodec = None


@dataclass(frozen=True)
class ReportOptions:
    """What the command prints."""

    as_json: AsJson = False
    quiet: Quiet = False
    debug: Debug = False


@dataclass(frozen=True)
class RenderJob:
    """What a command that renders photos into files takes: how results are rendered and
    written, with which model, and what it prints."""

    render: RenderOptions
    files: FileOptions
    model: ModelOptions
    report: ReportOptions

    @property
    def spec(self) -> RenderSpec:
        return self.render.spec(self.model.inference_size)

    @property
    def enhancer_for(self) -> str | None:
        """What needs enhancer weights in this job, if anything (see common.load_model)."""
        return "--hires" if self.render.hires else None
