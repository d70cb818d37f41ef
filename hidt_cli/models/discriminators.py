"""Multi-scale patch discriminators for training: an unconditional one (is this a photo?)
and a style-conditional one (is this a photo with this style code?)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


class PatchDiscriminator(nn.Module):
    """Strided 4×4 convs with LeakyReLU and a 1-channel patch output; returns the patch
    logits and the intermediate features (for feature matching)."""

    def __init__(self, in_channels: int, base: int = 64, layers: int = 4, spectral: bool = False):
        super().__init__()
        wrap = spectral_norm if spectral else (lambda m: m)
        blocks, channels = [], in_channels
        for i in range(layers):
            out = base * 2 ** min(i, 3)
            blocks.append(
                nn.Sequential(
                    wrap(nn.Conv2d(channels, out, 4, 2, 1, padding_mode="reflect")),
                    nn.LeakyReLU(0.2, inplace=True),
                )
            )
            channels = out
        self.blocks = nn.ModuleList(blocks)
        self.head = wrap(nn.Conv2d(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.head(x), features


class MultiScaleDiscriminator(nn.Module):
    """The same patch discriminator at several scales (each half the previous), so that both
    global lighting and local texture are judged. With `style_dim` > 0 the style code is
    tiled over the image as extra input channels: a conditional discriminator."""

    def __init__(
        self,
        scales: int = 2,
        base: int = 64,
        layers: int = 4,
        style_dim: int = 0,
        spectral: bool = False,
    ) -> None:
        super().__init__()
        self.style_dim = style_dim
        self.scales = nn.ModuleList(
            PatchDiscriminator(3 + style_dim, base, layers, spectral) for _ in range(scales)
        )

    def forward(
        self, images_pm1: torch.Tensor, styles: torch.Tensor | None = None
    ) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        x = images_pm1
        if self.style_dim:
            if styles is None:
                raise ValueError("a conditional discriminator needs the style codes")
            tiled = styles.reshape(len(styles), -1, 1, 1).to(x.dtype)
            x = torch.cat([x, tiled.expand(-1, -1, *x.shape[-2:])], 1)
        outputs = []
        for i, scale in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            outputs.append(scale(x))
        return outputs
