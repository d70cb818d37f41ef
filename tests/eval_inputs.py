"""What the evaluation tests evaluate with: photos labelled the way the training set names
them, scene folders of one view under several lights, and a tiny random classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hidt_cli.eval import classifier
from tests.images import make_photo

LIGHTS = {
    "day": (1.0, (1.0, 1.0, 1.0)),
    "dusk": (0.7, (1.0, 0.7, 0.4)),
    "night": (0.45, (0.6, 0.7, 1.0)),
}


def view(seed: int, width: int = 128, height: int = 96) -> np.ndarray:
    """A grey 'scene' of random blocks: corners and edges that a fixed camera keeps."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width), 0.5, np.float32)
    for _ in range(40):
        x, y = rng.integers(0, width - 10), rng.integers(0, height - 10)
        image[y : y + rng.integers(4, 24), x : x + rng.integers(4, 24)] = rng.random()
    return image


def lit(image: np.ndarray, light: str) -> np.ndarray:
    """The scene under another light: darker, tinted and with a different tone curve."""
    brightness, tint = LIGHTS[light]
    rgb = np.stack([image * t for t in tint], 2) ** (1 / brightness) * brightness
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def write_scene_set(root: Path, scenes: int = 2) -> Path:
    """root/scene<i>/<light>.png: each scene under every light."""
    for i in range(scenes):
        folder = root / f"scene{i}"
        folder.mkdir(parents=True)
        for light in LIGHTS:
            Image.fromarray(lit(view(i), light)).save(folder / f"{light}.png")
    return root


TINY_CHANNELS = (8, 8, 16)


def write_labelled_photos(folder: Path, per_class: int = 12) -> Path:
    """Bright 'day' and dark, reddish 'night' photos named as the training set names them."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(per_class):
        day = make_photo(48, 40, i)
        night = (make_photo(48, 40, 100 + i) * np.array([0.3, 0.1, 0.1])).astype(np.uint8)
        Image.fromarray(day).save(folder / f"amos-day-{i:03}.png")
        Image.fromarray(night).save(folder / f"amos-night-{i:03}.png")
    Image.fromarray(make_photo(48, 40, 999)).save(folder / "unlabelled.png")
    return folder


def tiny_classifier(classes=("day", "night"), size: int = 32) -> classifier.Classifier:
    torch.manual_seed(0)
    info = classifier.ClassifierInfo(
        list(classes), size, [0.5] * 3, [0.25] * 3, channels=list(TINY_CHANNELS)
    )
    net = classifier.DaytimeNet(len(classes), TINY_CHANNELS)
    return classifier.Classifier(net, info, torch.device("cpu"))


def make_classifier_file(path: Path, classes=("day", "night")) -> Path:
    classifier.save(path, tiny_classifier(classes), {"note": "random weights for tests"})
    return path
