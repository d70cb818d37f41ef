"""Training data: random crops of unlabelled photos for the translator, high-resolution regions
for the enhancer, and endless seeded loaders.

Daytime classes (hidt_cli.photosets) serve balancing and presets only; HiDT trains without
domain labels, so no item carries one. All randomness is drawn from torch's RNG, so
`torch.manual_seed` (one process) or the loader's seed (workers) makes runs repeatable.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

from hidt_cli.hires import shorter_side_shape
from hidt_cli.io.images import ImageError, read_image
from hidt_cli.ranges import to_pm1

DEFAULT_CACHE_BYTES = 4 << 30
"""Decoded photos kept in memory per process; the 1,496 training photos take 0.52 GB."""

ENDLESS_SAMPLES = 10**9
"""Draws per loader "epoch", shared out between ranks: far more than any run takes."""

_MASK_MODES = {"L", "P"}


def balanced_weights(classes: Sequence[str | None]) -> torch.Tensor:
    """Sampling weights drawing every known class equally often, so that e.g. night is not
    starved by a day-heavy set; unclassed photos get the known photos' mean weight."""
    if not classes:
        raise ValueError("no photos to weigh")
    counts = Counter(label for label in classes if label is not None)
    if not counts:
        return torch.ones(len(classes), dtype=torch.float64)
    mean = len(counts) / sum(counts.values())  # each class's weights sum to 1
    return torch.tensor(
        [mean if label is None else 1 / counts[label] for label in classes], dtype=torch.float64
    )


class _DecodedCache:
    """Decoded arrays kept after first use until a byte budget is spent; the rest are decoded
    on every use, so a large set degrades to plain reading instead of running out of memory."""

    def __init__(self, limit_bytes: int) -> None:
        if limit_bytes < 0:
            raise ValueError(f"cache limit must be ≥ 0 bytes, got {limit_bytes}")
        self._limit = limit_bytes
        self._used = 0
        self._arrays: dict[Path, np.ndarray] = {}

    def get(self, path: Path, load: Callable[[Path], np.ndarray]) -> np.ndarray:
        array = self._arrays.get(path)
        if array is None:
            array = load(path)
            if self._used + array.nbytes <= self._limit:
                self._arrays[path] = array
                self._used += array.nbytes
        return array


