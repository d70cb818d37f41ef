"""Style codes: named presets, parsing, sampling from the prior, and paths through style space
for timelapses."""

from __future__ import annotations

import math

import torch

PUBLISHED_PRESETS: dict[str, tuple[float, float, float]] = {
    "hard_day": (-0.02281655, -0.39486027, 0.8980236),
    "semihard_day": (-0.13158312, 0.05005663, 0.56219147),
    "day": (-0.24034968, 0.49497354, 0.22635934),
    "day2": (-0.1528, -1.3118, 1.5012),
    "presunset": (-0.29656195, 0.54214905, -0.6357214),
    "sunset_hard_harder": (-0.5931239, 1.0842981, -1.2714428),
    "sunsetred": (-0.1542, 0.1676, -1.7730),
    "2minute": (-0.38232317, 0.57014908, -0.95337988),
    "5minute": (0.0392783, -0.45814896, -0.31725404),
    "5minutes2": (-0.1544, -0.5920, -0.3295),
    "bluehour_hard": (0.40883675, -1.6698283, 0.24425311),
    "bluehour_bit_dark": (-0.29560883, -1.5698522, -0.53503126),
    "night": (-0.49511418, -1.0065496, -1.0413212),
    "night2": (-0.1531, -1.5918, 0.0850),
    "darknight": (-0.4466, -1.3072, -0.3449),
    "another_night": (0.00708078, -1.37503777, -0.32711325),
    "onemorenight": (0.20795877, -1.52243303, -0.04143007),
    "nightmore": (0.10751978, -1.4487354, -0.18427166),
}
"""Style codes that the published `daytime.pt` maps to times of day (meaningful for it only)."""


def parse_style_code(text: str, dim: int = 3) -> torch.Tensor:
    """'-0.5,-1.0,-1.0' → a 1×dim tensor; ValueError with a readable reason otherwise."""
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    if len(parts) != dim:
        raise ValueError(f"style code {text!r} must have {dim} comma-separated numbers")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"style code {text!r} must contain only numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"style code {text!r} must contain finite numbers")
    return torch.tensor([values], dtype=torch.float32)


def sample_prior(count: int, seed: int | None = None, dim: int = 3) -> torch.Tensor:
    """count×dim style codes from the prior N(0, I); the same seed gives the same codes."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return torch.randn(count, dim, generator=generator)


def interpolate_codes(keyframes: torch.Tensor, frames: int) -> torch.Tensor:
    """K×dim keyframe codes → frames×dim codes on the piecewise-linear path through them,
    spaced evenly from the first keyframe to the last."""
    if frames < 1:
        raise ValueError("frames must be at least 1")
    if len(keyframes) == 1 or frames == 1:
        return keyframes[:1].expand(frames, -1).clone()
    position = torch.linspace(0, len(keyframes) - 1, frames, dtype=keyframes.dtype)
    left = position.floor().long().clamp(max=len(keyframes) - 2)
    t = (position - left)[:, None]
    return keyframes[left] * (1 - t) + keyframes[left + 1] * t


def smooth_codes(codes: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian smoothing of an N×dim sequence over time (sigma in frames), so that frame-to-
    frame jitter of the style encoder does not flicker; edges are padded by replication."""
    if sigma <= 0 or len(codes) < 2:
        return codes.clone()
    radius = max(1, int(math.ceil(3 * sigma)))
    offsets = torch.arange(-radius, radius + 1, dtype=codes.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).view(1, 1, -1).expand(codes.shape[1], 1, -1)
    series = codes.T[None]  # 1×dim×N
    series = torch.nn.functional.pad(series, (radius, radius), mode="replicate")
    return torch.nn.functional.conv1d(series, kernel, groups=codes.shape[1])[0].T.contiguous()
