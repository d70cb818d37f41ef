"""The 16-crop high-resolution scheme as pure tensor functions.

The photo is resized so its shorter side is 4S + 4, then shifted by 0–3 pixels in x and y
(16 shifts, black fill) and each shifted copy is brought down to inference size S. After
translation, every crop is put back at its sub-pixel offset on a 4× canvas and sampled down
again; the 16 results, stacked along channels, are the merge input of G_enh. All 16 crops are
handled as one batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from hidt_cli.ranges import to_pm1

SHIFTS = 4
"""Shifts per axis; crop k has column offset k // 4 and row offset k % 4."""


MAX_ASPECT = 32
"""Longest side the networks see, in shorter sides: a 1×3000 strip would otherwise become a
256×768 000 input. Stranger shapes are squeezed to this and restored when resized back."""


def inference_shape(height: int, width: int, size: int, multiple: int = 16) -> tuple[int, int]:
    """Shape with the shorter side `size`, both sides rounded to the nearest multiple (the
    longer side at most MAX_ASPECT times the shorter)."""
    short, long = sorted((height, width))
    scaled = min(long * size / short, MAX_ASPECT * size)

    def to_multiple(v: float) -> int:
        return max(multiple, int(round(v / multiple)) * multiple)

    if height <= width:
        return to_multiple(size), to_multiple(scaled)
    return to_multiple(scaled), to_multiple(size)


def shorter_side_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """Shape with the shorter side `size` and the longer one truncated, as the reference does
    (at most MAX_ASPECT times the shorter)."""
    if height <= width:
        return size, max(1, min(int(width * size / height), MAX_ASPECT * size))
    return max(1, min(int(height * size / width), MAX_ASPECT * size)), size


def resize_255(images: torch.Tensor, shape: tuple[int, int], mode: str) -> torch.Tensor:
    """Antialiased resize of B×3×H×W images in [0, 255] (uint8 or float), rounded back to
    8-bit levels so that each stage sees what an 8-bit image library would give it; float out."""
    if tuple(images.shape[-2:]) == tuple(shape):
        return images.float()
    if images.dtype == torch.uint8 and images.device.type == "cpu":
        # torch's 8-bit kernels: 4× faster than converting a large photo to float first
        return F.interpolate(images, size=shape, mode=mode, antialias=True).float()
    out = F.interpolate(images.float(), size=shape, mode=mode, antialias=True, align_corners=False)
    return out.round_().clamp_(0, 255)


def fit_within(images_255: torch.Tensor, max_side: int) -> torch.Tensor:
    """Shrink B×3×H×W images in [0, 255] so the longer side is at most max_side (bicubic,
    antialiased); smaller images are returned as they are."""
    h, w = images_255.shape[-2:]
    if max(h, w) <= max_side:
        return images_255
    scale = max_side / max(h, w)
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    return resize_255(images_255.float(), shape, "bicubic")


def hires_canvas(image_255: torch.Tensor, size: int) -> torch.Tensor:
    """Step 1: B×3×H×W in [0, 255] → shorter side 4·size + 4 (bilinear, antialiased)."""
    h, w = image_255.shape[-2:]
    return resize_255(image_255, shorter_side_shape(h, w, 4 * size + 4), "bilinear")


def shifted_crops(canvas_255: torch.Tensor, size: int) -> torch.Tensor:
    """Step 2: B×3×h×w canvases in [0, 255] → (16·B)×3×h'×w' crops in [−1, 1], the 16 crops
    of each image together in order k."""
    h, w = canvas_255.shape[-2:]
    padded = F.pad(canvas_255, (0, SHIFTS - 1, 0, SHIFTS - 1))

    def crop(x: int, y: int) -> torch.Tensor:
        # one shift at a time: only one full-size shifted canvas exists at once, not 16
        shifted = padded[:, :, y : y + h, x : x + w]
        shifted = resize_255(shifted, shorter_side_shape(h, w, size), "bilinear")
        return resize_255(shifted, inference_shape(h, w, size), "bicubic")

    crops = [crop(x, y) for x in range(SHIFTS) for y in range(SHIFTS)]
    return to_pm1(torch.stack(crops, 1).flatten(0, 1))


def _nearest_source_index(in_size: int, out_size: int, device: torch.device) -> torch.Tensor:
    """Source indices of PyTorch's `nearest` resize from in_size to out_size, obtained from
    PyTorch itself so that its float rounding is matched exactly."""
    ramp = torch.arange(in_size, dtype=torch.float64, device=device).view(1, 1, in_size)
    return F.interpolate(ramp, size=out_size, mode="nearest").view(-1).long()


def merge_input(translated_crops_pm1: torch.Tensor) -> torch.Tensor:
    """Step 4: (16·B)×3×h×w translated crops in [−1, 1] → B×48×h×w merge input for G_enh.

    Equivalent to upsampling each crop ×4 (nearest), placing it at its offset on a zero
    canvas of (4h + 4) × (4w + 4), mapping [0, 1] → [−1, 1] and resizing back to h × w with
    `nearest`, but gathers the needed pixels directly instead of building the 16 canvases.
    """
    n, c, h, w = translated_crops_pm1.shape
    per_image = SHIFTS * SHIFTS
    if n % per_image:
        raise ValueError(f"expected a multiple of {per_image} crops, got {n}")
    device = translated_crops_pm1.device
    crops = (translated_crops_pm1 + 1) / 2 * 2 - 1  # the reference's round trip through [0, 1]
    k = torch.arange(n, device=device)
    rows = _nearest_source_index(4 * h + 4, h, device)[None, :] - (k % SHIFTS)[:, None]
    cols = _nearest_source_index(4 * w + 4, w, device)[None, :] - (k % per_image // SHIFTS)[:, None]
    inside = ((rows >= 0) & (rows < 4 * h))[:, :, None] & ((cols >= 0) & (cols < 4 * w))[:, None, :]
    src_rows = rows.clamp(0, 4 * h - 1) // 4
    src_cols = cols.clamp(0, 4 * w - 1) // 4
    picked = crops[k[:, None, None], :, src_rows[:, :, None], src_cols[:, None, :]]  # n×h×w×c
    picked = picked.permute(0, 3, 1, 2)
    return torch.where(inside[:, None], picked, -1.0).reshape(n // per_image, per_image * c, h, w)


def tiled(
    network: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    tile: int,
    overlap: int,
    scale: int,
) -> torch.Tensor:
    """Run a fully convolutional network (B×C×H×W → B×C'×sH×sW) on tile × tile pieces, each
    read with `overlap` pixels of context on every side and only its core kept, so that
    memory follows the tile instead of the image. Exact when `overlap` covers the network's
    receptive field; with less, pixels near a seam see a little less context."""
    h, w = images.shape[-2:]
    out = None
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            rows = slice(max(0, top - overlap), min(h, top + tile + overlap))
            cols = slice(max(0, left - overlap), min(w, left + tile + overlap))
            part = network(images[:, :, rows, cols])
            if out is None:
                out = part.new_empty(*part.shape[:2], h * scale, w * scale)
            th, tw = min(tile, h - top) * scale, min(tile, w - left) * scale
            dy, dx = (top - rows.start) * scale, (left - cols.start) * scale
            out[:, :, top * scale : top * scale + th, left * scale : left * scale + tw] = part[
                :, :, dy : dy + th, dx : dx + tw
            ]
    return out
