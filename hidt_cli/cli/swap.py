"""`hidt swap`: photos trade their times of day; with three or more, an N×N grid of every
content in every style (rows: content, columns: style), as in the HiDT paper's Figure 6."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer

from hidt_cli import sheets
from hidt_cli.cli import common
from hidt_cli.cli.common import EXIT_INPUT, fail
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import (
    RenderJob,
)
from hidt_cli.io.images import LoadedImage, format_for_path
from hidt_cli.io.output import OutputSettings, save_result, sheet_cell, source_pixels
from hidt_cli.io.paths import InputItem, expand_inputs, find_collisions, output_path
from hidt_cli.model import HiDT
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import RenderSpec, batch_size

GRID_NAME = "swap_grid.png"
Grid = Annotated[bool, typer.Option("--grid", help="Also write the grid for two photos.")]


@dataclass
class Plan:
    """Every output named before any work: (content, style) → file, and the grid if any."""

    pairs: dict[tuple[int, int], Path]
    grid: Path | None

    @property
    def outputs(self) -> list[Path]:
        return [*self.pairs.values(), *([self.grid] if self.grid else [])]


@grouped
def swap(
    inputs: Annotated[
        list[str], typer.Argument(help="Two or more photos (files, folders or globs).")
    ],
    *,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-d", help="Folder for outputs; default: the current one."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help=f"File for the grid (implies --grid); default: {GRID_NAME}."
        ),
    ] = None,
    grid: Grid = False,
    job: RenderJob,
) -> None:
    """Swap styles: two photos trade times of day (A_as_B, B_as_A); three or more give an
    N×N grid with each photo's content in every photo's style."""
    report = job.report
    with common.reported_errors(report.debug):
        settings = job.files.settings()
        items = _items(inputs)
        plan = _plan(items, output_dir or Path("."), output, grid, settings.fmt)
        common.refuse_existing(plan.outputs, settings.overwrite)
        photos = [common.read_photo(item.path, report.quiet) for item in items]
        loaded = common.load_model(job.model, enhancer_for=job.enhancer_for)
        spec = job.spec
        labels = [item.path.stem for item in items]
        written = _run(loaded, photos, labels, plan, spec, settings, report.quiet)
        common.note(f"wrote {', '.join(map(str, written))}", report.quiet)
        if report.as_json:
            common.print_json([str(path) for path in written])


def _items(specs: list[str]) -> list[InputItem]:
    items, problems = expand_inputs(specs)
    if problems:
        fail(problems[0], EXIT_INPUT)
    if any(item.is_stdin for item in items):
        fail("swap reads files, not stdin")
    if len(items) < 2:
        fail("swap needs at least two different photos")
    return items


def _plan(
    items: list[InputItem], output_dir: Path, output: Path | None, grid: bool, fmt: str | None
) -> Plan:
    """Two photos get both swapped files; a grid comes with --grid, -o or three photos or more."""
    pairs = {}
    if len(items) == 2:
        for i, j in ((0, 1), (1, 0)):
            suffix = f"_as_{items[j].path.stem}"
            pairs[i, j] = output_path(
                items[i], output=None, output_dir=output_dir, suffix=suffix, fmt=fmt
            )
    grid_path = None
    if grid or output is not None or len(items) > 2:
        grid_path = output or output_dir / GRID_NAME
        format_for_path(grid_path)
    plan = Plan(pairs, grid_path)
    clashes = find_collisions([(items[0], path) for path in plan.outputs])
    if clashes:
        fail(f"{next(iter(clashes))}: two outputs would get this name; rename an input or use -o")
    inputs = {os.path.realpath(item.path) for item in items}
    for path in plan.outputs:
        if os.path.realpath(path) in inputs:
            fail(f"{path}: output would overwrite an input")
    return plan


def _run(
    model: HiDT,
    photos: list[LoadedImage],
    labels: list[str],
    plan: Plan,
    spec: RenderSpec,
    settings: OutputSettings,
    quiet: bool,
) -> list[Path]:
    """Style codes once, then each content encoded once and decoded with the other styles."""
    n = len(photos)
    tensors = [photo_tensor(source_pixels(p), model.device) for p in photos]
    eight = [photo_tensor(p.rgb, model.device) for p in photos]
    codes = torch.cat([model.styles_of_images(t, spec.inference_size) for t in eight])
    cell_height = min(sheets.MAX_CELL_HEIGHT, max(p.rgb.shape[0] for p in photos))
    cells: list[list[np.ndarray | None]] = [[None] * n for _ in range(n)]
    written: list[Path] = []
    chunk = batch_size(model.device, hires=spec.hires, styles=n - 1)
    with common.progress(quiet) as bar:
        task = bar.add_task("swapping", total=n)
        for i, photo in enumerate(photos):
            others = [j for j in range(n) if j != i]
            out = np.concatenate(list(model.render(tensors[i], codes[others], spec, chunk)))
            for k, j in enumerate(others):
                if (i, j) in plan.pairs:
                    save_result(plan.pairs[i, j], out[k], photo, settings)
                    written.append(plan.pairs[i, j])
                if plan.grid:
                    cells[i][j] = sheets.fit_height(sheet_cell(out[k], photo), cell_height)
            cells[i][i] = sheet_cell(photo.rgb, photo)
            bar.advance(task)
    if plan.grid:
        picture = _grid(photos, labels, cells, cell_height)
        save_result(
            plan.grid, picture, None, OutputSettings(None, settings.quality, settings.overwrite)
        )
        written.append(plan.grid)
    return written


def _grid(
    photos: list[LoadedImage],
    labels: list[str],
    cells: list[list[np.ndarray | None]],
    cell_height: int,
) -> np.ndarray:
    """A header row of the style photos and a header column of the content photos around the
    N×N results, whose diagonal holds the originals."""
    n = len(photos)
    originals = [sheet_cell(p.rgb, p) for p in photos]
    rows = [[None, *originals]]
    rows += [[original, *row] for original, row in zip(originals, cells, strict=True)]
    captions = [["", *(f"style: {label}" for label in labels)]]
    captions += [
        [f"content: {labels[i]}", *("original" if j == i else "" for j in range(n))]
        for i in range(n)
    ]
    return sheets.grid(rows, captions=captions, cell_height=cell_height)
