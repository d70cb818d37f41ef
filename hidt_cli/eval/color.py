"""sRGB ↔ CIELAB (D65) in torch, and Reinhard et al.'s (2001) colour transfer done in CIELAB:
the paired evaluation's error space and its classical baseline."""

from __future__ import annotations

import torch

_RGB_TO_XYZ = torch.tensor(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ],
    dtype=torch.float64,
)
_WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
_DELTA = 6 / 29


def srgb_to_lab(images_01: torch.Tensor) -> torch.Tensor:
    """B×3×H×W sRGB in [0, 1] → CIELAB (L in [0, 100], a and b about ±110)."""
    linear = torch.where(
        images_01 <= 0.04045, images_01 / 12.92, ((images_01 + 0.055) / 1.055) ** 2.4
    )
    xyz = _mix(_RGB_TO_XYZ, linear) / _WHITE_D65.to(images_01).view(1, 3, 1, 1)
    f = torch.where(
        xyz > _DELTA**3, xyz.clamp(min=1e-12) ** (1 / 3), xyz / (3 * _DELTA**2) + 4 / 29
    )
    fx, fy, fz = f.unbind(1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], 1)


def lab_to_srgb(lab: torch.Tensor) -> torch.Tensor:
    """CIELAB → B×3×H×W sRGB, clipped to [0, 1]."""
    lightness, a, b = lab.unbind(1)
    fy = (lightness + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], 1)
    xyz = torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4 / 29))
    xyz = xyz * _WHITE_D65.to(lab).view(1, 3, 1, 1)
    linear = _mix(torch.linalg.inv(_RGB_TO_XYZ), xyz).clamp(0, 1)
    srgb = torch.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
    return srgb.clamp(0, 1)


def _mix(matrix: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(images), images)


def match_statistics(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Shift and scale each channel of each B×C×H×W source to the target's mean and std."""
    s_mean, s_std = source.mean((2, 3), keepdim=True), source.std((2, 3), keepdim=True)
    t_mean, t_std = target.mean((2, 3), keepdim=True), target.std((2, 3), keepdim=True)
    return (source - s_mean) / s_std.clamp(min=1e-6) * t_std + t_mean


def reinhard_transfer(source_01: torch.Tensor, target_01: torch.Tensor) -> torch.Tensor:
    """The source's pictures with the target's colour statistics, matched in CIELAB."""
    lab = match_statistics(srgb_to_lab(source_01), srgb_to_lab(target_01))
    return lab_to_srgb(lab)


def lab_l1(images_01: torch.Tensor, references_01: torch.Tensor) -> torch.Tensor:
    """Per image: the mean over pixels of |ΔL| + |Δa| + |Δb| between two sRGB batches."""
    return (srgb_to_lab(images_01) - srgb_to_lab(references_01)).abs().sum(1).flatten(1).mean(1)


def delta_e76(images_01: torch.Tensor, references_01: torch.Tensor) -> torch.Tensor:
    """Per image: the mean over pixels of ΔE*ab (CIE 1976, the Euclidean distance in CIELAB)
    between two sRGB batches; about 1 is the smallest difference people see side by side."""
    difference = srgb_to_lab(images_01) - srgb_to_lab(references_01)
    return difference.norm(dim=1).flatten(1).mean(1)
