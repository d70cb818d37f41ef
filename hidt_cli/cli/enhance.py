"""`hidt enhance`: one photo rendered at high resolution by the 16-crop enhancer, by the
detail-transfer stage, or by the paper's baselines (Figure 10; baselines.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer

from hidt_cli import sheets
from hidt_cli.baselines import Method, render_method
from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import (
    FileOptions,
    ModelOptions,
    ReportOptions,
    StyleOptions,
)
from hidt_cli.io.images import format_for_path
from hidt_cli.io.output import save_result, sheet_cell, source_pixels
from hidt_cli.io.paths import InputItem, output_path
from hidt_cli.model import HiDT
from hidt_cli.ranges import photo_tensor


@grouped
def enhance(
    source: Annotated[
        Path, typer.Argument(metavar="INPUT", help="The photo to render at high resolution.")
    ],
    *,
    style: StyleOptions,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file.")] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-d", help="Folder for the output.")
    ] = None,
    method: Annotated[
        Method, typer.Option("--method", help="How to reach 4× the inference size.")
    ] = Method.generator,
    compare: Annotated[
        bool, typer.Option("--compare", help="All methods side by side, with timings.")
    ] = False,
    native_size: Annotated[
        bool,
        typer.Option("--native-size", help="Keep 4× the inference size instead of the input's."),
    ] = False,
    files: FileOptions,
    model: ModelOptions,
    report: ReportOptions,
) -> None:
    """Render a photo at high resolution (with its own style unless one is given); --format
    defaults to the input's (png for --compare)."""
    with common.reported_errors(report.debug):
        settings = files.settings(default_fmt="png" if compare else None)
        if output is not None and output_dir is not None:
            fail("give either --output or --output-dir, not both")
        target = _target(source, output, output_dir, method, compare, settings.fmt)
        common.refuse_existing([target], settings.overwrite)
        loaded = common.read_photo(source, report.quiet)
        uses_enhancer = compare or method is Method.generator
        needs = "the generator method" if uses_enhancer else None
        net = common.load_model(model, enhancer_for=needs)
        photo = photo_tensor(source_pixels(loaded), net.device)
        code = _style(net, photo_tensor(loaded.rgb, net.device), style, model.inference_size)
        methods = list(Method) if compare else [method]
        renders = _render_all(net, photo, code, methods, model.inference_size, native_size, report)
        if compare:
            cells = [sheet_cell(pixels, None) for _, pixels, _ in renders]
            captions = [f"{m.value} {ms:.0f} ms" for m, _, ms in renders]
            picture = sheets.grid([cells], captions=[captions], cell_height=cells[0].shape[0])
            save_result(target, picture, None, settings)
        else:
            save_result(target, renders[0][1], loaded, settings)
        timings = {m.value: round(ms, 1) for m, _, ms in renders}
        if report.as_json:
            common.print_json(
                {"input": str(source), "output": str(target), "milliseconds": timings}
            )
        text = ", ".join(f"{name} {ms:.0f} ms" for name, ms in timings.items())
        common.note(f"wrote {target} ({text})", report.quiet)


def _target(photo, output, output_dir, method: Method, compare: bool, fmt) -> Path:
    """Name the output before any work, so that a bad name fails fast."""
    if output is not None:
        format_for_path(output)
    suffix = "_compare" if compare else f"_enhanced_{method.value}"
    item = InputItem(photo, Path(photo.name))
    return output_path(item, output=output, output_dir=output_dir, suffix=suffix, fmt=fmt)


def _style(model: HiDT, photo: torch.Tensor, style: StyleOptions, size: int) -> torch.Tensor:
    """The chosen style, or the photo's own so that the render shows resolution, not a new look."""
    choice = common.choose_style(model, style, inference_size=size, required=False)
    if choice is not None:
        return choice.codes
    return model.styles_of_images(photo, size).cpu()


def _render_all(model, photo, code, methods, size, native_size, report: ReportOptions):
    """(method, pixels, milliseconds) of each method, after a warm-up on accelerators so
    timings compare like with like."""
    if model.device.type != "cpu":
        model.translate_tensor(photo, code, inference_size=size)
    renders: list[tuple[Method, np.ndarray, float]] = []
    with common.progress(report.quiet, transient=True) as bar:
        task = bar.add_task("enhancing", total=len(methods))
        for method in methods:
            start = time.perf_counter()
            pixels = render_method(model, method, photo, code, size, native_size)
            if model.device.type == "cuda":
                torch.cuda.synchronize(model.device)
            renders.append((method, pixels, (time.perf_counter() - start) * 1000))
            bar.advance(task)
    return renders
