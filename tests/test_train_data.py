"""Training data pipeline: class balancing, crops with masks, enhancer regions and seeded
endless loaders, on small photos generated here."""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import TensorDataset, WeightedRandomSampler

from hidt_cli.io.images import ImageError
from hidt_cli.train import data
from hidt_cli.train.data import (
    HiresCrops,
    PhotoCrops,
    balanced_weights,
    canvas_shape,
    make_loader,
)

STRIPE = 8  # pixels per stripe of the position-encoding photo
LEVEL = 30  # grey step between stripes


def save_noise(path: Path, width: int, height: int, seed: int) -> Path:
    """A lossless random photo, so every crop position gives different pixels."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def noise_photos(tmp_path: Path) -> list[Path]:
    return [save_noise(tmp_path / f"p{i}.png", 60 + 4 * i, 40, i) for i in range(6)]


def test_unknown_classes_get_the_mean_known_weight() -> None:
    weights = balanced_weights(["day", "day", "night", None])
    assert weights.tolist() == pytest.approx([0.5, 0.5, 1.0, 2 / 3])


def test_balanced_weights_draw_each_class_equally() -> None:
    classes = ["day"] * 90 + ["night"] * 10
    weights = balanced_weights(classes)
    generator = torch.Generator().manual_seed(0)
    draws = list(WeightedRandomSampler(weights, 20_000, replacement=True, generator=generator))
    assert sum(classes[i] == "night" for i in draws) / len(draws) == pytest.approx(0.5, abs=0.03)
    # The same holds for the endless loader's own sampler.
    labels = TensorDataset(torch.tensor([c == "night" for c in classes], dtype=torch.float32))
    loader = make_loader(labels, batch_size=1000, balanced_weights=weights, workers=0)
    night = torch.cat([batch for (batch,) in islice(loader, 20)])
    assert night.mean().item() == pytest.approx(0.5, abs=0.03)


def test_photo_crops_shape_range_and_dtype(noise_photos: list[Path]) -> None:
    item = PhotoCrops(noise_photos, crop=32, shorter_side=(32, 48))[0]
    image = item["image"]
    assert set(item) == {"image"}
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert image.min() >= -1 and image.max() <= 1


def test_photo_crops_follow_torch_seed(noise_photos: list[Path]) -> None:
    crops = PhotoCrops(noise_photos, crop=32, shorter_side=(32, 48))

    def draw(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        return torch.stack([crops[i]["image"] for i in range(len(crops))])

    assert torch.equal(draw(1), draw(1))
    assert not torch.equal(draw(1), draw(2))


def test_photo_crops_refuse_a_crop_larger_than_the_resized_photo(noise_photos: list[Path]) -> None:
    with pytest.raises(ValueError, match="crop"):
        PhotoCrops(noise_photos, crop=64, shorter_side=(48, 96))


def save_grid(root: Path, masks: Path, width: int = 64, height: int = 48) -> Path:
    """A photo whose red and green levels encode the stripe column and row, and the mask that
    holds the same position as one class index per pixel."""
    columns = np.arange(width)[None, :] // STRIPE + np.zeros((height, 1), dtype=int)
    rows = np.arange(height)[:, None] // STRIPE + np.zeros((1, width), dtype=int)
    pixels = np.stack([LEVEL * columns, LEVEL * rows, np.zeros_like(rows)], axis=2)
    photo = root / "grid" / "photo.png"
    photo.parent.mkdir(parents=True)
    Image.fromarray(pixels.astype(np.uint8)).save(photo)
    (masks / "grid").mkdir(parents=True)
    Image.fromarray((columns + 8 * rows).astype(np.uint8)).save(masks / "grid" / "photo.png")
    return photo


def test_masks_follow_the_crop_and_flip_of_the_image(tmp_path: Path) -> None:
    photo = save_grid(tmp_path / "photos", tmp_path / "masks")
    crops = PhotoCrops(
        [photo],
        crop=32,
        shorter_side=(48, 64),
        masks_root=tmp_path / "masks",
        photos_root=tmp_path / "photos",
    )
    flips = set()
    for seed in range(12):
        torch.manual_seed(seed)
        item = crops[0]
        levels = ((item["image"] + 1) * 127.5).round().long()
        mask = item["mask"]
        assert mask.shape == (32, 32) and mask.dtype == torch.int64
        # Pixels away from stripe edges hold one exact level; there the mask must agree.
        pure = (levels[0] % LEVEL == 0) & (levels[1] % LEVEL == 0)
        assert pure.float().mean() > 0.5
        position = levels[0] // LEVEL + 8 * (levels[1] // LEVEL)
        assert torch.equal(position[pure], mask[pure])
        flips.add(bool(mask[0, 0] > mask[0, -1]))
    assert flips == {True, False}


def test_missing_mask_is_named(tmp_path: Path) -> None:
    photo = save_noise(tmp_path / "photos" / "a" / "x.jpg", 40, 40, 0)
    (tmp_path / "masks").mkdir()
    expected = tmp_path / "masks" / "a" / "x.png"
    with pytest.raises(ImageError, match=re.escape(str(expected))):
        PhotoCrops(
            [photo],
            crop=32,
            shorter_side=(32, 40),
            masks_root=tmp_path / "masks",
            photos_root=tmp_path / "photos",
        )


def test_decoded_photos_are_cached_within_the_byte_cap(
    noise_photos: list[Path], monkeypatch
) -> None:
    reads: list[Path] = []
    original = data._read_rgb
    monkeypatch.setattr(data, "_read_rgb", lambda path: reads.append(path) or original(path))
    one_photo = 40 * 60 * 3
    crops = PhotoCrops(
        noise_photos[:2], crop=32, shorter_side=(32, 40), cache_limit_bytes=one_photo
    )
    for _ in range(3):
        crops[0], crops[1]
    assert reads.count(noise_photos[0]) == 1 and reads.count(noise_photos[1]) == 3
    uncached = PhotoCrops(noise_photos[:1], crop=32, shorter_side=(32, 40), cache_decoded=False)
    uncached[0], uncached[0]
    assert reads.count(noise_photos[0]) == 3


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [
        (200, 300, (36, 54)),
        (100, 400, (36, 54)),
        (200, 250, (36, 45)),
        (200, 150, (48, 36)),
        (500, 100, (54, 36)),
    ],
)
def test_canvas_shorter_side_and_aspect_cap(
    height: int, width: int, expected: tuple[int, int]
) -> None:
    assert canvas_shape(height, width, 8) == expected


def test_hires_crops_shape_and_dtype(tmp_path: Path) -> None:
    photos = [
        save_noise(tmp_path / "wide.png", 400, 100, 0),
        save_noise(tmp_path / "tall.png", 120, 160, 1),
    ]
    crops = HiresCrops(photos, size=8)
    torch.manual_seed(0)
    wide, tall = crops[0]["photo"], crops[1]["photo"]
    assert wide.shape == (3, 36, 54) and wide.dtype == torch.uint8
    assert tall.shape == (3, 48, 36)
    torch.manual_seed(0)
    assert torch.equal(crops[0]["photo"], wide)


def test_hires_full_scale_region_is_the_whole_photo(tmp_path: Path) -> None:
    photo = save_noise(tmp_path / "photo.png", 300, 200, 0)
    item = HiresCrops([photo], size=8, scale_range=(1.0, 1.0), flip=False)[0]["photo"]
    expected = np.array(Image.open(photo).resize((54, 36), Image.Resampling.BILINEAR))
    difference = item.permute(1, 2, 0).int() - torch.from_numpy(expected).int()
    assert difference.abs().max() <= 1


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_batches_and_repeats_with_its_seed(noise_photos: list[Path], workers: int) -> None:
    crops = PhotoCrops(noise_photos, crop=32, shorter_side=(32, 40))
    first = [
        next(iter(make_loader(crops, batch_size=4, workers=workers, seed=3))) for _ in range(2)
    ]
    assert first[0]["image"].shape == (4, 3, 32, 32)
    if workers:  # with workers, the loader's seed alone fixes the augmentation too
        assert torch.equal(first[0]["image"], first[1]["image"])


def test_ranks_get_different_streams(noise_photos: list[Path]) -> None:
    crops = PhotoCrops(noise_photos, crop=32, shorter_side=(32, 40))
    loaders = [
        make_loader(crops, batch_size=4, workers=0, rank=rank, world_size=2) for rank in (0, 1)
    ]
    assert len(loaders[0].sampler) == 10**9 // 2
    torch.manual_seed(0)  # the same augmentation draws, so only the photo streams differ
    rank0 = next(iter(loaders[0]))["image"]
    torch.manual_seed(0)
    rank1 = next(iter(loaders[1]))["image"]
    assert not torch.equal(rank0, rank1)
