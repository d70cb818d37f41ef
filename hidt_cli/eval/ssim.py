"""SSIM (Wang et al. 2004) in torch: 11×11 Gaussian window of σ 1.5, K1 0.01, K2 0.03, on
each channel, only where the window fits (as in the paper), averaged over channels."""

from __future__ import annotations

import torch
import torch.nn.functional as F

WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def _window(channels: int, like: torch.Tensor) -> torch.Tensor:
    offsets = torch.arange(WINDOW, dtype=like.dtype, device=like.device) - (WINDOW - 1) / 2
    g = torch.exp(-(offsets**2) / (2 * SIGMA**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, WINDOW, WINDOW).contiguous()


def ssim(images: torch.Tensor, references: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM per image of two B×C×H×W batches (H, W ≥ 11); 1 for identical images."""
    if images.shape != references.shape:
        raise ValueError(
            f"SSIM of different shapes {tuple(images.shape)}, {tuple(references.shape)}"
        )
    if min(images.shape[-2:]) < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}×{WINDOW} pixels")
    x, y = images.double(), references.double()
    window = _window(x.shape[1], x)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=x.shape[1])

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return index.flatten(1).mean(1).float()
