"""Labelled photos for the daytime classifier: classes from file names, a held-out split that
does not depend on the seed or the folder, and photos squashed to the classifier's square."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from hidt_cli import hires
from hidt_cli.io.images import read_image
from hidt_cli.photosets import DEFAULT_CLASS_RULES, class_of, find_photos
from hidt_cli.ranges import photo_tensor

CLASSIFIER_CLASS_RULES: Mapping[str, str] = {
    **DEFAULT_CLASS_RULES,
    "weather-rain-": "cloudy",
    "phone-day-": "day",
    "phone-night-": "night",
    "wallpaper-night-": "night",
}
"""The training photos' prefixes (shared/data/daytime and daytime-extra) mapped to the
classifier's four classes: rain is merged into cloudy, and dusk photos have no class (see
weights/CLASSIFIER.md for why)."""


def labelled_photos(
    roots: Path | Sequence[Path], rules: Mapping[str, str] = CLASSIFIER_CLASS_RULES
) -> tuple[list[Path], list[str]]:
    """Photos under the roots whose file name gives a class, with those classes (others are
    left out)."""
    roots = [roots] if isinstance(roots, Path) else list(roots)
    photos, labels = [], []
    for photo in (photo for root in roots for photo in find_photos(root)):
        label = class_of(photo, rules)
        if label is not None:
            photos.append(photo)
            labels.append(label)
    if not photos:
        names = ", ".join(str(root) for root in roots)
        raise ValueError(f"{names}: no photo has a file name that gives a daytime class")
    return photos, labels


def held_out_split(
    photos: Sequence[Path], labels: Sequence[str], fraction: float = 0.15
) -> tuple[list[int], list[int]]:
    """(train, held-out) indices: per class, the ceil(fraction·n) photos whose names hash
    lowest are held out, so the split is the same on every machine and for every seed."""
    if not 0 < fraction < 1:
        raise ValueError(f"held-out fraction must be between 0 and 1, got {fraction}")
    by_class: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_class[label].append(index)
    held: list[int] = []
    for indices in by_class.values():
        ranked = sorted(indices, key=lambda i: hashlib.sha1(photos[i].name.encode()).hexdigest())
        held += ranked[: math.ceil(fraction * len(ranked))]
    held_set = set(held)
    return [i for i in range(len(photos)) if i not in held_set], sorted(held)


def squares_255(images_255: torch.Tensor, size: int) -> torch.Tensor:
    """B×3×H×W in [0, 255] → B×3×size×size, the whole picture squashed (the classifier
    judges light, not shapes, so no part of the sky is cropped away)."""
    return hires.resize_255(images_255.float(), (size, size), "bilinear")


def load_squares(photos: Sequence[Path], size: int) -> torch.Tensor:
    """Photos → N×3×size×size uint8, read once so that training epochs cost no decoding."""
    out = torch.empty(len(photos), 3, size, size, dtype=torch.uint8)
    for index, photo in enumerate(photos):
        image = photo_tensor(read_image(photo).rgb, torch.device("cpu"))
        out[index] = squares_255(image, size)[0].to(torch.uint8)
    return out
