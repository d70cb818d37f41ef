"""HiDT, the library's one object: the networks on a device (networks.py), the render core
over them (render.py) and the weights' style presets (styles.py), composed — each job lives
in its own module and this class only wires them for callers:

    model = hidt_cli.load()
    night = model.translate("photo.jpg", "night")
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from hidt_cli import hires as scheme
from hidt_cli.devices import WorkLimits
from hidt_cli.io.images import fit_alpha, read_image
from hidt_cli.models import Content, Enhancer, Generator
from hidt_cli.networks import Networks
from hidt_cli.ranges import photo_tensor
from hidt_cli.render import Renderer, RenderSpec, check_inference_size, network_input
from hidt_cli.styles import StyleLike, StyleResolver
from hidt_cli.weights import LoadedWeights, resolve
from hidt_cli.weights import load as load_weights


@dataclass
class WeightsInfo:
    """Where the loaded networks came from (for `hidt info` and reports)."""

    generator: LoadedWeights
    enhancer: LoadedWeights | None


class HiDT:
    """A loaded HiDT model on one device. Build it with `hidt_cli.load()`."""

    def __init__(
        self,
        generator: Generator,
        enhancer: Enhancer | None = None,
        *,
        presets: dict[str, tuple[float, ...]] | None = None,
        device: str | torch.device = "auto",
        dtype: torch.dtype | None = None,
        channels_last: bool | None = None,
        info: WeightsInfo | None = None,
        limits: WorkLimits | None = None,
        compile_networks: bool = False,
    ) -> None:
        """The networks' options are those of `Networks` (precision, layout, work limits,
        torch.compile); presets name style codes of these weights."""
        self.networks = Networks(
            generator,
            enhancer,
            device=device,
            dtype=dtype,
            channels_last=channels_last,
            limits=limits,
            compile_networks=compile_networks,
        )
        self.renderer = Renderer(self.networks)
        self.presets = dict(presets or {})
        self.info = info
        # the render core's calls (render.Renderer), as the library's one object offers them:
        # photos → results; photos encoded once → results in any number of styles
        self.render = self.renderer.render
        self.encode = self.renderer.encode
        self.render_encoded = self.renderer.render_encoded

    # ------------------------------------------------------------ the networks

    @property
    def device(self) -> torch.device:
        return self.networks.device

    @property
    def dtype(self) -> torch.dtype:
        return self.networks.dtype

    @property
    def generator(self) -> Generator:
        return self.networks.generator

    @property
    def enhancer(self) -> Enhancer | None:
        return self.networks.enhancer

    @property
    def limits(self) -> WorkLimits:
        return self.networks.limits

    @property
    def style_dim(self) -> int:
        return self.networks.style_dim

    def encode_style(self, images_pm1: torch.Tensor) -> torch.Tensor:
        """B×3×H×W in [−1, 1] → B×style_dim style codes (float32)."""
        return self.networks.encode_style(images_pm1)

    def encode_content(self, images_pm1: torch.Tensor) -> Content:
        """B×3×H×W in [−1, 1] (sides multiples of 4) → Content(content, skip_half, skip_full)."""
        return self.networks.encode_content(images_pm1)

    def decode(self, content: Content, styles: torch.Tensor) -> torch.Tensor:
        """Content and B×style_dim styles → B×3×H×W in [−1, 1] (one content, many styles too)."""
        return self.networks.decode(content, styles)

    def decode_segmentation(self, content: Content, styles: torch.Tensor) -> torch.Tensor:
        """As `decode`, but the 3-channel segmentation head (after tanh)."""
        return self.networks.decode_segmentation(content, styles)

    def enhance(self, merge_input: torch.Tensor) -> torch.Tensor:
        """B×48×h×w merge input → B×3×4h×4w in [−1, 1] through G_enh."""
        return self.networks.enhance(merge_input)

    @torch.inference_mode()
    def hires_crops(
        self, image: Image.Image | np.ndarray, inference_size: int = 256
    ) -> torch.Tensor:
        """Photo → its 16 shifted medium crops, 16×3×h×w in [−1, 1], on the device."""
        spec = RenderSpec(hires=True, inference_size=inference_size)
        return self.renderer.network_inputs(photo_tensor(image, self.device), spec)

    @torch.inference_mode()
    def merge_input(self, translated_crops_pm1: torch.Tensor) -> torch.Tensor:
        """16·B translated crops → B×48×h×w merge input."""
        return scheme.merge_input(translated_crops_pm1.to(self.device, torch.float32))

    # ------------------------------------------------------------ styles

    @torch.inference_mode()
    def styles_of_images(self, images_255: torch.Tensor, inference_size: int = 256) -> torch.Tensor:
        """B×3×H×W photos in [0, 255] → their B×style_dim style codes, after the reference's
        style preprocessing (shorter side S, sides multiples of 16, bicubic)."""
        return self.encode_style(network_input(images_255.to(self.device), inference_size))

    def styles(self, inference_size: int = 256) -> StyleResolver:
        """What resolves presets, codes and images into this model's style codes."""

        def encode(rgb: np.ndarray) -> torch.Tensor:
            return self.styles_of_images(photo_tensor(rgb, self.device), inference_size).cpu()

        return StyleResolver(self.presets, self.style_dim, encode)

    def style_code(self, style: StyleLike, inference_size: int = 256) -> torch.Tensor:
        """A preset name, an image (path, PIL or uint8 array) or a vector → 1×style_dim."""
        return self.styles(inference_size).resolve(style)

    # ------------------------------------------------------------ rendering

    @torch.inference_mode()
    def translate_tensor(
        self,
        images_255: torch.Tensor,
        styles: torch.Tensor,
        *,
        hires: bool = False,
        inference_size: int = 256,
        max_batch: int = 8,
    ) -> torch.Tensor:
        """B×3×H×W photos in [0, 255] with K styles (K = B, or B = 1 and any K) →
        K×3×h×w in [−1, 1] at processing size (×4 with `hires`): the networks only."""
        check_inference_size(inference_size)
        spec = RenderSpec(hires=hires, inference_size=inference_size)
        encoded = self.renderer.encode(images_255, spec)
        parts = self.renderer.translations(encoded, styles, max_batch)
        return torch.cat([translated for _, translated in parts])

    def translate(
        self,
        image: Image.Image | np.ndarray | str | os.PathLike,
        style: StyleLike,
        hires: bool = False,
        inference_size: int = 256,
        native_size: bool = False,
        plain_resize: bool = False,
    ) -> Image.Image:
        """One photo in one style → a PIL image, at the photo's size (through the detail-
        transfer stage, or a plain resize) unless `native_size`. An alpha channel of the
        photo is carried to the output unchanged."""
        alpha = None
        if isinstance(image, (str, os.PathLike)):
            loaded = read_image(image)
            image, alpha = loaded.rgb, loaded.alpha
        elif isinstance(image, Image.Image) and "A" in image.getbands():
            alpha = np.asarray(image.getchannel("A"))
        photo = photo_tensor(image, self.device)
        code = self.style_code(style, inference_size)
        spec = RenderSpec(hires, inference_size, native_size, plain_resize)
        rgb = next(self.render(photo, code, spec))[0]
        result = Image.fromarray(rgb)
        if alpha is not None:
            result.putalpha(Image.fromarray(fit_alpha(alpha, rgb.shape[:2])))
        return result


