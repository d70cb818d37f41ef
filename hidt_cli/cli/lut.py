"""`hidt lut`: the look of a photo's translation as a global 3D LUT (.cube, and a Hald CLUT
image), for editors that grade with LUTs — DaVinci Resolve, Premiere, Photoshop, ffmpeg,
darktable, ImageMagick."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import ModelOptions, Overwrite, ReportOptions, StyleOptions
from hidt_cli.io.output import source_pixels
from hidt_cli.lut import fit_lut, write_cube, write_hald
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import RenderSpec


@grouped
def lut(
    photo: Annotated[Path, typer.Argument(help="The photo whose translation the LUT carries.")],
    *,
    style: StyleOptions,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The .cube file; default: <photo>_<style>.cube."),
    ] = None,
    size: Annotated[
        int, typer.Option("--size", min=2, max=65, help="Lattice points per axis of the .cube.")
    ] = 33,
    hald: Annotated[
        Path | None,
        typer.Option(
            "--hald", help="Also write the look as a Hald CLUT PNG (ImageMagick, darktable)."
        ),
    ] = None,
    hald_level: Annotated[
        int,
        typer.Option(
            "--hald-level", min=2, max=16, help="Hald level L: an L³×L³ image of L² per axis."
        ),
    ] = 8,
    overwrite: Overwrite = False,
    model: ModelOptions,
    report: ReportOptions,
) -> None:
    """Fit a global 3D LUT that takes the photo's colours to its translation's, written as a
    .cube; where the photo has no colours it is extrapolated smoothly."""
    with common.reported_errors(report.debug):
        common.check_style_request(style)
        target = output or photo.with_name(f"{photo.stem}_{_label(style)}.cube")
        if target.suffix.lower() != ".cube":
            fail(f"{target}: the LUT is written as a .cube file; give it that extension")
        if hald is not None and hald.suffix.lower() != ".png":
            fail(f"{hald}: a Hald CLUT is written as a PNG; give it the .png extension")
        common.refuse_existing([p for p in (target, hald) if p is not None], overwrite)
        loaded = common.read_photo(photo, report.quiet)
        net = common.load_model(model)
        choice = common.choose_style(net, style, inference_size=model.inference_size)
        with common.progress(report.quiet, transient=True) as bar:
            bar.add_task("translating and fitting", total=None)
            pixels = source_pixels(loaded)
            spec = RenderSpec(inference_size=model.inference_size)
            translated = next(net.render(photo_tensor(pixels, net.device), choice.codes, spec))[0]
            look = fit_lut(pixels, translated, size)
        write_cube(
            target, look, title=f"hidt {choice.labels[0]} of {photo.name}", overwrite=overwrite
        )
        written = [target]
        if hald is not None:
            write_hald(hald, look, hald_level, overwrite=overwrite)
            written.append(hald)
        common.note(f"wrote {', '.join(map(str, written))}", report.quiet)
        if report.as_json:
            common.print_json({"input": str(photo), "outputs": [str(p) for p in written]})


def _label(style: StyleOptions) -> str:
    """The default file's label: the preset's or style image's name, else the code."""
    if style.preset is not None:
        return style.preset
    if style.style is not None:
        return style.style.stem
    return "code" + (style.style_code or "").replace(",", "_").replace(" ", "")
