"""The shipped classifier (weights/classifier.safetensors): its metadata, and its held-out
accuracy recomputed on the training photos in ../shared when they are there."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hidt_cli.eval import classifier
from hidt_cli.eval.dataset import held_out_split, labelled_photos, load_squares
from hidt_cli.eval.metrics import accuracy, confusion_matrix
from tests.conftest import SHARED

SHIPPED = Path(__file__).resolve().parents[1] / "weights" / classifier.DEFAULT_NAME
DATA = [SHARED / "data" / "daytime", SHARED / "data" / "daytime-extra"]


@pytest.fixture(scope="module")
def shipped() -> classifier.Classifier:
    if not SHIPPED.is_file():
        pytest.skip(f"no shipped classifier at {SHIPPED}")
    return classifier.load(SHIPPED)


def test_shipped_metadata(shipped):
    info = shipped.info
    assert info.classes == ["cloudy", "day", "night", "sunset"]
    assert info.input_size == 96 and len(info.mean) == len(info.std) == 3
    matrix = torch.tensor(info.evaluation["confusion_matrix"])
    assert int(matrix.sum()) == info.evaluation["held_out_photos"]
    assert info.evaluation["held_out_accuracy"] == pytest.approx(accuracy(matrix), abs=1e-4)
    assert info.evaluation["held_out_accuracy"] >= 0.9


def test_shipped_accuracy_reproduces_on_the_held_out_photos(shipped):
    missing = [str(folder) for folder in DATA if not folder.is_dir()]
    if missing:
        pytest.skip(f"training photos not found at {', '.join(missing)}")
    photos, labels = labelled_photos(DATA)
    _, held = held_out_split(photos, labels)
    squares = load_squares([photos[i] for i in held], shipped.info.input_size)
    with torch.inference_mode():
        predicted = shipped.net(shipped.normalise(squares)).argmax(1)
    true = torch.tensor([shipped.classes.index(labels[i]) for i in held])
    matrix = confusion_matrix(true, predicted, len(shipped.classes))
    assert matrix.tolist() == shipped.info.evaluation["confusion_matrix"]
