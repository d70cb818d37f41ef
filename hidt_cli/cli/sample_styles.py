"""`hidt sample-styles`: one photo in N styles drawn from the prior, to see what the model can
do with it and to find codes worth keeping (--style-code)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer
from rich.table import Table

from hidt_cli import sheets
from hidt_cli.cli import common
from hidt_cli.io.images import LoadedImage
from hidt_cli.io.paths import InputItem, output_path
from hidt_cli.pipeline import HiDT, photo_tensor
from hidt_cli.styles import sample_prior


def sample_styles(
    input: Annotated[Path, typer.Argument(help="The photo to render.")],
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, help="How many styles to sample.")
    ] = 8,
    seed: common.Seed = None,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-d", help="Folder for outputs; default: next to the input."),
    ] = None,
    hires: common.Hires = False,
    native_size: common.NativeSize = False,
    plain_resize: common.PlainResize = False,
    columns: Annotated[int, typer.Option(min=1, help="Pictures per row of the contact sheet.")] = 4,
    no_sheet: Annotated[
        bool, typer.Option("--no-sheet", help="Do not write the contact sheet.")
    ] = False,
    fmt: common.Format = None,
    quality: common.Quality = 95,
    overwrite: common.Overwrite = False,
    inference_size: common.InferenceSize = 256,
    weights: common.Weights = None,
    enhancer: common.EnhancerOpt = None,
    device: common.Device = "auto",
    fp32: common.Fp32 = False,
    as_json: common.AsJson = False,
    quiet: common.Quiet = False,
    debug: common.Debug = False,
) -> None:
    """Render a photo with N style codes from the prior (<stem>_prior<i>) and a contact sheet."""
    with common.reported_errors(debug):
        render = common.Render(
            hires,
            inference_size,
            native_size,
            common.check_options(fmt, inference_size),
            quality,
            overwrite,
            plain_resize,
        )
        outputs, sheet = _plan(input, output_dir, count, render.fmt, no_sheet)
        common.refuse_existing([*outputs, *([sheet] if sheet else [])], overwrite)
        photo = common.read_photo(input, quiet)
        model = common.load_model(weights, enhancer, device, fp32, hires=render.hires)
        codes = sample_prior(count, seed, model.style_dim)
        pixels = _render(model, photo, codes, render, quiet)
        for rgb, path in zip(pixels, outputs, strict=True):
            render.write(path, rgb, render.fmt, photo.icc_profile)
        if sheet:
            render.write(sheet, _sheet(photo.rgb, pixels, codes, columns), None)
        records = [
            {"index": i, "code": code.tolist(), "output": str(path)}
            for i, (code, path) in enumerate(zip(codes, outputs, strict=True))
        ]
        if not quiet:
            common.stderr.print(_table(records, seed, sheet))
        if as_json:
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
    model: HiDT, photo: LoadedImage, codes: torch.Tensor, render: common.Render, quiet: bool
) -> np.ndarray:
    """One content encoding decoded with every code (in batches), at the input's size by default."""
    with common.progress(quiet, transient=True) as bar:
        bar.add_task(f"rendering {len(codes)} styles", total=None)
        image = photo_tensor(photo.rgb, model.device)
        return np.concatenate(list(model.render(image, codes, render.spec, render.max_batch)))


def _sheet(
    original: np.ndarray, pixels: np.ndarray, codes: torch.Tensor, columns: int
) -> np.ndarray:
    captions = ["original", *(sheets.format_code(code.tolist()) for code in codes)]
    cell_height = min(sheets.MAX_CELL_HEIGHT, pixels.shape[1])
    return sheets.contact_sheet(
        [original, *pixels], captions, columns=columns, cell_height=cell_height
    )


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
