"""`hidt enhance`: one photo rendered at high resolution by the 16-crop enhancer, by the
detail-transfer stage, or by the paper's baselines (Figure 10): Lanczos upscaling of the
translation and the generator run fully convolutionally at 4× the inference size."""

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
from hidt_cli.hires import inference_shape, resize_255
from hidt_cli.io.images import LoadedImage, fit_alpha, format_for_path, write_image
from hidt_cli.io.paths import InputItem, output_path
from hidt_cli.pipeline import HiDT, RenderSpec, resize_pm1, to_tensor_255, to_uint8

UPSCALE = 4


class Method(str, Enum):
    generator = "generator"
    detail = "detail"
    lanczos = "lanczos"
    fullconv = "fullconv"


@dataclass
class Render:
    """One method's result, H×W×3 uint8 at the output size, with its wall time."""

    method: Method
    pixels: np.ndarray
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
        bool, typer.Option("--compare", help="All methods side by side, with timings.")
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
        output = Output(inference_size, native_size)
        renders = _render_all(model, photo, code, methods, output, quiet)
        if compare:
            _write_compare(target, renders, fmt, quality, overwrite)
        else:
            _write_one(target, renders[0], loaded, fmt, quality, overwrite)
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


@dataclass(frozen=True)
class Output:
    """Where every method's result ends: the photo's size, or 4× the inference size."""

    inference_size: int
    native_size: bool

    def spec(self, hires: bool) -> RenderSpec:
        return RenderSpec(hires, self.inference_size, self.native_size and hires)

    def photo(self, photo: torch.Tensor) -> torch.Tensor:
        """The photo the detail stage renders onto: itself, or its copy at 4× the inference
        size with --native-size."""
        if not self.native_size:
            return photo
        shape = inference_shape(*photo.shape[-2:], UPSCALE * self.inference_size)
        return resize_255(photo, shape, "bicubic")


def _render_all(
    model: HiDT,
    photo: torch.Tensor,
    code: torch.Tensor,
    methods: list[Method],
    output: Output,
    quiet: bool,
) -> list[Render]:
    """Run each method once, after a warm-up on accelerators so timings compare like with like."""
    if model.device.type != "cpu":
        model.translate_tensor(photo, code, inference_size=output.inference_size)
    renders = []
    with common.progress(quiet, transient=True) as bar:
        task = bar.add_task("enhancing", total=len(methods))
        for method in methods:
            renders.append(_timed(method, model, photo, code, output))
            bar.advance(task)
    return renders


def _timed(
    method: Method, model: HiDT, photo: torch.Tensor, code: torch.Tensor, output: Output
) -> Render:
    start = time.perf_counter()
    pixels = RENDERERS[method](model, photo, code, output)
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    return Render(method, pixels, (time.perf_counter() - start) * 1000)


def _generator(model: HiDT, photo: torch.Tensor, code: torch.Tensor, output: Output) -> np.ndarray:
    return next(model.render(photo, code, output.spec(hires=True)))[0]


def _detail(model: HiDT, photo: torch.Tensor, code: torch.Tensor, output: Output) -> np.ndarray:
    return next(model.render(output.photo(photo), code, output.spec(hires=False)))[0]


def _lanczos(model: HiDT, photo: torch.Tensor, code: torch.Tensor, output: Output) -> np.ndarray:
    """The baseline: the translation enlarged 4× with Lanczos, then to the output size."""
    size = output.inference_size
    small = Image.fromarray(to_uint8(model.translate_tensor(photo, code, inference_size=size))[0])
    large = small.resize((small.width * UPSCALE, small.height * UPSCALE), Image.LANCZOS)
    return _baseline(to_tensor_255(large, model.device) / 127.5 - 1, photo, output)


def _fullconv(model: HiDT, photo: torch.Tensor, code: torch.Tensor, output: Output) -> np.ndarray:
    """The baseline: the generator run at 4× the inference size."""
    images = model.translate_tensor(photo, code, inference_size=UPSCALE * output.inference_size)
    return _baseline(images, photo, output)


def _baseline(images_pm1: torch.Tensor, photo: torch.Tensor, output: Output) -> np.ndarray:
    """A baseline's own upscaling, only resized (bicubic) to the photo's size if asked."""
    if not output.native_size:
        images_pm1 = resize_pm1(images_pm1, tuple(photo.shape[-2:]))
    return to_uint8(images_pm1)[0]


RENDERERS: dict[Method, Callable[[HiDT, torch.Tensor, torch.Tensor, Output], np.ndarray]] = {
    Method.generator: _generator,
    Method.detail: _detail,
    Method.lanczos: _lanczos,
    Method.fullconv: _fullconv,
}


def _write_one(
    target: Path, render: Render, loaded: LoadedImage, fmt, quality: int, overwrite: bool
) -> None:
    rgb = render.pixels
    write_image(
        target,
        rgb,
        fit_alpha(loaded.alpha, rgb.shape[:2]),
        fmt=fmt,
        quality=quality,
        icc_profile=loaded.icc_profile,
        overwrite=overwrite,
    )


def _write_compare(target: Path, renders: list[Render], fmt, quality: int, overwrite: bool) -> None:
    cells = [r.pixels for r in renders]
    captions = [f"{r.method.value} {r.milliseconds:.0f} ms" for r in renders]
    picture = sheets.grid([cells], captions=[captions], cell_height=cells[0].shape[0])
    write_image(target, picture, fmt=fmt, quality=quality, overwrite=overwrite)


def _report(photo: Path, target: Path, renders: list[Render], as_json: bool, quiet: bool) -> None:
    timings = {r.method.value: round(r.milliseconds, 1) for r in renders}
    if as_json:
        common.print_json({"input": str(photo), "output": str(target), "milliseconds": timings})
    text = ", ".join(f"{name} {ms:.0f} ms" for name, ms in timings.items())
    common.note(f"wrote {target} ({text})", quiet)
