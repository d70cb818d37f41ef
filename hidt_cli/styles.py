"""Style codes: named presets, parsing, resolving what a user names into a code, sampling
from the prior, and paths through style space for timelapses."""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from hidt_cli.io.images import DEFAULT_MAX_PIXELS, read_image

StyleLike = str | os.PathLike | Image.Image | np.ndarray | Sequence[float] | torch.Tensor
"""A preset name, an image (path, PIL or H×W×3 uint8) or a style code."""


class StyleError(ValueError):
    """A style that cannot be used (unknown preset, wrong length, unreadable image)."""


STYLE_CODE_LIMIT = 10.0
"""The largest |value| a given style code may hold. The prior is N(0, I), so a value beyond 10
is 10 standard deviations out (odds below 1e-22); the published presets stay within 1.8, and
the shipped weights put 60 of their daytime training photos within 3.2. They turn ±30 into a
washed-out picture and 1e30 into an all-black one: far out, a value is a slip, not a wish."""
SEED_LIMIT = 2**63
"""Seeds are 0 ≤ seed < 2**63: a signed 64-bit integer, as JSON readers, NumPy and tensors
hold it, and within what torch.Generator.manual_seed takes without remapping. Its CPU
generator keeps the low 32 bits only, so seeds that differ above them give the same codes."""
MAX_RANDOM_STYLES = 1000
"""The most styles drawn from the prior at once: each is a whole render (one output of every
input, one picture of a sheet), so a slip such as 1000000 would run for days and fill a disk
before the first file; a thousand is more than any batch of looks needs."""


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
    """'-0.5,-1.0,-1.0' → a 1×dim tensor; ValueError with a readable reason otherwise (a
    StyleError when a value is beyond STYLE_CODE_LIMIT)."""
    return _code(_numbers(text, dim), repr(text))


def _numbers(text: str, dim: int) -> list[float]:
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    if len(parts) != dim:
        raise ValueError(f"style code {text!r} must have {dim} comma-separated numbers")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"style code {text!r} must contain only numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"style code {text!r} must contain finite numbers")
    return values


def _code(values: Sequence[float], shown: str) -> torch.Tensor:
    """The 1×dim code of finite values, refused beyond STYLE_CODE_LIMIT."""
    if any(abs(v) > STYLE_CODE_LIMIT for v in values):
        raise StyleError(
            f"style code {shown} is outside ±{STYLE_CODE_LIMIT:g}: codes of photos lie within "
            "about ±3 (the prior is N(0, I)), and far out the picture turns black"
        )
    return torch.tensor([list(values)], dtype=torch.float32)


def check_seed(seed: int) -> None:
    """StyleError unless 0 ≤ seed < SEED_LIMIT."""
    if not 0 <= seed < SEED_LIMIT:
        raise StyleError(f"--seed {seed} must be between 0 and {SEED_LIMIT - 1}")


def check_random_count(count: int) -> None:
    """StyleError unless 1 ≤ count ≤ MAX_RANDOM_STYLES."""
    if not 1 <= count <= MAX_RANDOM_STYLES:
        raise StyleError(
            f"{count} random styles asked for: between 1 and {MAX_RANDOM_STYLES} at once "
            "(each is a whole render of every input)"
        )


@dataclass(frozen=True)
class StyleResolver:
    """The one place that turns what a user names — a preset, a code, an image — into a
    1×dim style code, raising StyleError with a readable reason."""

    presets: Mapping[str, Sequence[float]]
    dim: int
    encode_image: Callable[[np.ndarray], torch.Tensor]
    """H×W×3 uint8 photo → its 1×dim style code (the model's style encoder)."""

    def preset(self, name: str) -> torch.Tensor:
        if name not in self.presets:
            known = ", ".join(sorted(self.presets)) or "none: these weights define no presets"
            close = difflib.get_close_matches(name, list(self.presets), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise StyleError(f"unknown preset {name!r}{hint} (known: {known})")
        return torch.tensor([self.presets[name]], dtype=torch.float32)

    def code(self, text: str, separator: str = ",") -> torch.Tensor:
        """'a,b,c' (or joined by another separator) → 1×dim."""
        try:
            return parse_style_code(text.replace(separator, ","), self.dim)
        except ValueError as exc:
            raise StyleError(str(exc)) from None

    def image(
        self,
        image: str | os.PathLike | Image.Image | np.ndarray,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> torch.Tensor:
        """The style of a photo (a path is read with the same checks as any input)."""
        if isinstance(image, (str, os.PathLike)):
            image = read_image(image, max_pixels=max_pixels).rgb
        elif isinstance(image, Image.Image):
            image = np.asarray(image.convert("RGB"))
        return self.encode_image(image)

    def keyframe(self, text: str) -> torch.Tensor:
        """A timelapse keyframe: a preset name, or a code joined by colons (commas separate
        the keyframes)."""
        if ":" not in text:
            return self.preset(text)
        try:
            values = _numbers(text.replace(":", ","), self.dim)
        except ValueError:
            raise StyleError(
                f"{text!r} is not a style code of {self.dim} numbers joined by colons"
            ) from None
        return _code(values, repr(text))

    def resolve(self, style: StyleLike) -> torch.Tensor:
        """Anything the API accepts as a style: a preset name, an image file, a PIL image or
        H×W×3 array, or a vector of dim numbers."""
        if isinstance(style, str) and style in self.presets:
            return self.preset(style)
        if isinstance(style, str) and not os.path.exists(style):
            try:
                self.preset(style)
            except StyleError as exc:
                raise StyleError(f"{exc}, and no such image file") from None
        if isinstance(style, (str, os.PathLike, Image.Image)) or (
            isinstance(style, np.ndarray) and style.ndim == 3
        ):
            return self.image(style)
        code = torch.as_tensor(np.asarray(style, dtype=np.float32)).reshape(1, -1)
        if code.shape[1] != self.dim or not torch.isfinite(code).all():
            raise StyleError(f"a style code needs {self.dim} finite numbers, got {style!r}")
        return _code(code[0].tolist(), str(code[0].tolist()))


def sample_prior(count: int, seed: int | None = None, dim: int = 3) -> torch.Tensor:
    """count×dim style codes from the prior N(0, I); the same seed gives the same codes.
    StyleError for a count or seed out of range (check_random_count, check_seed)."""
    check_random_count(count)
    if seed is not None:
        check_seed(seed)
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
