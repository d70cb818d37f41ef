"""`hidt sample-styles`: one photo in N styles drawn from the prior, to see what the model can
do with it and to find codes worth keeping (--style-code)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer
from rich.table import Table

from hidt_cli import sheets
from hidt_cli.cli import common
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import (
    OutputDir,
    RenderJob,
    Seed,
)
from hidt_cli.io.images import LoadedImage
from hidt_cli.io.output import save_result, sheet_cell, source_pixels
from hidt_cli.io.paths import InputItem, output_path
from hidt_cli.model import HiDT
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import RenderSpec, batch_size
from hidt_cli.styles import sample_prior


@grouped
def sample_styles(
    input: Annotated[Path, typer.Argument(help="The photo to render.")],
    *,
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, help="How many styles to sample.")
    ] = 8,
    seed: Seed = None,
    output_dir: OutputDir = None,
    columns: Annotated[
        int, typer.Option("--columns", min=1, help="Pictures per row of the contact sheet.")
    ] = 4,
    no_sheet: Annotated[
        bool, typer.Option("--no-sheet", help="Do not write the contact sheet.")
    ] = False,
    job: RenderJob,
) -> None:
    """Render a photo with N style codes from the prior (<stem>_prior<i>) and a contact sheet."""
    report = job.report
    with common.reported_errors(report.debug):
        settings = job.files.settings()
        outputs, sheet = _plan(input, output_dir, count, settings.fmt, no_sheet)
        common.refuse_existing([*outputs, *([sheet] if sheet else [])], settings.overwrite)
        photo = common.read_photo(input, report.quiet)
        loaded = common.load_model(job.model, enhancer_for=job.enhancer_for)
        codes = sample_prior(count, seed, loaded.style_dim)
        spec = job.spec
        pixels = _render(loaded, photo, codes, spec, report.quiet)
        for rgb, path in zip(pixels, outputs, strict=True):
            save_result(path, rgb, photo, settings)
        if sheet:
            picture = _sheet(photo, pixels, codes, columns)
            save_result(sheet, picture, None, replace(settings, fmt=None))
        records = [
            {"index": i, "code": code.tolist(), "output": str(path)}
            for i, (code, path) in enumerate(zip(codes, outputs, strict=True))
        ]
        if not report.quiet:
            common.stderr.print(_table(records, seed, sheet))
        if report.as_json:
            common.print_json(records)


def _plan(
    input: Path, output_dir: Path | None, count: int, fmt: str | None, no_sheet: bool
) -> tuple[list[Path], Path | None]:
    """Name the results and the sheet up front (output_path refuses to name one over the input)."""
    item = InputItem(input, Path(input.name))
    outputs = [
        output_path(item, output=None, output_dir=output_dir, suffix=f"_prior{i}", fmt=fmt)
        for i in range(count)
    ]
    sheet = (
        None
        if no_sheet
        else output_path(item, output=None, output_dir=output_dir, suffix="_styles", fmt="png")
    )
    return outputs, sheet


def _render(
    model: HiDT, photo: LoadedImage, codes: torch.Tensor, spec: RenderSpec, quiet: bool
) -> np.ndarray:
    """One content encoding decoded with every code (in batches), at the input's size by default."""
    with common.progress(quiet, transient=True) as bar:
        bar.add_task(f"rendering {len(codes)} styles", total=None)
        image = photo_tensor(source_pixels(photo), model.device)
        chunk = batch_size(model.device, hires=spec.hires, styles=len(codes))
        return np.concatenate(list(model.render(image, codes, spec, chunk)))


def _sheet(photo: LoadedImage, pixels: np.ndarray, codes: torch.Tensor, columns: int) -> np.ndarray:
    captions = ["original", *(sheets.format_code(code.tolist()) for code in codes)]
    cell_height = min(sheets.MAX_CELL_HEIGHT, pixels.shape[1])
    cells = [sheet_cell(image, photo) for image in (photo.rgb, *pixels)]
    return sheets.contact_sheet(cells, captions, columns=columns, cell_height=cell_height)


def _table(records: list[dict], seed: int | None, sheet: Path | None) -> Table:
    """The codes as --style-code values, so that a good one can be reused."""
    title = f"{len(records)} styles from the prior" + (
        f" (seed {seed})" if seed is not None else ""
    )
    table = Table(title=title, caption=f"sheet: {sheet}" if sheet else None)
    table.add_column("#", justify="right")
    table.add_column("--style-code")
    table.add_column("output")
    for record in records:
        table.add_row(
            str(record["index"]), ",".join(f"{v:.4f}" for v in record["code"]), record["output"]
        )
    return table
