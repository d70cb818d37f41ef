"""The daytime classifier: shapes, a tiny training run, the split, and its file."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from safetensors import safe_open

from hidt_cli.eval import classifier
from hidt_cli.eval.dataset import held_out_split, labelled_photos, load_squares
from hidt_cli.weights import WeightsError, write_manifest
from tests.eval_inputs import (
    TINY_CHANNELS,
    make_classifier_file,
    tiny_classifier,
    write_labelled_photos,
)
from tests.images import make_photo


def test_forward_shapes():
    net = classifier.DaytimeNet(4)
    x = torch.randn(2, 3, 96, 96)
    assert net(x).shape == (2, 4)
    assert net.features(x).shape == (2, 128, 6, 6)
    out = tiny_classifier().classify(torch.rand(3, 3, 50, 70) * 2 - 1, max_batch=2)
    assert out.probabilities.shape == (3, 2)
    assert torch.allclose(out.probabilities.sum(1), torch.ones(3))
    assert out.features.shape == (3, 16, 8, 8)


def test_labelled_photos_and_split_are_deterministic(tmp_path):
    photos, labels = labelled_photos(write_labelled_photos(tmp_path / "data"))
    assert len(photos) == 24 and set(labels) == {"day", "night"}  # the unlabelled photo is out
    train, held = held_out_split(photos, labels, 0.15)
    assert len(held) == 4 and sorted(train + held) == list(range(24))
    assert {labels[i] for i in held} == {"day", "night"}
    # The split depends on names only: the same in another folder and in another order.
    moved = [tmp_path / "elsewhere" / p.name for p in reversed(photos)]
    _, held_moved = held_out_split(moved, list(reversed(labels)), 0.15)
    assert sorted(moved[i].name for i in held_moved) == sorted(photos[i].name for i in held)
    with pytest.raises(ValueError):
        held_out_split(photos, labels, 1.5)


def test_load_squares(tmp_path):
    photos, _ = labelled_photos(write_labelled_photos(tmp_path / "data", per_class=2))
    squares = load_squares(photos, 24)
    assert squares.shape == (4, 3, 24, 24) and squares.dtype == torch.uint8


def test_tiny_training_run_separates_two_classes(tmp_path):
    photos, labels = labelled_photos(write_labelled_photos(tmp_path / "data"))
    settings = classifier.TrainSettings(size=32, epochs=6, batch_size=8, channels=TINY_CHANNELS)
    epochs = []
    trained = classifier.train(photos, labels, settings, on_epoch=lambda *a: epochs.append(a))
    assert [e[0] for e in epochs] == list(range(1, 7))
    assert trained.info.evaluation["held_out_accuracy"] >= 0.99
    assert trained.info.evaluation["confusion_matrix"] == [[2, 0], [0, 2]]
    assert trained.classes == ["day", "night"]


def test_save_load_round_trip_with_metadata(tmp_path):
    original = tiny_classifier(("day", "night", "sunset"))
    original.info.evaluation = {"held_out_accuracy": 0.9, "confusion_matrix": [[1]]}
    path = tmp_path / "classifier.safetensors"
    classifier.save(path, original, {"data": {"folder": "photos"}})
    with safe_open(str(path), framework="pt") as fh:
        meta = json.loads(fh.metadata()["provenance"])
    assert meta["classes"] == ["day", "night", "sunset"]
    assert meta["input_size"] == 32 and "normalisation" in meta
    loaded = classifier.load(path)
    assert loaded.info.classes == original.info.classes
    assert loaded.info.evaluation["held_out_accuracy"] == 0.9
    assert loaded.info.provenance["data"] == {"folder": "photos"}
    x = torch.rand(2, 3, 40, 40) * 2 - 1
    assert torch.allclose(loaded.classify(x).probabilities, original.classify(x).probabilities)


def test_manifest_is_updated_and_verified(tmp_path):
    path = tmp_path / "classifier.safetensors"
    write_manifest(tmp_path)  # an empty manifest: saving must add the file to it
    make_classifier_file(path)
    assert path.name in json.loads((tmp_path / "manifest.json").read_text())["files"]
    classifier.load(path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match"):
        classifier.load(path)


def test_load_refuses_missing_and_foreign_files(tmp_path, tiny_weights):
    with pytest.raises(WeightsError, match="train-classifier"):
        classifier.load(tmp_path / "none.safetensors")
    with pytest.raises(WeightsError, match="not a classifier"):
        classifier.load(tiny_weights / "generator.safetensors")


def test_class_rules_cover_both_training_folders(tmp_path):
    names = {
        "weather-rain-0001.jpg": "cloudy",
        "phone-day-0001.jpg": "day",
        "phone-night-0001.jpg": "night",
        "wallpaper-night-some-city.jpg": "night",
        "phone-dusk-0001.jpg": None,  # blue hour and twilight have no class
        "wallpaper-dusk-some-pier.jpg": None,
    }
    for name in names:
        Image.fromarray(make_photo(16, 16, len(name))).save(tmp_path / name)
    photos, labels = labelled_photos(tmp_path)
    assert dict(zip((p.name for p in photos), labels, strict=True)) == {
        name: label for name, label in names.items() if label
    }
