"""Detail transfer: the networks' light and colour, the photo's own detail, at any size.

The networks translate a small copy of the photo (x_lr → y_lr, a few hundred pixels high)
and their result is soft. Rather than enlarging y_lr, we fit, at every low-resolution
location, an affine colour transform y ≈ A·x + b (a 3×3 matrix and an offset) from the box
statistics of a small window, upsample that smooth field of transforms bilinearly and apply
it to the full-resolution photo. This is the colour guided filter of He and Sun's fast guided
filter, in the local-affine form of bilateral guided upsampling (Chen et al. 2016). Every
edge, leaf and window of the photo survives; the light comes from the networks.

Two departures from the textbook filter: x_lr is blurred first to the networks' softness, so
that missing detail in y_lr is not read as a loss of contrast; and the ridge pulls A towards a
per-window channel gain (mean y / mean x) instead of towards zero, so that in flat or dark
windows the photo's detail is scaled, not flattened to the window's mean colour.

All functions are pure tensor code, batched over images, on any device.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace

import torch
import torch.nn.functional as F

from hidt_cli.ranges import pm1_to_unit

COEFFICIENTS = 12
"""Per location: A (3×3, row j gives output channel j) then b (3)."""


@dataclass(frozen=True)
class DetailConfig:
    """Settings of the detail-transfer stage, in pixels of the low-resolution pair. Defaults
    measured on real photos translated by the default weights (benchmarks/bench_detail.py)."""

    radius: int = 2
    """Window radius of the local fit. Small windows follow the networks' spatial changes of
    light (a lit window, a sky gradient) closely; large ones average more pixels and are
    steadier. 2 (a 5×5 window) keeps halos at edges within two low-res pixels."""
    eps: float = 1e-3
    """Ridge strength towards the window's channel gain, in squared [0, 1] units: about the
    variance of faint texture. Windows with stronger contrast than this are fitted freely;
    flatter ones take the gain."""
    gain_floor: float = 0.02
    """Added to both means in the gain (mean y + f) / (mean x + f): keeps near-black windows
    from dividing by zero and from amplifying sensor noise."""
    max_gain: float = 8.0
    """Largest channel gain allowed, for the same reason (night → day lifts shadows a lot)."""
    blur_sigma: float = 0.5
    """Gaussian blur of x_lr before the fit, towards the softness of the networks' output, so
    their missing detail is not read as lost contrast. On 7 real 1–2.6-MP photos (night
    preset, default weights): σ 0 / 0.5 / 1 kept a fine-band correlation of 0.908 / 0.915 /
    0.916 and changed the light shrunk back by 1.33 / 1.46 / 1.93 ΔLab: 0.5 keeps the detail
    and the networks' light."""
    smooth_radius: int = 1
    """Box smoothing of the fitted coefficients, so the field carries no blocky steps."""
    residual: float = 0.0
    """Weight of the low-res residual (y_lr minus the fitted transform of x_lr) added back,
    upsampled: what a colour transform cannot say (a window that lights up). Off: with
    today's weights it only brings the networks' blur back (mid-band correlation 0.99 → 0.94
    at weight 1, windows smudged at 100 %); for weights that light windows up."""
    strip_pixels: int = 1 << 21
    """Full-resolution pixels per apply strip (rows × width): a strip widens only its own
    low-res rows of the field to the photo's width (12 floats per row and column per style),
    so this bounds that buffer; the per-pixel passes run band by band inside it."""

    def scaled(self, factor: float) -> DetailConfig:
        """The same settings for a translation `factor` times finer than the networks' size
        (G_enh's output is 4×): windows and blur span the same part of the picture."""
        if factor <= 1:
            return self
        return replace(
            self,
            radius=round(self.radius * factor),
            blur_sigma=self.blur_sigma * factor,
            smooth_radius=round(self.smooth_radius * factor),
        )


