"""The daytime classifier: a small CNN trained from scratch on labelled photos, which stands in
for Inception in the evaluation (class probabilities for IS, CIS and hit rate, its last conv
features for DIPD). It is small enough to train in minutes on two CPU cores."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from hidt_cli import weights
from hidt_cli.eval.dataset import held_out_split, load_squares, squares_255
from hidt_cli.eval.metrics import accuracy, confusion_matrix
from hidt_cli.ranges import from_pm1

KIND = "classifier"
DEFAULT_CHANNELS = (16, 32, 64, 128, 128)
DEFAULT_NAME = "classifier.safetensors"


class DaytimeNet(nn.Module):
    """Conv blocks (3×3 conv, batch norm, ReLU; 2× max-pool between blocks) → global
    average → linear. `features` is the last block's output, the map DIPD compares."""

    def __init__(self, classes: int, channels: Sequence[int] = DEFAULT_CHANNELS) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 3
        for index, width in enumerate(channels):
            if index:
                layers.append(nn.MaxPool2d(2))
            layers += [
                nn.Conv2d(previous, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            previous = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(previous, classes)
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@dataclass
class ClassifierInfo:
    """What a classifier file says about itself (stored as JSON in its metadata)."""

    classes: list[str]
    input_size: int
    mean: list[float]
    std: list[float]
    channels: list[int] = field(default_factory=lambda: list(DEFAULT_CHANNELS))
    evaluation: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    @property
    def normalisation(self) -> str:
        return "RGB in [0, 1] squashed to input_size², minus mean, divided by std per channel"


class Outputs(NamedTuple):
    """Class probabilities B×K and last conv features B×C×h×w of a batch."""

    probabilities: torch.Tensor
    features: torch.Tensor


class Classifier:
    """A DaytimeNet with its metadata, on one device, taking images in [−1, 1] of any size."""

    def __init__(self, net: DaytimeNet, info: ClassifierInfo, device: torch.device) -> None:
        self.net = net.eval().to(device)
        self.info = info
        self.device = device
        self._mean = torch.tensor(info.mean, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(info.std, device=device).view(1, 3, 1, 1)

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    def normalise(self, squares: torch.Tensor) -> torch.Tensor:
        """N×3×size×size in [0, 255] (uint8 or float) → the network's input."""
        return (squares.to(self.device, torch.float32) / 255 - self._mean) / self._std

    @torch.inference_mode()
    def classify(self, images_pm1: torch.Tensor, max_batch: int = 64) -> Outputs:
        """B×3×H×W in [−1, 1] → probabilities and features, `max_batch` images at a time."""
        probabilities, features = [], []
        for start in range(0, len(images_pm1), max_batch):
            chunk = images_pm1[start : start + max_batch].to(self.device, torch.float32)
            x = self.normalise(squares_255(from_pm1(chunk), self.info.input_size))
            feature_map = self.net.features(x)
            probabilities.append(self.net.head(feature_map).softmax(1))
            features.append(feature_map)
        return Outputs(torch.cat(probabilities), torch.cat(features))


# ---------------------------------------------------------------- training


@dataclass
class TrainSettings:
    size: int = 96
    epochs: int = 30
    seed: int = 0
    batch_size: int = 32
    learning_rate: float = 3e-3
    held_out: float = 0.15
    channels: tuple[int, ...] = DEFAULT_CHANNELS


EpochReport = Callable[[int, float, float], None]
"""Called after each epoch with (epoch, mean training loss, held-out accuracy)."""


def train(
    photos: Sequence[Path],
    labels: Sequence[str],
    settings: TrainSettings,
    device: torch.device | None = None,
    on_epoch: EpochReport | None = None,
) -> Classifier:
    """Train on the photos outside the held-out split; the returned classifier's info holds the
    held-out accuracy and confusion matrix (rows: true class, columns: predicted)."""
    device = device or torch.device("cpu")
    torch.manual_seed(settings.seed)
    classes = sorted(set(labels))
    targets = torch.tensor([classes.index(label) for label in labels])
    train_idx, held_idx = held_out_split(photos, labels, settings.held_out)
    squares = load_squares(photos, settings.size)
    mean, std = _channel_stats(squares[train_idx])
    info = ClassifierInfo(classes, settings.size, mean, std, list(settings.channels))
    net = DaytimeNet(len(classes), settings.channels).to(device)
    classifier = Classifier(net, info, device)
    steps = math.ceil(len(train_idx) / settings.batch_size)
    optimiser = torch.optim.AdamW(net.parameters(), settings.learning_rate, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, settings.learning_rate, total_steps=settings.epochs * steps
    )
    counts = torch.bincount(targets[train_idx], minlength=len(classes)).float()
    class_weights = (counts.sum() / (len(classes) * counts.clamp(min=1))).to(device)
    train_tensor = torch.tensor(train_idx)
    for epoch in range(1, settings.epochs + 1):
        net.train()
        total = 0.0
        for batch in train_tensor[torch.randperm(len(train_tensor))].split(settings.batch_size):
            x = _augment(classifier.normalise(squares[batch]))
            loss = F.cross_entropy(
                net(x), targets[batch].to(device), weight=class_weights, label_smoothing=0.05
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(batch)
        net.eval()
        matrix = _held_out_matrix(classifier, squares[held_idx], targets[held_idx])
        if on_epoch:
            on_epoch(epoch, total / len(train_idx), accuracy(matrix))
    info.evaluation = {
        "held_out_accuracy": round(accuracy(matrix), 4),
        "confusion_matrix": matrix.tolist(),
        "confusion_matrix_layout": "rows: true class, columns: predicted class (held-out photos)",
        "train_photos": len(train_idx),
        "held_out_photos": len(held_idx),
        "held_out_per_class": {
            c: int((targets[held_idx] == i).sum()) for i, c in enumerate(classes)
        },
        "train_per_class": {c: int(counts[i]) for i, c in enumerate(classes)},
    }
    info.provenance = {"settings": asdict(settings), "torch": torch.__version__}
    return classifier


def _channel_stats(squares: torch.Tensor) -> tuple[list[float], list[float]]:
    x = squares.float().div_(255)
    return x.mean((0, 2, 3)).tolist(), x.std((0, 2, 3)).tolist()


def _augment(x: torch.Tensor) -> torch.Tensor:
    """Random zoom (80–100 % of the side), shift and horizontal flip in one resampling. Colours
    are left alone: they are what tells the classes apart."""
    b = len(x)
    scale = torch.empty(b, device=x.device).uniform_(0.8, 1.0)
    flip = torch.where(torch.rand(b, device=x.device) < 0.5, -1.0, 1.0)
    shift = (torch.rand(b, 2, device=x.device) * 2 - 1) * (1 - scale)[:, None]
    theta = torch.zeros(b, 2, 3, device=x.device)
    theta[:, 0, 0] = scale * flip
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


@torch.inference_mode()
def _held_out_matrix(
    classifier: Classifier, squares: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    predicted = torch.cat(
        [
            classifier.net(classifier.normalise(chunk)).argmax(1).cpu()
            for chunk in squares.split(128)
        ]
    )
    return confusion_matrix(targets, predicted, len(classifier.classes))


# ---------------------------------------------------------------- files


def save(path: Path, classifier: Classifier, provenance: dict | None = None) -> str:
    """Write the classifier with its info as metadata; returns the file's sha256. The
    folder's manifest.json, if it has one, is rewritten to list the new file."""
    info = classifier.info
    meta = asdict(info) | {"normalisation": info.normalisation}
    meta["provenance"] = info.provenance | (provenance or {})
    path = Path(path)
    digest = weights.save_safetensors(path, classifier.net, KIND, provenance=meta)
    if (path.parent / weights.MANIFEST).is_file():
        weights.write_manifest(path.parent)
    return digest


def load(path: Path, device: torch.device | str = "cpu") -> Classifier:
    """Read a classifier file, verified against a manifest beside it when there is one."""
    path = Path(path)
    if not path.is_file():
        raise weights.WeightsError(
            f"{path}: no classifier file (train one with 'hidt train-classifier DATA --out FILE')"
        )
    state, meta = weights.read_verified_safetensors(path)
    if meta.get("hidt_kind") != KIND:
        raise weights.WeightsError(f"{path}: holds a {meta.get('hidt_kind')}, not a {KIND}")
    try:
        stored = json.loads(meta["provenance"])
        info = ClassifierInfo(
            classes=[str(c) for c in stored["classes"]],
            input_size=int(stored["input_size"]),
            mean=[float(v) for v in stored["mean"]],
            std=[float(v) for v in stored["std"]],
            channels=[int(c) for c in stored["channels"]],
            evaluation=dict(stored.get("evaluation", {})),
            provenance=dict(stored.get("provenance", {})),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise weights.WeightsError(f"{path}: unreadable classifier metadata ({exc})") from None
    net = DaytimeNet(len(info.classes), info.channels)
    weights.load_strict(net, state, path)
    return Classifier(net, info, torch.device(device))
