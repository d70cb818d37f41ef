"""The training set for the GPU machine within a byte budget (prepare_data.sh runs this).

The model card's training set: daytime/ and daytime-extra/ less the held-out split and the
long exposures, each photo shrunk to the given shorter side. Saved as JPEG at quality 95 to
75, the highest at which all of it fits (75: the usual web quality, a few blocks at 100 %;
lower costs detail the networks would learn). If none does, at quality 75: every fixed-camera
frame (the paired term needs them, and they are the webcam classes) and, of each other class,
as many photos as fit, the same number for each class (all of a smaller one), evenly spread
over its sorted names — so that the classes that balanced sampling draws equally often keep
as many photos each as the budget allows, sharp and at the last phase's size. Writes
FOLDER/photos/ and FOLDER/classes.csv.

    python benchmarks/gpu/training_set.py SHARED_DATA FOLDER SHORTER_SIDE BUDGET_BYTES
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from hidt_cli.photosets import LONG_EXPOSURES, TRANSLATOR_CLASS_RULES, class_of, held_out

ROOT = Path(__file__).resolve().parents[2]
QUALITIES = (95, 90, 85, 80, 75)


def main() -> None:
    shared, folder = Path(sys.argv[1]), Path(sys.argv[2])
    side, budget = int(sys.argv[3]), int(sys.argv[4])
    photos = shrunk(training_photos(shared), side)
    for quality in QUALITIES:
        files = {name: jpeg(image, quality) for name, image in photos.items()}
        if size(files) <= budget:
            break
    else:
        files = within(files, budget)
    (folder / "photos").mkdir(parents=True)
    for name, data in files.items():
        (folder / "photos" / name).write_bytes(data)
    with open(folder / "classes.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(("file", "class"))
        writer.writerows((name, class_of(name, TRANSLATOR_CLASS_RULES)) for name in files)
    counts = defaultdict(int)
    for name in files:
        counts[class_of(name, TRANSLATOR_CLASS_RULES)] += 1
    print(
        f"{folder}: {len(files)} of {len(photos)} photos, shorter side ≤ {side} px, JPEG quality "
        f"{quality}, {size(files) / 2**20:.1f} MiB (room for {budget / 2**20:.1f}); "
        + ", ".join(f"{label} {count}" for label, count in sorted(counts.items()))
    )


def training_photos(shared: Path) -> list[Path]:
    scenes = json.loads((ROOT / "weights/training/heldout-scenes.json").read_text())["scenes"]
    held = frozenset(frame for frames in scenes.values() for frame in frames)
    return [
        path
        for source in ("daytime", "daytime-extra")
        for path in sorted((shared / source).glob("*.jpg"))
        if path.name not in LONG_EXPOSURES and not held_out(path.name, held)
    ]


def shrunk(paths: list[Path], side: int) -> dict[str, Image.Image]:
    """Each photo with its shorter side at most `side` (never enlarged)."""
    photos = {}
    for path in paths:
        image = Image.open(path).convert("RGB")
        scale = side / min(image.size)
        if scale < 1:
            size_ = (round(image.width * scale), round(image.height * scale))
            image = image.resize(size_, Image.Resampling.LANCZOS)
        photos[path.name] = image
    return photos


def jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def size(files: dict[str, bytes]) -> int:
    return sum(map(len, files.values()))


def within(files: dict[str, bytes], budget: int) -> dict[str, bytes]:
    """The fixed-camera frames and the largest equal share of every other class that fits."""
    scenes = json.loads((ROOT / "weights/training/scenes.json").read_text())
    frames = {name for names in scenes.values() for name in names}
    kept = {name: data for name, data in files.items() if name in frames}
    classes = defaultdict(list)
    for name in sorted(set(files) - frames):
        classes[class_of(name, TRANSLATOR_CLASS_RULES)].append(name)

    def share(count: int) -> dict[str, bytes]:
        chosen = dict(kept)
        for names in classes.values():
            picks = np.linspace(0, len(names) - 1, min(count, len(names))).round().astype(int)
            chosen.update((names[i], files[names[i]]) for i in picks)
        return chosen

    low, high = 0, max(map(len, classes.values()), default=0)
    if size(share(low)) > budget:
        sys.exit(f"the {len(kept)} fixed-camera frames alone take more than the budget")
    while low < high:  # the largest share that fits
        middle = (low + high + 1) // 2
        low, high = (middle, high) if size(share(middle)) <= budget else (low, middle - 1)
    return share(low)


if __name__ == "__main__":
    main()
