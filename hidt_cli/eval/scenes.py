"""Scenes for the paired evaluation: the same view at several times of day. They come either
as a folder per scene, or are found among photos of fixed cameras (webcams) by matching local
features at the same pixel positions, which survives the change from day to night where
whole-image similarity does not."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hidt_cli.io.images import read_image
from hidt_cli.io.paths import IMAGE_SUFFIXES, walk_files

MIN_MATCHES = 5
"""Position-consistent feature matches that make two frames one view. On the AMOS webcam
frames of shared/data, frames of different cameras of one size scored 0, and every
component found with 5 was one camera on inspection."""

POSITION_TOLERANCE = 6.0
"""Pixels a matched feature may move between frames of a fixed camera."""


@dataclass
class Scene:
    """One view: its name and its frames (at least two)."""

    name: str
    frames: list[Path]


def scene_folders(root: Path) -> list[Scene]:
    """A folder holding one sub-folder per scene, each with two or more frames; folders and
    frames are found by the rule of io.paths.walk_files (hidden names skipped, each real
    folder once)."""
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder of scene folders")
    problems: list[str] = []
    frames: dict[str, list[Path]] = defaultdict(list)
    for file in walk_files(root, problems, max_depth=1):
        relative = file.relative_to(root)
        if len(relative.parts) == 2 and file.suffix.lower() in IMAGE_SUFFIXES:
            frames[relative.parts[0]].append(file)
    if problems:
        raise ValueError("; ".join(problems))
    scenes = [
        Scene(name, sorted(frames[name])) for name in sorted(frames) if len(frames[name]) >= 2
    ]
    if not scenes:
        raise ValueError(f"{root}: no sub-folder holds two or more frames of a scene")
    return scenes


def find_scenes(photos: Sequence[Path], min_matches: int = MIN_MATCHES) -> list[Scene]:
    """Group photos into views: photos of one size are linked when enough SIFT features match
    at the same position (the camera did not move); linked photos form a scene. Photos that
    match no other one are left out. Scenes are numbered and named after their first frame."""
    keypoints = {photo: _keypoints(photo) for photo in photos}
    by_size: dict[tuple[int, int], list[Path]] = defaultdict(list)
    for photo in photos:
        by_size[keypoints[photo][2]].append(photo)
    groups = _UnionFind(photos)
    matcher = cv2.BFMatcher()
    for same_size in by_size.values():
        for i, a in enumerate(same_size):
            for b in same_size[:i]:
                if groups.find(a) != groups.find(b) and (
                    matching_features(keypoints[a], keypoints[b], matcher) >= min_matches
                ):
                    groups.join(a, b)
    scenes = sorted(sorted(members) for members in groups.sets() if len(members) > 1)
    return [Scene(f"{i:02d}-{members[0].stem}", members) for i, members in enumerate(scenes, 1)]


Keypoints = tuple[np.ndarray, np.ndarray | None, tuple[int, int]]
"""Positions N×2, SIFT descriptors N×128 (None when none were found), and the image's (H, W)."""


def _keypoints(photo: Path) -> Keypoints:
    gray = cv2.cvtColor(read_image(photo).rgb, cv2.COLOR_RGB2GRAY)
    # Local contrast equalisation brings out the structure that night frames keep dark.
    gray = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)
    points, descriptors = cv2.SIFT_create(nfeatures=500).detectAndCompute(gray, None)
    positions = np.array([p.pt for p in points], dtype=np.float32).reshape(-1, 2)
    return positions, descriptors, gray.shape


def matching_features(a: Keypoints, b: Keypoints, matcher: cv2.DescriptorMatcher) -> int:
    """Features of a whose best match in b passes Lowe's ratio test and lies at the same
    position (within POSITION_TOLERANCE); 0 for images of different sizes."""
    (pos_a, desc_a, shape_a), (pos_b, desc_b, shape_b) = a, b
    if shape_a != shape_b or desc_a is None or desc_b is None or min(len(desc_a), len(desc_b)) < 2:
        return 0
    count = 0
    for pair in matcher.knnMatch(desc_a, desc_b, k=2):
        if len(pair) == 2 and pair[0].distance < 0.85 * pair[1].distance:
            shift = pos_a[pair[0].queryIdx] - pos_b[pair[0].trainIdx]
            count += float(np.hypot(*shift)) < POSITION_TOLERANCE
    return count


class _UnionFind:
    def __init__(self, items: Sequence[Path]) -> None:
        self._parent = {item: item for item in items}

    def find(self, item: Path) -> Path:
        while self._parent[item] != item:
            self._parent[item] = self._parent[self._parent[item]]
            item = self._parent[item]
        return item

    def join(self, a: Path, b: Path) -> None:
        self._parent[self.find(a)] = self.find(b)

    def sets(self) -> list[list[Path]]:
        members: dict[Path, list[Path]] = defaultdict(list)
        for item in self._parent:
            members[self.find(item)].append(item)
        return list(members.values())


def spread_frames(frames: Sequence[Path], brightness: Sequence[float], count: int) -> list[Path]:
    """`count` frames spread evenly over the range of brightness (darkest to brightest), so a
    capped scene keeps its night and its day frames."""
    if count < 2:
        raise ValueError(f"a scene needs at least 2 frames, got {count}")
    order = sorted(range(len(frames)), key=lambda i: (brightness[i], frames[i].name))
    if len(order) <= count:
        return [frames[i] for i in order]
    picks = np.linspace(0, len(order) - 1, count).round().astype(int)
    return [frames[order[i]] for i in picks]
