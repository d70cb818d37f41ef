"""The one owner of value ranges: photos as tensors in [0, 255] (or [0, 65535] for 16-bit
photos), network images in [−1, 1] (`*_pm1`), and the conversions between them."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

PM1_SCALE = 127.5
"""Half the 8-bit range: [0, 255] ↔ [−1, 1]."""
DEEP_MAX = 65535
"""The largest level of a 16-bit photo."""
_DEEP_ROWS = 512
"""Rows of a 16-bit photo brought to 8 bits at a time (bounds the int32 temporary)."""


def to_pm1(images_255: torch.Tensor) -> torch.Tensor:
    """Images in [0, 255] → [−1, 1] (a new float tensor, the only temporary)."""
    return images_255.div(PM1_SCALE).sub_(1)


def from_pm1(images_pm1: torch.Tensor) -> torch.Tensor:
    """Images in [−1, 1] → [0, 255] floats (a new tensor, not rounded)."""
    return images_pm1.to(torch.float32).add(1).mul_(PM1_SCALE)


def pm1_to_unit(images_pm1: torch.Tensor) -> torch.Tensor:
    """Images in [−1, 1] → [0, 1] floats (a new tensor)."""
    return images_pm1.to(torch.float32).add(1).mul_(0.5)


def to_uint8(images_pm1: torch.Tensor) -> np.ndarray:
    """B×3×H×W in [−1, 1] → B×H×W×3 uint8 on the CPU (one float temporary: at photo size
    these tensors are the largest of the whole run)."""
    out = from_pm1(images_pm1).round_().clamp_(0, 255).to(torch.uint8)
    return out.permute(0, 2, 3, 1).cpu().numpy()


def to_depth(images_pm1: torch.Tensor, dtype: torch.dtype) -> np.ndarray:
    """B×3×H×W in [−1, 1] → B×H×W×3 at a photo's depth (uint8 or uint16) on the CPU."""
    if dtype != torch.uint16:
        return to_uint8(images_pm1)
    out = pm1_to_unit(images_pm1).mul_(DEEP_MAX).round_().clamp_(0, DEEP_MAX)
    return out.to(torch.int32).permute(0, 2, 3, 1).cpu().numpy().astype(np.uint16)


def photo_tensor(image: Image.Image | np.ndarray, device: torch.device) -> torch.Tensor:
    """PIL image or H×W×3 uint8/uint16 array → 1×3×H×W of the same dtype on device (on the
    CPU a view of the array, no copy): how the render core takes photos, 4× smaller than
    float."""
    array = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype not in (np.uint8, np.uint16):
        raise ValueError(
            f"expected an H×W×3 uint8 or uint16 image, got {array.dtype} {array.shape}"
        )
    if not array.flags.writeable:  # PIL hands out read-only views; torch wants to own memory
        array = array.copy()
    tensor = torch.from_numpy(np.ascontiguousarray(array)).to(device, non_blocking=True)
    return tensor.permute(2, 0, 1)[None]


def to_8bit(photos: torch.Tensor) -> torch.Tensor:
    """Photos of any depth → uint8 (16-bit levels rounded as (v + 128) // 257, the way the
    image reader makes a photo's 8-bit copy), in strips of rows to bound the temporary."""
    if photos.dtype == torch.uint8:
        return photos
    if photos.dtype != torch.uint16:
        return photos.round().clamp(0, 255).to(torch.uint8)
    out = torch.empty(photos.shape, dtype=torch.uint8, device=photos.device)
    for top in range(0, photos.shape[-2], _DEEP_ROWS):
        rows = photos[..., top : top + _DEEP_ROWS, :].to(torch.int32)
        out[..., top : top + _DEEP_ROWS, :] = rows.add_(128).div_(257, rounding_mode="floor")
    return out
