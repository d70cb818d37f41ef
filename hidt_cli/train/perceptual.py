"""The VGG-19 perceptual loss of pix2pixHD, for users who have ImageNet VGG-19 weights
(a torchvision-style state dict with `features.N.*` keys); training works without it."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# VGG-19 conv widths per block; "M" is a max-pool. Indices into `features` follow this list.
_LAYOUT = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512]
_TAPS = (1, 6, 11, 20, 29)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
_TAP_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def _features() -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for item in _LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, item, 3, 1, 1), nn.ReLU(inplace=False)]
            channels = item
    return nn.Sequential(*layers)


class VGGPerceptualLoss(nn.Module):
    """Weighted L1 between VGG-19 activations of the output and the target."""

    def __init__(self, weights_path: Path) -> None:
        super().__init__()
        self.features = _features()
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        state = {
            k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")
        }
        wanted = self.features.state_dict()
        missing = [k for k in wanted if k not in state]
        if missing:
            raise ValueError(f"{weights_path}: not VGG-19 weights (missing features.{missing[0]})")
        self.features.load_state_dict({k: state[k] for k in wanted})
        self.features.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))

    def _taps(self, images_pm1: torch.Tensor) -> list[torch.Tensor]:
        x = ((images_pm1 + 1) / 2 - self.mean) / self.std
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _TAPS:
                taps.append(x)
            if i == _TAPS[-1]:
                break
        return taps

    def forward(self, output_pm1: torch.Tensor, target_pm1: torch.Tensor) -> torch.Tensor:
        pairs = zip(self._taps(output_pm1), self._taps(target_pm1), strict=True)
        return sum(
            w * F.l1_loss(o, t.detach()) for w, (o, t) in zip(_TAP_WEIGHTS, pairs, strict=True)
        )
