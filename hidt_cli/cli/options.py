"""Command-line options, each declared once: single options as typed aliases, and the groups
that several commands share (model, render, style, output files, report) as dataclasses.
A command takes a group as one parameter; `@grouped` spreads the group's fields into the
command's signature for Typer and gathers them back into the dataclass for the command."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from hidt_cli.io.video import DEFAULT_CRF
from hidt_cli.render import RenderSpec

F = TypeVar("F", bound=Callable[..., None])


def grouped(command: F) -> F:
    """Let `command` take option groups (dataclasses whose fields are Typer options) as
    parameters: Typer sees the fields as options, the command receives the dataclasses."""
    hints = typing.get_type_hints(command, include_extras=True)
    parameters, groups = [], {}
    for parameter in inspect.signature(command).parameters.values():
        kind = hints.get(parameter.name)
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            groups[parameter.name] = kind
            fields = typing.get_type_hints(kind, include_extras=True)
            parameters += [
                inspect.Parameter(
                    f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default
                ).replace(annotation=fields[f.name])
                for f in dataclasses.fields(kind)
            ]
        else:
            parameters.append(parameter.replace(annotation=kind))
    # keyword-only, so that any order is valid: Typer passes every option by name
    parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters]

    @functools.wraps(command)
    def wrapper(**options):
        for name, kind in groups.items():
            options[name] = kind(**{f.name: options.pop(f.name) for f in dataclasses.fields(kind)})
        return command(**options)

    wrapper.__signature__ = inspect.Signature(parameters)
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__  # Typer must read the spread signature, not the command's
    return wrapper  # type: ignore[return-value]


# ------------------------------------------------------------------ single options

Weights = Annotated[
    str | None,
    typer.Option(
        "--weights",
        "-w",
        help="Generator weights: FILE, FOLDER, or hf://owner/repo/file\\[@rev]. Default: shipped.",
        rich_help_panel="Model",
    ),
]
EnhancerWeights = Annotated[
    str | None,
    typer.Option(
        "--enhancer",
        help="Enhancer (G_enh) weights; default: the one beside the generator.",
        rich_help_panel="Model",
    ),
]
Device = Annotated[
    str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.", rich_help_panel="Model")
]
Fp32 = Annotated[
    bool,
    typer.Option(
        "--fp32",
        help="Float32 instead of bf16 (the default on CUDA and on CPUs with native bf16).",
        rich_help_panel="Model",
    ),
]
InferenceSize = Annotated[
    int,
    typer.Option(
        "--inference-size",
        help="Shorter side the networks see (multiple of 16).",
        rich_help_panel="Model",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print a JSON report on stdout.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")]
Seed = Annotated[
    int | None,
    typer.Option("--seed", help="Seed for styles sampled from the prior.", rich_help_panel="Style"),
]
Guide = Annotated[
    Path | None,
    typer.Option(
        "--guide",
        "-g",
        help="Videos: take each frame's style from this video's frame at the same moment.",
        rich_help_panel="Style",
    ),
]
OutputDir = Annotated[
    Path | None,
    typer.Option("--output-dir", "-d", help="Folder for outputs; default: next to the input."),
]


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

    hires: Annotated[
        bool,
        typer.Option(
            "--hires",
            help="High-resolution output through the 16-crop enhancer (4× the inference size).",
            rich_help_panel="Rendering",
        ),
    ] = False
    native_size: Annotated[
        bool,
        typer.Option(
            "--native-size",
            help="Keep the processing size instead of the input's size.",
            rich_help_panel="Rendering",
        ),
    ] = False
    plain_resize: Annotated[
        bool,
        typer.Option(
            "--plain-resize",
            help="Enlarge the translation with a bicubic resize (soft) instead of carrying its "
            "light onto the photo's own detail.",
            rich_help_panel="Rendering",
        ),
    ] = False

    def spec(self, inference_size: int) -> RenderSpec:
        return RenderSpec(self.hires, inference_size, self.native_size, self.plain_resize)


@dataclass(frozen=True)
class StyleOptions:
    """A style named by an image, a preset or a code (at most one)."""

    style: Annotated[
        Path | None,
        typer.Option(
            "--style", "-s", help="Take the style from this image.", rich_help_panel="Style"
        ),
    ] = None
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            "-p",
            help="A named style of the weights (see 'hidt styles').",
            rich_help_panel="Style",
        ),
    ] = None
    style_code: Annotated[
        str | None,
        typer.Option(
            "--style-code",
            help="A style code 'a,b,c' (write --style-code=-0.5,-1,-1).",
            rich_help_panel="Style",
        ),
    ] = None


@dataclass(frozen=True)
class FileOptions:
    """How result files are written (format, quality, replacing)."""

    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="jpg, png or webp; default: the input's.",
            rich_help_panel="Output",
        ),
    ] = None
    quality: Annotated[
        int,
        typer.Option(
            "--quality", min=1, max=100, help="JPEG/WebP quality.", rich_help_panel="Output"
        ),
    ] = 95
    overwrite: Overwrite = False


@dataclass(frozen=True)
class ReportOptions:
    """What the command prints."""

    as_json: AsJson = False
    quiet: Quiet = False
    debug: Debug = False


@dataclass(frozen=True)
class VideoOptions:
    """How translated clips are encoded."""

    crf: Annotated[
        int,
        typer.Option(
            "--crf",
            min=0,
            max=51,
            help="Videos: H.264 quality, 0 (lossless) to 51; lower is better, larger.",
            rich_help_panel="Video",
        ),
    ] = DEFAULT_CRF
    video_codec: Annotated[
        str | None,
        typer.Option(
            "--video-codec",
            help="Videos: FFmpeg encoder name (default: libx264, else libopenh264).",
            rich_help_panel="Video",
        ),
    ] = None
