"""The HiDT generator: content encoder, style encoder and the adaptive U-Net decoder.

Module and parameter names follow the published `daytime.pt` exactly, so its state dict
loads with no key mapping (after stripping a DataParallel `module.` prefix).
"""

from __future__ import annotations

from itertools import pairwise
from typing import NamedTuple

import torch
from torch import nn

from hidt_cli.models.config import GeneratorConfig
from hidt_cli.models.layers import AdaINParams, Conv2dBlock, LinearBlock, ResBlocks


class Content(NamedTuple):
    """What the decoder needs from a photo besides the style: the content code
    (B×4C×H/4×W/4) and the first channels of the two full- and half-resolution features."""

    content: torch.Tensor
    skip_half: torch.Tensor
    skip_full: torch.Tensor

    def expand(self, batch: int) -> Content:
        """Repeat a one-photo content for `batch` styles without copying memory."""
        return Content(*(t.expand(batch, *t.shape[1:]) for t in self))

    def slice(self, start: int, length: int) -> Content:
        """Photos start … start + length − 1 of a batch."""
        return Content(*(t[start : start + length] for t in self))

    def tile(self, times: int) -> Content:
        """The whole batch repeated `times` over, in order (a photo's 16 crops stay together)."""
        return Content(*(t.repeat(times, 1, 1, 1) for t in self))

    @staticmethod
    def cat(parts: list[Content]) -> Content:
        """Contents of pieces of a batch joined back into one (a single piece is not copied)."""
        if len(parts) == 1:
            return parts[0]
        return Content(*(torch.cat(tensors) for tensors in zip(*parts, strict=True)))


class ContentEncoder(nn.Module):
    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        c = config.base_channels
        self.skip_channels = config.skip_channels
        self.model_preparation = nn.Sequential(Conv2dBlock(3, c, 9, 1, 4, "instance", "relu"))
        self.model_downsample = nn.Sequential(
            Conv2dBlock(c, 2 * c, 6, 2, 2, "instance", "relu"),
            Conv2dBlock(2 * c, 4 * c, 6, 2, 2, "instance", "relu"),
        )
        self.model_postprocess = nn.Sequential(
            ResBlocks(config.content_res_blocks, 4 * c, "instance")
        )

    def forward(self, images_pm1: torch.Tensor) -> Content:
        k = self.skip_channels
        full = self.model_preparation(images_pm1)
        half = self.model_downsample[0](full)
        content = self.model_postprocess(self.model_downsample[1](half))
        return Content(content, half[:, :k], full[:, :k])


class StyleEncoder(nn.Module):
    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        channels = config.style_channels
        layers = [Conv2dBlock(3, channels[0], 7, 1, 3, "none", "lrelu")]
        layers += [
            Conv2dBlock(cin, cout, 4, 2, 1, "none", "lrelu") for cin, cout in pairwise(channels)
        ]
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels[-1], config.style_dim, 1)
        )

    def forward(self, images_pm1: torch.Tensor) -> torch.Tensor:
        """B×3×H×W in [−1, 1] → style codes B×style_dim."""
        return self.head(self.body(images_pm1)).flatten(1)


class StyleMLP(nn.Module):
    """Style code → the concatenated AdaIN parameters of every AdaIN layer."""

    def __init__(self, style_dim: int, hidden: int, out_features: int) -> None:
        super().__init__()
        self.model = nn.Sequential(
            LinearBlock(style_dim, hidden, relu=True),
            LinearBlock(hidden, hidden, relu=True),
            LinearBlock(hidden, out_features, relu=False),
        )

    def forward(self, styles: torch.Tensor) -> torch.Tensor:
        return self.model(styles)


class Decoder(nn.Module):
    """Residual AdaIN blocks, then two ×2 upsamplings that each concatenate an AdaIN-processed
    skip; the last conv gives 3 image and 3 segmentation channels. The reference's
    parameter-free `upsample_head` (nearest ×2) is folded into the conv that follows it."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        dim = config.content_channels
        k = config.skip_channels
        self.body = nn.Sequential(ResBlocks(config.decoder_res_blocks, dim, "adain"))
        self.skip_preprocess = nn.ModuleList(
            [nn.Sequential(Conv2dBlock(k, k, 7, 1, 3, "adain", "relu")) for _ in range(2)]
        )
        self.upsample_postprocess = nn.ModuleList(
            [
                nn.Sequential(
                    Conv2dBlock(d + k, d // 2, 7, 1, 3, "layer", "relu", upsampled_concat=True)
                )
                for d in (dim, dim // 2)
            ]
        )
        self.model_postprocess = nn.Sequential(Conv2dBlock(dim // 4, 6, 9, 1, 4, "none", "none"))
        # AdaIN layers in the order they consume the MLP output: body, then the two skips.
        self.adain_channels = [dim] * self.body[0].adain_layers + [k, k]
        self.adain_net = StyleMLP(config.style_dim, config.mlp_dim, 2 * sum(self.adain_channels))

    def adain_params(self, styles: torch.Tensor) -> list[AdaINParams]:
        """Style codes B×style_dim → (bias, weight) for every AdaIN layer, in module order."""
        flat = self.adain_net(styles.flatten(1))
        params, start = [], 0
        for c in self.adain_channels:
            params.append((flat[:, start : start + c], flat[:, start + c : start + 2 * c]))
            start += 2 * c
        return params

    def forward(self, content: Content, styles: torch.Tensor) -> torch.Tensor:
        """Content + B×style_dim styles → B×6×H×W before tanh (image, then segmentation)."""
        params = self.adain_params(styles)
        x = self.body[0](content.content, params[:-2])
        skips = (content.skip_half, content.skip_full)
        for i in range(2):
            skip = self.skip_preprocess[i][0](skips[i], params[-2 + i])
            # = upsample_postprocess[i](cat([nearest ×2 upsampling of x, skip])), 3× cheaper
            x = self.upsample_postprocess[i][0](x, skip=skip)
        return self.model_postprocess(x)


class Generator(nn.Module):
    """Encoders and decoder of HiDT. Images are RGB in [−1, 1], sides multiples of 4."""

    def __init__(self, config: GeneratorConfig | None = None) -> None:
        super().__init__()
        self.config = config or GeneratorConfig()
        self.content_encoder = ContentEncoder(self.config)
        self.style_encoder = StyleEncoder(self.config)
        self.decoder = Decoder(self.config)

    def encode_content(self, images_pm1: torch.Tensor) -> Content:
        return self.content_encoder(images_pm1)

    def encode_style(self, images_pm1: torch.Tensor) -> torch.Tensor:
        return self.style_encoder(images_pm1)

    def decode(self, content: Content, styles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """→ (images B×3×H×W, segmentation B×3×H×W), both after tanh, in [−1, 1]."""
        out = torch.tanh(self.decoder(content, styles))
        return out[:, :3], out[:, 3:]

    def decode_images(self, content: Content, styles: torch.Tensor) -> torch.Tensor:
        """Only the images (B×3×H×W in [−1, 1]): what training compares with photos."""
        return torch.tanh(self.decoder(content, styles)[:, :3])
