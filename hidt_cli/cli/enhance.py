"""`hidt enhance`: one photo rendered at 4× the inference size, by the 16-crop enhancer, by
Lanczos upscaling or by running the generator fully convolutionally (HiDT paper, Figure 10)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer
from PIL import Image

from hidt_cli import sheets
from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.io.images import LoadedImage, fit_alpha, format_for_path, write_image
from hidt_cli.io.paths import InputItem, output_path
from hidt_cli.pipeline import HiDT, resize_pm1, to_tensor_255, to_uint8

UPSCALE = 4


class Method(str, Enum):
    generator = "generator"
    lanczos = "lanczos"
    fullconv = "fullconv"


@dataclass
class Render:
    """One method's result at 4× the inference size, in [−1, 1], with its wall time."""

    method: Method
    images_pm1: torch.Tensor
    milliseconds: float


def enhance(
    source: Annotated[
        Path, typer.Argument(metavar="INPUT", help="The photo to render at high resolution.")
    ],
    style: common.StyleImage = None,
    preset: common.Preset = None,
    style_code: common.StyleCode = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file.")] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-d", help="Folder for the output.")
    ] = None,
    method: Annotated[
        Method, typer.Option(help="How to reach 4× the inference size.")
    ] = Method.generator,
    compare: Annotated[
        bool, typer.Option("--compare", help="All three methods side by side, with timings.")
    ] = False,
    native_size: common.NativeSize = False,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="jpg, png or webp; default: the input's (png for --compare)."
        ),
    ] = None,
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
    """Render a photo at high resolution (with its own style unless one is given)."""
    with common.reported_errors(debug):
        fmt = common.check_format(fmt)
        if output is not None and output_dir is not None:
            fail("give either --output or --output-dir, not both")
        target = _target(source, output, output_dir, method, compare, fmt)
        common.refuse_existing([target], overwrite)
        loaded = common.read_photo(source, quiet)
        model = common.load_model(weights, enhancer, device, fp32)
        if (compare or method is Method.generator) and model.enhancer is None:
            fail(
                "the generator method needs enhancer weights (--enhancer FILE)", common.EXIT_WEIGHTS
            )
        photo = to_tensor_255(loaded.rgb, model.device)
        code = _style(model, photo, style, preset, style_code, inference_size)
        methods = list(Method) if compare else [method]
        renders = _render_all(model, photo, code, methods, inference_size, quiet)
        size = None if native_size else tuple(photo.shape[-2:])
        if compare:
            _write_compare(target, renders, size, fmt, quality, overwrite)
        else:
            _write_one(target, renders[0], size, loaded, fmt, quality, overwrite)
        _report(source, target, renders, as_json, quiet)


def _target(
    photo: Path,
    output: Path | None,
    output_dir: Path | None,
    method: Method,
    compare: bool,
    fmt: str | None,
) -> Path:
    """Name the output before any work, so that a bad name fails fast."""
    if output is not None:
        format_for_path(output)
    suffix = "_compare" if compare else f"_enhanced_{method.value}"
    if compare and fmt is None:
        fmt = "png"  # a comparison is judged pixel by pixel: no lossy default
    item = InputItem(photo, Path(photo.name))
    return output_path(item, output=output, output_dir=output_dir, suffix=suffix, fmt=fmt)


def _style(
    model: HiDT, photo: torch.Tensor, style, preset, style_code, inference_size: int
) -> torch.Tensor:
    """The chosen style, or the photo's own so that the render shows resolution, not a new look."""
    choice = common.choose_style(
        model,
        style=style,
        preset=preset,
        style_code=style_code,
        inference_size=inference_size,
        required=False,
    )
    if choice is not None:
        return choice.codes
    return model.styles_of_images(photo, inference_size).cpu()


def _render_all(
    model: HiDT,
    photo: torch.Tensor,
    code: torch.Tensor,
    methods: list[Method],
    size: int,
    quiet: bool,
) -> list[Render]:
    """Run each method once, after a warm-up on accelerators so timings compare like with like."""
    if model.device.type != "cpu":
        model.translate_tensor(photo, code, inference_size=size)
    renders = []
    with common.progress(quiet, transient=True) as bar:
        task = bar.add_task("enhancing", total=len(methods))
        for method in methods:
            renders.append(_timed(method, model, photo, code, size))
            bar.advance(task)
    return renders


def _timed(
    method: Method, model: HiDT, photo: torch.Tensor, code: torch.Tensor, size: int
) -> Render:
    start = time.perf_counter()
    images = RENDERERS[method](model, photo, code, size)
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    return Render(method, images, (time.perf_counter() - start) * 1000)


def _generator(model: HiDT, photo: torch.Tensor, code: torch.Tensor, size: int) -> torch.Tensor:
    return model.translate_tensor(photo, code, hires_output=True, inference_size=size)


def _lanczos(model: HiDT, photo: torch.Tensor, code: torch.Tensor, size: int) -> torch.Tensor:
    small = Image.fromarray(to_uint8(model.translate_tensor(photo, code, inference_size=size))[0])
    large = small.resize((small.width * UPSCALE, small.height * UPSCALE), Image.LANCZOS)
    return to_tensor_255(large, model.device) / 127.5 - 1


def _fullconv(model: HiDT, photo: torch.Tensor, code: torch.Tensor, size: int) -> torch.Tensor:
    return model.translate_tensor(photo, code, inference_size=UPSCALE * size)


RENDERERS: dict[Method, Callable[[HiDT, torch.Tensor, torch.Tensor, int], torch.Tensor]] = {
    Method.generator: _generator,
    Method.lanczos: _lanczos,
    Method.fullconv: _fullconv,
}


def _pixels(render: Render, size: tuple[int, int] | None) -> np.ndarray:
    """H×W×3 uint8 at the requested size (None keeps 4× the inference size)."""
    images = render.images_pm1 if size is None else resize_pm1(render.images_pm1, size)
    return to_uint8(images)[0]


def _write_one(
    target: Path, render: Render, size, loaded: LoadedImage, fmt, quality: int, overwrite: bool
) -> None:
    rgb = _pixels(render, size)
    write_image(
        target,
        rgb,
        fit_alpha(loaded.alpha, rgb.shape[:2]),
        fmt=fmt,
        quality=quality,
        icc_profile=loaded.icc_profile,
        overwrite=overwrite,
    )


def _write_compare(
    target: Path, renders: list[Render], size, fmt, quality: int, overwrite: bool
) -> None:
    cells = [_pixels(r, size) for r in renders]
    captions = [f"{r.method.value} {r.milliseconds:.0f} ms" for r in renders]
    picture = sheets.grid([cells], captions=[captions], cell_height=cells[0].shape[0])
    write_image(target, picture, fmt=fmt, quality=quality, overwrite=overwrite)


def _report(photo: Path, target: Path, renders: list[Render], as_json: bool, quiet: bool) -> None:
    timings = {r.method.value: round(r.milliseconds, 1) for r in renders}
    if as_json:
        common.print_json({"input": str(photo), "output": str(target), "milliseconds": timings})
    text = ", ".join(f"{name} {ms:.0f} ms" for name, ms in timings.items())
    common.note(f"wrote {target} ({text})", quiet)
