"""Ways to reach high resolution, side by side as in the paper's Figure 10: the 16-crop
enhancer G_enh and the detail-transfer stage through the render core, and the paper's two
baselines — the translation enlarged with Lanczos, and the generator run fully
convolutionally at 4× the inference size. Each gives H×W×3 uint8 at the photo's size, or
at 4× the inference size (`native_size`)."""

from __future__ import annotations

from enum import Enum

import numpy as np
import torch
from PIL import Image

from hidt_cli.hires import inference_shape, resize_255
from hidt_cli.model import HiDT
from hidt_cli.ranges import photo_tensor, to_8bit, to_pm1, to_uint8
from hidt_cli.render import RenderSpec, resize_pm1

UPSCALE = 4


class Method(str, Enum):
    generator = "generator"
    detail = "detail"
    lanczos = "lanczos"
    fullconv = "fullconv"


def render_method(
    model: HiDT,
    method: Method,
    photo: torch.Tensor,
    code: torch.Tensor,
    inference_size: int,
    native_size: bool = False,
) -> np.ndarray:
    """One photo (1×3×H×W, uint8 or uint16) in one style by one method; the baselines and a
    native-size detail render are 8-bit."""
    if method is Method.generator:
        spec = RenderSpec(True, inference_size, native_size)
        return next(model.render(photo, code, spec))[0]
    if method is Method.detail:
        onto = photo
        if native_size:  # the photo's copy at 4× the inference size, as G_enh gives
            shape = inference_shape(*photo.shape[-2:], UPSCALE * inference_size)
            onto = resize_255(to_8bit(photo), shape, "bicubic")
        return next(model.render(onto, code, RenderSpec(inference_size=inference_size)))[0]
    if method is Method.lanczos:
        small = to_uint8(model.translate_tensor(photo, code, inference_size=inference_size))[0]
        picture = Image.fromarray(small)
        large = picture.resize((picture.width * UPSCALE, picture.height * UPSCALE), Image.LANCZOS)
        images_pm1 = to_pm1(photo_tensor(large, model.device))
    else:
        images_pm1 = model.translate_tensor(photo, code, inference_size=UPSCALE * inference_size)
    if not native_size:
        images_pm1 = resize_pm1(images_pm1, tuple(photo.shape[-2:]))
    return to_uint8(images_pm1)[0]