class PhotoCrops(Dataset[dict[str, torch.Tensor]]):
    """Random crops for the translator: `image` 3×crop×crop float32 in [−1, 1] and, with
    masks_root, `mask` crop×crop int64 class indices from masks_root/<path under
    photos_root>.png, cropped and flipped with the image. The photo is first resized so that
    its shorter side is a random integer in `shorter_side` (inclusive), which varies the scale.

    Each DataLoader worker keeps its own cache, so the byte cap applies per process.
    """

    def __init__(
        self,
        photos: Sequence[Path],
        crop: int = 256,
        shorter_side: tuple[int, int] = (256, 384),
        flip: bool = True,
        masks_root: Path | None = None,
        photos_root: Path | None = None,
        cache_decoded: bool = True,
        cache_limit_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        _check_photos(photos)
        _check_crop(crop, shorter_side)
        self.photos = list(photos)
        self.crop = crop
        self.shorter_side = shorter_side
        self.flip = flip
        self.masks = _mask_paths(self.photos, masks_root, photos_root)
        self._cache = _DecodedCache(cache_limit_bytes if cache_decoded else 0)

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        photo = self._cache.get(self.photos[index], _read_rgb)
        box = self._random_box(*photo.shape[:2])
        flip = self.flip and _coin()
        size = (self.crop, self.crop)
        image = _chw(_resize(photo, box, size, Image.Resampling.BILINEAR), flip)
        item = {"image": to_pm1(image)}
        if self.masks is not None:
            mask = self._cache.get(self.masks[index], _read_mask)
            _check_mask_shape(self.masks[index], mask, photo, self.photos[index])
            cropped = _resize(mask, box, size, Image.Resampling.NEAREST)
            item["mask"] = torch.from_numpy(_flipped(cropped, flip)).long()
        return item

    def _random_box(self, height: int, width: int) -> tuple[float, float, float, float]:
        """The crop in source pixels of a randomly scaled copy, so only the crop is resampled."""
        new_height, new_width = shorter_side_shape(height, width, _randint(*self.shorter_side))
        top = _randint(0, new_height - self.crop)
        left = _randint(0, new_width - self.crop)
        scale_y, scale_x = height / new_height, width / new_width
        return _box(
            left * scale_x, top * scale_y, self.crop * scale_x, self.crop * scale_y, height, width
        )


class HiresCrops(Dataset[dict[str, torch.Tensor]]):
    """Random regions of high-resolution photos for the enhancer: `photo`, a uint8 3×H×W
    canvas whose shorter side is 4·size + 4 (the 16-crop scheme's input size) and whose aspect
    is the photo's, capped at 3:2. The region spans a random fraction `scale_range` of the
    photo's shorter side, so the enhancer sees both whole scenes and close-ups.

    Items of differently shaped photos differ in shape: batch them one at a time, or use
    photos of one orientation and an aspect of at least 3:2.
    """

    def __init__(
        self,
        photos: Sequence[Path],
        size: int = 128,
        scale_range: tuple[float, float] = (0.5, 1.0),
        flip: bool = True,
        cache_decoded: bool = True,
        cache_limit_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        _check_photos(photos)
        if size < 1:
            raise ValueError(f"size must be ≥ 1, got {size}")
        low, high = scale_range
        if not 0 < low <= high <= 1:
            raise ValueError(f"scale_range {scale_range} must satisfy 0 < low ≤ high ≤ 1")
        self.photos = list(photos)
        self.size = size
        self.scale_range = scale_range
        self.flip = flip
        self._cache = _DecodedCache(cache_limit_bytes if cache_decoded else 0)

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        photo = self._cache.get(self.photos[index], _read_rgb)
        height, width = photo.shape[:2]
        out_height, out_width = canvas_shape(height, width, self.size)
        # The region has the canvas's aspect; its shorter side is a fraction of the photo's.
        scale = _uniform(*self.scale_range) * min(height, width) / min(out_height, out_width)
        region_height, region_width = out_height * scale, out_width * scale
        top = _uniform(0, height - region_height)
        left = _uniform(0, width - region_width)
        box = _box(left, top, region_width, region_height, height, width)
        canvas = _resize(photo, box, (out_width, out_height), Image.Resampling.BILINEAR)
        return {"photo": _chw(canvas, self.flip and _coin())}


def canvas_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(H, W) of an enhancer item: shorter side 4·size + 4, longer side truncated as the
    16-crop scheme does and capped at 3:2, so wide panoramas do not blow up the crops."""
    side = 4 * size + 4
    longest = side * 3 // 2
    out_height, out_width = shorter_side_shape(height, width, side)
    return min(out_height, longest), min(out_width, longest)


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    balanced_weights: torch.Tensor | None = None,
    workers: int = 2,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    drop_last: bool = True,
) -> DataLoader:
    """An endless loader drawing with replacement (by `balanced_weights`, else uniformly).

    Its generator is seeded by seed + rank, so every rank of a multi-GPU run gets its own
    stream of photos and augmentations, and a rerun with the same seed gets the same ones.
    """
    if batch_size < 1 or workers < 0:
        raise ValueError(f"batch_size must be ≥ 1 and workers ≥ 0, got {batch_size}, {workers}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside 0..{world_size - 1}")
    weights = _sampling_weights(balanced_weights, len(dataset))
    generator = torch.Generator().manual_seed(seed + rank)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=_EndlessSampler(weights, ENDLESS_SAMPLES // world_size, generator),
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        drop_last=drop_last,
        worker_init_fn=_seed_worker,
        generator=generator,
        persistent_workers=workers > 0,
    )


class _EndlessSampler(Sampler[int]):
    """Weighted draws with replacement, made in chunks: torch's WeightedRandomSampler draws all
    of num_samples up front, which for an endless stream would not fit in memory."""

    def __init__(
        self,
        weights: torch.Tensor,
        num_samples: int,
        generator: torch.Generator,
        chunk: int = 1 << 16,
    ) -> None:
        self.weights = weights
        self.num_samples = num_samples
        self.generator = generator
        self.chunk = chunk

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        left = self.num_samples
        while left > 0:
            count = min(self.chunk, left)
            yield from torch.multinomial(
                self.weights, count, True, generator=self.generator
            ).tolist()
            left -= count


def _sampling_weights(weights: torch.Tensor | None, count: int) -> torch.Tensor:
    if weights is None:
        return torch.ones(count, dtype=torch.float64)
    weights = torch.as_tensor(weights, dtype=torch.float64)
    if weights.shape != (count,):
        raise ValueError(
            f"expected {count} sampling weights (one per item), got shape {tuple(weights.shape)}"
        )
    if not torch.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("sampling weights must be finite, ≥ 0 and not all 0")
    return weights


def _seed_worker(worker_id: int) -> None:
    """torch seeds each worker from the loader's generator; numpy and random follow that seed,
    so augmentations written with them are repeatable too."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def _check_photos(photos: Sequence[Path]) -> None:
    if not photos:
        raise ValueError("no photos given")


def _check_crop(crop: int, shorter_side: tuple[int, int]) -> None:
    """A resized photo smaller than the crop cannot be cropped, so that is refused up front."""
    low, high = shorter_side
    if crop < 1:
        raise ValueError(f"crop must be ≥ 1, got {crop}")
    if not crop <= low <= high:
        raise ValueError(
            f"shorter_side {shorter_side} must satisfy crop ({crop}) ≤ low ≤ high, "
            "so that every resized photo holds a full crop"
        )


def _mask_paths(
    photos: list[Path], masks_root: Path | None, photos_root: Path | None
) -> list[Path] | None:
    """Each photo's mask, checked now so that a missing one stops a run before it starts."""
    if masks_root is None:
        return None
    if photos_root is None:
        raise ValueError("masks_root needs photos_root, to find each photo's mask by its path")
    masks = []
    for photo in photos:
        try:
            relative = photo.relative_to(photos_root)
        except ValueError:
            raise ValueError(f"{photo}: not under photos_root {photos_root}") from None
        mask = (masks_root / relative).with_suffix(".png")
        if not mask.is_file():
            raise ImageError(mask, f"no mask for {photo}")
        masks.append(mask)
    return masks


def _check_mask_shape(
    mask_path: Path, mask: np.ndarray, photo: np.ndarray, photo_path: Path
) -> None:
    if mask.shape != photo.shape[:2]:
        raise ImageError(
            mask_path,
            f"mask is {mask.shape[1]}×{mask.shape[0]} but {photo_path} is {photo.shape[1]}×{photo.shape[0]}",
        )


def _read_rgb(path: Path) -> np.ndarray:
    return read_image(path).rgb


def _read_mask(path: Path) -> np.ndarray:
    """Class indices as stored: 8-bit grey or palette indices, never colours."""
    try:
        with Image.open(path) as image:
            if image.mode not in _MASK_MODES:
                raise ImageError(
                    path, f"mask must be 8-bit class indices (mode L or P), not {image.mode}"
                )
            return np.array(image)
    except ImageError:
        raise
    except Exception as exc:  # Pillow raises many kinds of error on bad data
        raise ImageError(path, f"cannot read mask: {exc}") from exc


def _box(
    left: float, top: float, box_width: float, box_height: float, height: int, width: int
) -> tuple[float, float, float, float]:
    """A Pillow box in a height×width image, clamped because rounding can push its far edge
    just past the image."""
    return left, top, min(width, left + box_width), min(height, top + box_height)


def _resize(
    array: np.ndarray,
    box: tuple[float, float, float, float],
    size: tuple[int, int],
    resample: Image.Resampling,
) -> np.ndarray:
    """The box of the array resampled to size (W, H): to within rounding the pixels of resizing
    the whole array and cutting the box out, at the cost of the box alone (Pillow's filters are
    antialiased when shrinking)."""
    return np.array(Image.fromarray(array).resize(size, resample, box=box))


def _flipped(array: np.ndarray, flip: bool) -> np.ndarray:
    return np.ascontiguousarray(array[:, ::-1] if flip else array)


def _chw(rgb: np.ndarray, flip: bool) -> torch.Tensor:
    return torch.from_numpy(_flipped(rgb, flip)).permute(2, 0, 1).contiguous()


def _randint(low: int, high: int) -> int:
    """Inclusive of high, from torch's RNG."""
    return int(torch.randint(low, high + 1, ()).item())


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()).item())


def _coin() -> bool:
    return bool(torch.rand(()).item() < 0.5)
