"""What every command shares: exit codes, one-line errors, progress bars and notes, model
loading and style selection. Commands parse options (options.py), call the library, report
and exit; the work lives in the library."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

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

from hidt_cli.cli.options import ModelOptions, StyleOptions
from hidt_cli.io.images import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    LoadedImage,
    OutputExistsError,
    read_image,
)
from hidt_cli.io.paths import VIDEO_SUFFIXES
from hidt_cli.io.video import VideoError
from hidt_cli.model import HiDT, load
from hidt_cli.plan import PlannedStyle
from hidt_cli.recipes import code_label, code_text, short_hash
from hidt_cli.render import check_inference_size
from hidt_cli.styles import StyleError, check_random_count, check_seed, sample_prior
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


def read_photo(path: Path, quiet: bool) -> LoadedImage:
    """Read a photo, telling the user what was adjusted (first frame of an animation, …)."""
    loaded = read_image(path)
    for message in loaded.notes:
        note(f"{path}: {message}", quiet)
    return loaded


def refuse_existing(paths: list[Path], overwrite: bool) -> None:
    """Refuse before the work rather than after it, so nothing is half done."""
    for path in paths:
        if not overwrite and os.path.lexists(path):
            fail(f"{path}: exists (use --overwrite)", EXIT_SOME_FAILED)


def load_model(options: ModelOptions, *, enhancer_for: str | None = None) -> HiDT:
    """Load the weights, mapping problems to exit codes; refused early when `enhancer_for`
    (what the command was asked, e.g. "--hires") needs an enhancer the weights lack."""
    check_inference_size(options.inference_size)
    dtype = torch.float32 if options.fp32 else None
    try:
        model = load(options.weights, options.enhancer, device=options.device, dtype=dtype)
    except ValueError as exc:  # a bad --device
        fail(str(exc), EXIT_USAGE)
    if enhancer_for and model.enhancer is None:
        fail(f"{enhancer_for} needs enhancer weights (--enhancer FILE)", EXIT_WEIGHTS)
    return model


@dataclass
class StyleChoice:
    """The style(s) a command applies, each with the name its outputs are labelled with and
    how recipes name it (plan.PlannedStyle)."""

    codes: torch.Tensor  # K×style_dim
    styles: list[PlannedStyle]

    @property
    def labels(self) -> list[str]:
        return [style.label for style in self.styles]


def check_style_request(
    options: StyleOptions, *, random: int | None = None, seed: int | None = None
) -> None:
    """The style options' usage errors, found before any file is read or model loaded."""
    try:
        if random is not None:
            check_random_count(random)
        if seed is not None:
            check_seed(seed)
    except StyleError as exc:
        fail(str(exc))
    if options.style is not None and options.style.suffix.lower() in VIDEO_SUFFIXES:
        fail(
            f"{options.style}: --style takes a photo; to follow a video's light frame by frame, "
            f"give it as --guide {options.style}"
        )


def choose_style(
    model: HiDT,
    options: StyleOptions,
    *,
    random: int | None = None,
    seed: int | None = None,
    inference_size: int = 256,
    required: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> StyleChoice | None:
    """Exactly one of --style, --preset, --style-code, --random → the style codes to apply."""
    given = options.given(random)
    if len(given) > 1:
        fail(f"give only one of {', '.join(given)}")
    if not given:
        if required:
            fail("choose a style: --style IMAGE, --preset NAME, --style-code A,B,C or --random N")
        return None
    styles = model.styles(inference_size)
    if options.style is not None:
        return _image_style(options.style, styles.image(options.style, max_pixels))
    if options.preset is not None:
        code = styles.preset(options.preset)
        planned = PlannedStyle(options.preset, f"{options.preset}:{code_text(code)}")
        return StyleChoice(code, [planned])
    if options.style_code is not None:
        codes = styles.code(options.style_code)
    else:
        codes = sample_prior(random, seed, model.style_dim)
    return StyleChoice(codes, [PlannedStyle(code_label(c), code_text(c)) for c in codes])


def _image_style(path: Path, code: torch.Tensor) -> StyleChoice:
    """A style image's outputs are named after it (<stem>_<style stem>), or after it and its
    content when an output of that name came from another image of the same name."""
    named = f"{path.stem}-{short_hash(path)}"
    return StyleChoice(code, [PlannedStyle(path.stem, f"{named}:{code_text(code)}", named)])


def guide_style(path: Path) -> PlannedStyle:
    """A guide video's outputs: named after it, recorded by its content."""
    named = f"{path.stem}-{short_hash(path)}"
    return PlannedStyle(path.stem, f"guide {named}", named)


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
