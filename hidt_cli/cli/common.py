"""What every command shares: option types, exit codes, one-line errors, progress bars,
model loading and style selection. Commands parse, report and exit; the maths lives in the
pipeline."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import numpy as np
import torch
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from hidt_cli.io.images import (
    DEFAULT_MAX_PIXELS,
    SUPPORTED_OUTPUT_FORMATS,
    ImageError,
    LoadedImage,
    OutputExistsError,
    read_image,
    write_image,
)
from hidt_cli.io.video import VideoError
from hidt_cli.pipeline import (
    HiDT,
    RenderSpec,
    check_inference_size,
    load,
)
from hidt_cli.styles import StyleError, sample_prior
from hidt_cli.weights import WeightsError

# Exit codes (documented in README).
EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_WEIGHTS = 3
EXIT_INPUT = 4
EXIT_INTERRUPTED = 130

stderr = Console(stderr=True, highlight=False, emoji=False)


class CommandError(Exception):
    """An error to report as one line, with the exit code it maps to."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self):  # keep the exit code when raised in a worker process
        return type(self), (str(self), self.code)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    raise CommandError(message, code)


@contextmanager
def reported_errors(debug: bool) -> Iterator[None]:
    """Turn known errors into one line on stderr and an exit code; --debug adds the traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        stderr.print("hidt: interrupted", style="yellow")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001 - every error becomes one readable line
        code, message = _classify(exc)
        if debug:
            traceback.print_exc()
        stderr.print(f"hidt: error: {message}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(code) from None


def _classify(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, CommandError):
        return exc.code, str(exc)
    if isinstance(exc, WeightsError):
        return EXIT_WEIGHTS, str(exc)
    if isinstance(exc, OutputExistsError):
        return EXIT_SOME_FAILED, str(exc)
    if isinstance(exc, (ImageError, VideoError)):
        return EXIT_INPUT, str(exc)
    if isinstance(exc, (StyleError, ValueError)):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return EXIT_INPUT, "out of GPU memory: try a smaller --inference-size (or --batch-size)"
    return 1, f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"


# ------------------------------------------------------------------ shared options

Weights = Annotated[
    str | None,
    typer.Option(
        "--weights",
        "-w",
        help="Generator weights: FILE, FOLDER, or hf://owner/repo/file\\[@rev]. Default: shipped.",
        rich_help_panel="Model",
    ),
]
EnhancerOpt = Annotated[
    str | None,
    typer.Option(
        "--enhancer",
        help="Enhancer (G_enh) weights; default: the one beside the generator.",
        rich_help_panel="Model",
    ),
]
Device = Annotated[
    str,
    typer.Option(help="auto, cpu, cuda, cuda:N or mps.", rich_help_panel="Model"),
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
StyleImage = Annotated[
    Path | None,
    typer.Option("--style", "-s", help="Take the style from this image.", rich_help_panel="Style"),
]
Preset = Annotated[
    str | None,
    typer.Option(
        "--preset",
        "-p",
        help="A named style of the weights (see 'hidt styles').",
        rich_help_panel="Style",
    ),
]
StyleCode = Annotated[
    str | None,
    typer.Option(
        "--style-code",
        help="A style code 'a,b,c' (write --style-code=-0.5,-1,-1).",
        rich_help_panel="Style",
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(help="Seed for styles sampled from the prior.", rich_help_panel="Style"),
]
Hires = Annotated[
    bool,
    typer.Option(
        "--hires",
        help="High-resolution output through the 16-crop enhancer (4× the inference size).",
    ),
]


NativeSize = Annotated[
    bool,
    typer.Option("--native-size", help="Keep the processing size instead of the input's size."),
]
PlainResize = Annotated[
    bool,
    typer.Option(
        "--plain-resize",
        help="Enlarge the translation with a bicubic resize (soft) instead of carrying its light "
        "onto the photo's own detail.",
    ),
]
Format = Annotated[
    str | None, typer.Option("--format", "-f", help="jpg, png or webp; default: the input's.")
]
Quality = Annotated[int, typer.Option(min=1, max=100, help="JPEG/WebP quality.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print a JSON report on stdout.")]


def check_format(fmt: str | None) -> str | None:
    """--format normalised (jpeg → jpg), or a usage error before any work."""
    if fmt is None:
        return None
    fmt = fmt.lower().replace("jpeg", "jpg")
    if fmt not in SUPPORTED_OUTPUT_FORMATS:
        fail(f"--format {fmt}: use one of {', '.join(SUPPORTED_OUTPUT_FORMATS)}")
    return fmt


def check_options(fmt: str | None, inference_size: int) -> str | None:
    """Usage errors found before any file is read or model loaded; returns the --format."""
    check_inference_size(inference_size)
    return check_format(fmt)


def refuse_existing(paths: list[Path], overwrite: bool) -> None:
    """Refuse before the work rather than after it, so nothing is half done."""
    for path in paths:
        if not overwrite and os.path.lexists(path):
            fail(f"{path}: exists (use --overwrite)", EXIT_SOME_FAILED)


@dataclass
class Render:
    """How results are rendered and written, as the command line asked."""

    hires: bool
    inference_size: int
    native_size: bool
    fmt: str | None
    quality: int
    overwrite: bool
    plain_resize: bool = False

    @property
    def spec(self) -> RenderSpec:
        """What the pipeline needs of these choices."""
        return RenderSpec(self.hires, self.inference_size, self.native_size, self.plain_resize)

    @property
    def max_batch(self) -> int:
        """Results decoded at once: a hi-res result is already a batch of 16 crops."""
        return 1 if self.hires else 8

    def write(self, path: Path, rgb: np.ndarray, fmt: str | None, icc: bytes | None = None) -> None:
        """Write atomically with the chosen quality; fmt None takes it from the suffix."""
        write_image(
            path, rgb, fmt=fmt, quality=self.quality, icc_profile=icc, overwrite=self.overwrite
        )


def read_photo(path: Path, quiet: bool) -> LoadedImage:
    """Read a photo, telling the user what was adjusted (first frame of an animation, …)."""
    loaded = read_image(path)
    for message in loaded.notes:
        note(f"{path}: {message}", quiet)
    return loaded


def load_model(
    weights: str | None, enhancer: str | None, device: str, fp32: bool, *, hires: bool = False
) -> HiDT:
    """Load weights, mapping problems to exit codes; refused early when --hires has no enhancer."""
    try:
        model = load(weights, enhancer, device=device, dtype=torch.float32 if fp32 else None)
    except ValueError as exc:  # a bad --device
        fail(str(exc), EXIT_USAGE)
    if hires and model.enhancer is None:
        fail("--hires needs enhancer weights (--enhancer FILE)", EXIT_WEIGHTS)
    return model


@dataclass
class StyleChoice:
    """The style(s) a command applies, each with the name its outputs are suffixed with."""

    codes: torch.Tensor  # K×style_dim
    labels: list[str]


def choose_style(
    model: HiDT,
    *,
    style: Path | None,
    preset: str | None,
    style_code: str | None,
    random: int | None = None,
    seed: int | None = None,
    inference_size: int = 256,
    required: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> StyleChoice | None:
    """Exactly one of --style, --preset, --style-code, --random → the style codes to apply."""
    given = [
        n
        for n, v in (
            ("--style", style),
            ("--preset", preset),
            ("--style-code", style_code),
            ("--random", random),
        )
        if v is not None
    ]
    if len(given) > 1:
        fail(f"give only one of {', '.join(given)}")
    if not given:
        if required:
            fail("choose a style: --style IMAGE, --preset NAME, --style-code A,B,C or --random N")
        return None
    styles = model.styles(inference_size)
    if style is not None:
        return StyleChoice(styles.image(style, max_pixels), [style.stem])
    if preset is not None:
        return StyleChoice(styles.preset(preset), [preset])
    if style_code is not None:
        return StyleChoice(styles.code(style_code), ["style"])
    if random < 1:
        fail("--random needs at least 1 style")
    codes = sample_prior(random, seed, model.style_dim)
    return StyleChoice(codes, [f"random{i}" for i in range(random)])


def progress(quiet: bool, transient: bool = False) -> Progress:
    """A rich progress bar on stderr; disabled by --quiet."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=quiet,
        transient=transient,
    )


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def note(message: str, quiet: bool) -> None:
    """An informational line on stderr unless --quiet."""
    if not quiet:
        stderr.print(message, markup=False, soft_wrap=True)
