"""How faithful a full-resolution translation is to its photo and to the networks: the fine
detail it keeps (the detail-transfer stage's purpose) and the light it keeps (its promise not
to change what the networks said)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hidt_cli import hires
from hidt_cli.detail import gaussian_blur
from hidt_cli.eval.color import srgb_to_lab

FINE_SIGMA = 1.5
"""The fine band is luminance minus its Gaussian blur at this σ (pixels): edges, texture, noise."""

WINDOW = 32


def luminance(images_255: torch.Tensor) -> torch.Tensor:
    """B×3×H×W in [0, 255] → B×1×H×W Rec. 601 luma in [0, 1]."""
    weights = torch.tensor([0.299, 0.587, 0.114], device=images_255.device).view(1, 3, 1, 1)
    return (images_255.float() * weights).sum(1, keepdim=True) / 255


def fine_band_correlation(photo_255: torch.Tensor, output_255: torch.Tensor) -> float:
    """Mean correlation of the fine luminance band of photo and output per 32×32 window, over
    the busiest half of the windows (by the photo's fine-band energy): 1 = every edge and
    texture of the photo is where it was, 0 = none is."""
    if photo_255.shape != output_255.shape:
        raise ValueError(f"shapes differ: {tuple(photo_255.shape)} vs {tuple(output_255.shape)}")
    bands = []
    for image in (photo_255, output_255):
        y = luminance(image)
        bands.append(y - gaussian_blur(y, FINE_SIGMA))
    a, b = (F.unfold(band, WINDOW, stride=WINDOW) for band in bands)  # B×1024×N
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    energy = (a * a).sum(1)
    correlation = (a * b).sum(1) / (energy.sqrt() * (b * b).sum(1).sqrt()).clamp(min=1e-12)
    busiest = energy.flatten().argsort(descending=True)[: max(1, energy.numel() // 2)]
    return float(correlation.flatten()[busiest].mean())


def shrunk_lab_difference(output_255: torch.Tensor, translation_pm1: torch.Tensor) -> float:
    """Mean |ΔLab| (CIE76 distance) between the output shrunk to the networks' size and the
    networks' translation: how much light and colour the upscaling changed."""
    shrunk = hires.resize_255(output_255.float(), tuple(translation_pm1.shape[-2:]), "bicubic")
    translated = translation_pm1.float().add(1).mul(0.5).clamp(0, 1)
    delta = srgb_to_lab(shrunk / 255) - srgb_to_lab(translated)
    return float(delta.norm(dim=1).mean())