def box_mean(images: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r + 1)² window, over the pixels inside the image at the borders: sums of
    shifted copies along each axis (2.5× faster than avg_pool2d on a CPU for the fit's 21
    channels), divided by the count of inside pixels, the product of the 1-D counts."""
    if radius <= 0:
        return images
    height, width = images.shape[-2:]
    padded = F.pad(images, (0, 0, radius, radius))
    rows = padded[..., :height, :].clone()
    for shift in range(1, 2 * radius + 1):
        rows += padded[..., shift : shift + height, :]
    padded = F.pad(rows, (radius, radius))
    sums = padded[..., :width].clone()
    for shift in range(1, 2 * radius + 1):
        sums += padded[..., shift : shift + width]
    return sums / (_inside(height, radius, images).view(-1, 1) * _inside(width, radius, images))


def _inside(size: int, radius: int, like: torch.Tensor) -> torch.Tensor:
    """How many of each position's 2r + 1 neighbours along an axis lie inside it."""
    index = torch.arange(size, device=like.device)
    count = (index + radius + 1).clamp(max=size) - (index - radius).clamp(min=0)
    return count.to(like.dtype)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflected borders (no darkening at the edges)."""
    if sigma <= 0:
        return images
    radius = max(1, math.ceil(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(rows, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


@dataclass(frozen=True)
class GuideStatistics:
    """What the fit needs of x_lr alone, computed once for any number of translations of the
    same photos (a timelapse, a swap, every move of a style slider)."""

    x_lr: torch.Tensor
    """B×3×h×w in [0, 1], as given (the residual is taken against it)."""
    blurred: torch.Tensor
    """x_lr blurred to the networks' softness."""
    mean_x: torch.Tensor
    """B×3×h×w window means of `blurred`."""
    inverse: torch.Tensor
    """B×3×3×h×w inverses of the windows' covariance + εI."""

    def rows(self, rows: slice) -> GuideStatistics:
        """The statistics of photos `rows` of the batch."""
        return GuideStatistics(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


def guide_statistics(x_lr: torch.Tensor, config: DetailConfig) -> GuideStatistics:
    """The x-only part of the fit (B×3×h×w in [0, 1]): blur, window means and covariances in
    one pooling call, and the covariances' inverses."""
    x = gaussian_blur(x_lr.float(), config.blur_sigma)
    i, k = torch.triu_indices(3, 3)
    means = box_mean(torch.cat([x, x[:, i] * x[:, k]], 1), config.radius)
    mean_x = means[:, 0:3]
    xx = means[:, 3:9] - mean_x[:, i] * mean_x[:, k]
    return GuideStatistics(x_lr.float(), x, mean_x, _inverse_symmetric(xx, config.eps))


def fit(
    x_lr: torch.Tensor | GuideStatistics, y_lr: torch.Tensor, config: DetailConfig
) -> torch.Tensor:
    """Local affine transforms taking x_lr to y_lr: B×3×h×w each in [0, 1] (x_lr may be one
    image for B translations, or its `guide_statistics`) → B×12×h×w coefficients (see
    COEFFICIENTS), in float32."""
    guide = x_lr if isinstance(x_lr, GuideStatistics) else guide_statistics(x_lr, config)
    x = guide.blurred
    if x.shape[1:] != y_lr.shape[1:] or y_lr.shape[1] != 3 or len(x) not in (1, len(y_lr)):
        raise ValueError(f"x and y must both be B×3×h×w, got {x.shape} and {y_lr.shape}")
    y = y_lr.float()
    # One pooling call for the statistics that involve y: means of y and x_i y_j (9).
    products = torch.cat([y, (x[:, :, None] * y[:, None]).flatten(1, 2)], 1)
    means = box_mean(products, config.radius)
    mean_x, mean_y = guide.mean_x, means[:, 0:3]
    cov_xy = means[:, 3:12].unflatten(1, (3, 3)) - mean_x[:, :, None] * mean_y[:, None]
    floor = config.gain_floor
    gain = ((mean_y + floor) / (mean_x + floor)).clamp(0, config.max_gain)
    # (Σxx + εI) A = Σxy + ε·diag(gain); A[i, j]: weight of input channel i in output j
    eye = torch.eye(3, device=x.device, dtype=x.dtype).view(1, 3, 3, 1, 1)
    rhs = cov_xy + config.eps * eye * gain[:, None]
    a = (guide.inverse[:, :, :, None] * rhs[:, None]).sum(2)
    offset = mean_y - (a * mean_x[:, :, None]).sum(1)
    coefficients = torch.cat([a.transpose(1, 2).flatten(1, 2), offset], 1)
    return box_mean(coefficients, config.smooth_radius)


def _inverse_symmetric(upper: torch.Tensor, eps: float) -> torch.Tensor:
    """Inverses of the symmetric 3×3 matrices M + εI given by their upper triangles
    (B×6×h×w: m00 m01 m02 m11 m12 m22) → B×3×3×h×w, by cofactors: far faster than a batched
    solver for 3×3 systems at every pixel, and M + εI is positive definite."""
    m00, m01, m02, m11, m12, m22 = upper.unbind(1)
    m00, m11, m22 = m00 + eps, m11 + eps, m22 + eps
    c00 = m11 * m22 - m12 * m12
    c01 = m02 * m12 - m01 * m22
    c02 = m01 * m12 - m02 * m11
    c11 = m00 * m22 - m02 * m02
    c12 = m01 * m02 - m00 * m12
    c22 = m00 * m11 - m01 * m01
    det = m00 * c00 + m01 * c01 + m02 * c02
    rows = [[c00, c01, c02], [c01, c11, c12], [c02, c12, c22]]
    return torch.stack([torch.stack(row, 1) for row in rows], 1) / det[:, None, None]


def apply(coefficients: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Coefficients and images of the same size (B×12×h×w, B×3×h×w in [0, 1]) → B×3×h×w."""
    a = coefficients[:, :9].unflatten(1, (3, 3))  # out × in
    return (a * images[:, None]).sum(2) + coefficients[:, 9:]


def residual(coefficients: torch.Tensor, x_lr: torch.Tensor, y_lr: torch.Tensor) -> torch.Tensor:
    """What the fitted transforms leave of y_lr at low resolution (B×3×h×w)."""
    return y_lr.float() - apply(coefficients, x_lr.float())


def transforms(
    x_lr: torch.Tensor | GuideStatistics, y_lr: torch.Tensor, config: DetailConfig
) -> torch.Tensor:
    """The field the stage applies (B×12×h×w): the local transforms fitted x_lr → y_lr, with
    config.residual times what they leave of y_lr added to their offsets — bilinear
    upsampling is linear, so the offsets carry the upsampled residual exactly."""
    guide = x_lr if isinstance(x_lr, GuideStatistics) else guide_statistics(x_lr, config)
    coefficients = fit(guide, y_lr, config)
    if config.residual:
        coefficients[:, 9:12] += config.residual * residual(coefficients, guide.x_lr, y_lr)
    return coefficients


def _source_index(out_size: int, in_size: int, device: torch.device):
    """Bilinear (align_corners=False) source indices and weights along one axis, as
    F.interpolate computes them, so a strip of rows equals the same rows of one call."""
    scale = in_size / out_size
    position = ((torch.arange(out_size, device=device) + 0.5) * scale - 0.5).clamp(min=0)
    low = position.floor().long().clamp(max=in_size - 1)
    high = (low + 1).clamp(max=in_size - 1)
    return low, high, (position - low).float()


def transfer(
    coefficients: torch.Tensor,
    photos: torch.Tensor,
    config: DetailConfig,
    dtype: torch.dtype = torch.float32,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply a low-res field of transforms (B×12×h×w, from `transforms`) to full-resolution
    photos (B×3×H×W or 1×3×H×W for one photo in B styles; uint8 or float in [0, 255], or
    uint16 in [0, 65535]) → B×H×W×3 at the photos' depth (uint16 for uint16 photos, else
    uint8), written into `out` when given (it may live on another device, e.g. a NumPy
    array's memory). `dtype` is the precision of the per-pixel passes (bf16 halves their
    memory traffic on a GPU; 16-bit photos always take float32, which keeps their levels).

    The field is upsampled bilinearly (as F.interpolate with align_corners=False): across the
    width per strip of rows, at low resolution; down the height per band of rows that lie
    between the same two low-res rows, where each band is a row of transforms plus the row
    weight times their difference. So no full-resolution field is ever built, and each band
    is converted, transformed and interleaved into the result while it is in the cache."""
    batch, (height, width) = len(coefficients), photos.shape[-2:]
    deep = photos.dtype == torch.uint16
    levels, result_dtype = (65535, torch.uint16) if deep else (255, torch.uint8)
    dtype = torch.float32 if deep else dtype
    fields = _in_units(coefficients, levels)
    if out is None:
        out = torch.empty((batch, height, width, 3), dtype=result_dtype, device=fields.device)
    row_lo, row_hi, row_weight = _source_index(height, fields.shape[-2], fields.device)
    rows = max(1, config.strip_pixels // max(1, width))
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        first, last = int(row_lo[top]), int(row_hi[bottom - 1])
        wide = _widen(fields[:, :, first : last + 1], width).to(dtype)  # B×12×n×W
        for start, stop, k in _bands(row_lo, top, bottom):
            lower, upper = wide[:, :, k - first], wide[:, :, int(row_hi[start]) - first]
            weights = row_weight[start:stop].view(1, 1, -1, 1).to(dtype)
            x = photos[:, :, start:stop].to(fields.device, dtype, memory_format=_PLANAR)
            band = _apply_band(x, lower, upper - lower, weights).clamp_(0, levels)
            target = out[:, start:stop]
            target.copy_(band.round_().permute(0, 2, 3, 1).to(target.device, result_dtype))
    return out


_PLANAR = torch.contiguous_format
"""Each channel's rows contiguous: the band's passes over a planar copy took a third of the
time they took over the interleaved pixels the photo is decoded into."""


def _in_units(coefficients: torch.Tensor, levels: int) -> torch.Tensor:
    """The field for photos in [0, levels], grouped by input channel: channels 3i..3i+2 are
    the weights of input channel i in the three outputs, 9..11 the offsets. A is unitless;
    the offsets scale by the largest level."""
    fields = coefficients.float()
    weights = fields[:, :9].unflatten(1, (3, 3)).transpose(1, 2).flatten(1, 2)
    return torch.cat([weights, fields[:, 9:12] * levels], 1)


def _widen(fields: torch.Tensor, width: int) -> torch.Tensor:
    """Rows of a field upsampled across the width only (B×C×n×w → B×C×n×width)."""
    rows = fields.flatten(1, 2)
    return F.interpolate(rows, size=width, mode="linear").unflatten(1, fields.shape[1:3])


def _bands(row_lo: torch.Tensor, top: int, bottom: int) -> Iterator[tuple[int, int, int]]:
    """(first row, end row, low-res row) of each run of rows in [top, bottom) that share the
    same pair of low-res rows."""
    lows = row_lo[top:bottom].tolist()
    start = 0
    for i in range(1, len(lows) + 1):
        if i == len(lows) or lows[i] != lows[start]:
            yield top + start, top + i, lows[start]
            start = i


def _apply_band(
    x: torch.Tensor, row: torch.Tensor, step: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """T(x) + w·ΔT(x) for one band of rows (x: B×3×r×W): T and ΔT are rows of transforms
    (B×12×W, grouped by input channel) shared by the band's rows, w the rows' weights.
    Written as few passes, each over the band's pixels once."""
    out = torch.addcmul(row[:, 9:12, None], row[:, 0:3, None], x[:, 0:1])
    change = torch.addcmul(step[:, 9:12, None], step[:, 0:3, None], x[:, 0:1])
    for i in (1, 2):
        out.addcmul_(row[:, 3 * i : 3 * i + 3, None], x[:, i : i + 1])
        change.addcmul_(step[:, 3 * i : 3 * i + 3, None], x[:, i : i + 1])
    return out.addcmul_(change, weights)


@dataclass(frozen=True)
class DetailStage:
    """The stage as every path runs it — photos, clips, timelapses, previews: settings scaled
    to the translation's resolution (`for_translation`) and the device's per-pixel precision.
    A clip steadies the fields over time between `fit` and `apply` (steady.py)."""

    config: DetailConfig
    dtype: torch.dtype = torch.float32
    finer: float = 1.0
    """How many times finer the translation is than what the networks saw."""

    @classmethod
    def for_translation(
        cls, config: DetailConfig, finer: float, dtype: torch.dtype = torch.float32
    ) -> DetailStage:
        """The stage for a translation `finer` times the networks' resolution (4 with G_enh)."""
        return cls(config.scaled(finer), dtype, finer)

    def guide(self, guide_255: torch.Tensor) -> GuideStatistics:
        """What the fit needs of the photos as the networks saw them (B×3×h×w in [0, 255])."""
        return guide_statistics(guide_255 / 255, self.config)

    def fit(self, guide: GuideStatistics, translated_pm1: torch.Tensor) -> torch.Tensor:
        """The field of transforms from the guide to each translation (B×12×h×w)."""
        return transforms(guide, pm1_to_unit(translated_pm1), self.config)

    def apply(
        self, fields: torch.Tensor, photos: torch.Tensor, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The fields carried onto photos of any size and depth → B×H×W×3 (see `transfer`)."""
        return transfer(fields, photos, self.config, self.dtype, out)