def load(
    weights: str | os.PathLike | None = None,
    enhancer: str | os.PathLike | None = None,
    device: str | torch.device = "auto",
    dtype: torch.dtype | None = None,
) -> HiDT:
    """Load a generator (and an enhancer when one is given or lies beside it) into a HiDT.

    weights: a file, a folder with both networks, hf://owner/repo/file[@rev], or None for the
    shipped defaults. enhancer: the same forms; by default the one in the weights' folder.
    dtype: None = bf16 autocast on CUDA and on CPUs with native bf16, float32 elsewhere.
    """
    generator_path = resolve(weights, "generator")
    if enhancer is not None:
        enhancer_path = resolve(enhancer, "enhancer")
    else:
        enhancer_path = resolve(generator_path.parent, "enhancer")
    generator = load_weights(generator_path, "generator", source=_source(weights, generator_path))
    enhancer_weights = (
        load_weights(enhancer_path, "enhancer", source=_source(enhancer or weights, enhancer_path))
        if enhancer_path
        else None
    )
    return HiDT(
        generator.build(),
        enhancer_weights.build() if enhancer_weights else None,
        presets=generator.presets,
        device=device,
        dtype=dtype,
        info=WeightsInfo(generator, enhancer_weights),
    )


def _source(spec, path) -> str:
    if spec is None:
        return f"default weights ({path})"
    return str(spec) if str(spec).startswith("hf://") else str(path)
