"""Sets of photos named by their folder, and the daytime class of each photo: shared by
training (balancing, presets), evaluation (labelled photos) and the commands of both.

Classes come from file-name prefixes or a `file,class` CSV; HiDT itself trains without them.
"""

from __future__ import annotations

import csv as csv_module
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from hidt_cli.io.paths import IMAGE_SUFFIXES, walk_files

DEFAULT_CLASS_RULES: Mapping[str, str] = {
    "amos-day-": "day",
    "amos-night-": "night",
    "weather-sunrise-": "sunset",
    "weather-shine-": "day",
    "weather-clouds-": "cloudy",
    "weather-rain-": "rain",
}
"""File-name prefixes of the project's training photos (shared/data/daytime) and their classes."""


def find_photos(root: Path) -> list[Path]:
    """Image files under root, all the way down and sorted, walked by the rule of
    io.paths.walk_files, so that a photo set is named by its folder and read in the same order
    on every machine. A sub-folder that cannot be listed stops here rather than silently
    leaving its photos out."""
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    problems: list[str] = []
    photos = sorted(
        file for file in walk_files(root, problems) if file.suffix.lower() in IMAGE_SUFFIXES
    )
    if problems:
        raise ValueError("; ".join(problems))
    if not photos:
        raise ValueError(f"{root}: no photos found")
    return photos


def class_of(
    path: str | os.PathLike[str], rules: Mapping[str, str] = DEFAULT_CLASS_RULES
) -> str | None:
    """The class of the longest rule prefix the file name starts with, None if no rule fits."""
    name = Path(path).name
    matches = [prefix for prefix in rules if name.startswith(prefix)]
    return rules[max(matches, key=len)] if matches else None


def load_class_csv(path: Path) -> dict[str, str]:
    """Classes from a `file,class` CSV, keyed by the file as written (relative to the data root
    or a bare name), for sets whose file names say nothing."""
    classes: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as stream:
        reader = csv_module.DictReader(stream)
        missing = {"file", "class"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path}: needs the columns file,class (no {', '.join(sorted(missing))})"
            )
        for row in reader:
            file, label = (row["file"] or "").strip(), (row["class"] or "").strip()
            if not file or not label:
                raise ValueError(f"{path}:{reader.line_num}: empty file or class")
            key = PurePosixPath(file.replace("\\", "/")).as_posix()
            if classes.setdefault(key, label) != label:
                raise ValueError(
                    f"{path}:{reader.line_num}: {file} is listed as both {classes[key]} and {label}"
                )
    return classes


def classes_for(
    photos: Sequence[Path],
    root: Path,
    rules: Mapping[str, str] | None = None,
    csv: Path | None = None,
) -> list[str | None]:
    """Each photo's class: the CSV's entry (by path under root, then bare name) wins, the file
    name rules (default DEFAULT_CLASS_RULES; pass {} for CSV only) fill in the rest."""
    table = load_class_csv(csv) if csv is not None else {}
    rules = DEFAULT_CLASS_RULES if rules is None else rules
    return [
        table.get(photo.relative_to(root).as_posix())
        or table.get(photo.name)
        or class_of(photo, rules)
        for photo in photos
    ]


TRANSLATOR_CLASS_RULES: Mapping[str, str] = {
    **DEFAULT_CLASS_RULES,
    "amos-night-": "webcam-night",
    "phone-day-": "day",
    "phone-dusk-": "dusk",
    "phone-night-": "night",
    "wallpaper-dusk-": "dusk",
    "wallpaper-night-": "night",
}
"""Classes for balancing the translator's training on daytime/ and daytime-extra/: the
sodium-lit webcam night is a class of its own, so it is one seventh of the draws, not the
whole of night."""

LONG_EXPOSURES = frozenset(
    {
        "wallpaper-night-budgie-noche-bogota.jpg",
        "wallpaper-night-budgie-spiral-firework.jpg",
        "wallpaper-night-deepin-default-background.jpg",
        "wallpaper-night-elementary-cheng-feng.jpg",
        "wallpaper-night-elementary-northern-lights.jpg",
        "wallpaper-night-fedora-milky-way.jpg",
        "wallpaper-night-popos-ahmadreza-sajadi-10140.jpg",
    }
)
"""Night photographs that are not what a camera sees at night (light trails, star trails,
aurora, light painting), per daytime-extra/README.md: left out of training."""

HELD_OUT_PERCENT = 12


def held_out(name: str, held_out_scene_frames: frozenset[str] = frozenset()) -> bool:
    """Whether a photo is kept out of training for evaluation: every frame of a held-out
    fixed-camera scene (so that the cameras themselves are unseen), and among the other
    photos those whose name hashes into the lowest HELD_OUT_PERCENT of 100 — the same split on
    every machine, for every seed, whatever else is in the folder."""
    if name in held_out_scene_frames:
        return True
    if name.startswith("amos-"):  # webcam frames are split by scene only
        return False
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 100 < HELD_OUT_PERCENT
