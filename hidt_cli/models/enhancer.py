"""G_enh: the RRDB network that merges 16 shifted medium-resolution translations into one
image at 4× their size. Parameter names follow the published `enhancer.pth`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hidt_cli.models.config import EnhancerConfig


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2, inplace=True)


class DenseBlock(nn.Module):
    """Five 3×3 convs, each seeing the block input and every earlier output; residual × 0.2."""

    def __init__(self, features: int, growth: int) -> None:
        super().__init__()
        for k in range(1, 6):
            out = features if k == 5 else growth
            setattr(self, f"conv{k}", nn.Conv2d(features + (k - 1) * growth, out, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for k in range(1, 5):
            inputs = torch.cat(features, 1) if k > 1 else x  # a cat of one tensor still copies
            features.append(_lrelu(getattr(self, f"conv{k}")(inputs)))
        return torch.add(x, self.conv5(torch.cat(features, 1)), alpha=0.2)  # one pass, not two


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks, residual × 0.2."""

    def __init__(self, features: int, growth: int) -> None:
        super().__init__()
        self.RDB1 = DenseBlock(features, growth)
        self.RDB2 = DenseBlock(features, growth)
        self.RDB3 = DenseBlock(features, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.add(x, self.RDB3(self.RDB2(self.RDB1(x))), alpha=0.2)


class Enhancer(nn.Module):
    """B×48×h×w merge input in [−1, 1] → B×3×4h×4w (unclamped; callers clamp to [−1, 1])."""

    def __init__(self, config: EnhancerConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or EnhancerConfig()
        nf = c.features
        self.conv_first = nn.Conv2d(c.in_channels, nf, 3, 1, 1)
        self.RRDB_trunk = nn.Sequential(*(RRDB(nf, c.growth) for _ in range(c.blocks)))
        self.trunk_conv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv1 = nn.Conv2d(nf, 4 * nf, 3, 1, 1)
        self.upconv2 = nn.Conv2d(nf, 4 * nf, 3, 1, 1)
        self.HRconv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, c.out_channels, 3, 1, 1)

    def forward(self, merge_input: torch.Tensor) -> torch.Tensor:
        fea = self.conv_first(merge_input)
        fea = fea + self.trunk_conv(self.RRDB_trunk(fea))
        fea = _lrelu(F.pixel_shuffle(self.upconv1(fea), 2))
        fea = _lrelu(F.pixel_shuffle(self.upconv2(fea), 2))
        return self.conv_last(_lrelu(self.HRconv(fea)))
