"""Data and mask of the paired term. Fixed cameras (the AMOS webcams) show one view at several
times of day, so the content of one frame rendered with the style of another frame of the same
view should give that frame back, except where the scene itself changed between the two:
moving cars and people, weather, a camera nudged aside. `change_mask` leaves those out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from hidt_cli.train.data import PhotoCrops

MISMATCH_TOLERANCE = 0.5
"""Structure mismatch (`structure_mismatch`) that counts as a change of the scene: similarity
below one half. In pairs of AMOS frames under the same light (day-day, night-night; 64-px
crops at the training scales) 8 % of the pixels exceed it in the median pair; a change of
brightness or colour alone gives 0."""

DROP_FRACTION = 0.3
"""The most of a pair left out: its worst-matching pixels, and only those above the tolerance.
That covers every pixel above the tolerance in three of four same-light pairs (the 75th
percentile is 27 %), while a day-night pair, whose structure differs almost everywhere (72 %
of the pixels above the tolerance in the median pair, as darkness, lamps and noise replace the
daylight edges), keeps 70 % of its pixels: those differences are the light, which the term is
there to teach, and only the worst of them (unlit-to-lit objects, moved ones) are left out."""

WINDOW = 7
"""Side of the square windows that structure is compared in, in pixels of the crop."""

STABILISER = 0.01
"""Keeps the comparison defined where both crops are flat (mismatch 0 there), in units of the
crop's variance."""


def read_scenes(path: Path, photos: Sequence[Path], root: Path) -> list[list[Path]]:
    """The scenes of a {scene: [frame, ...]} JSON file as lists of training photos. Frames are
    paths under root (file names for a flat folder); those not among the photos (held out)
    are left out, and so are scenes left with fewer than two frames, but one must remain."""
    try:
        table = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the pairs file: {exc.strerror}") from exc
    if not isinstance(table, dict) or not all(isinstance(v, list) for v in table.values()):
        raise ValueError(f"{path}: expected a JSON object {{scene: [frame, ...]}}")
    by_name = {photo.relative_to(root).as_posix(): photo for photo in photos}
    scenes = {
        name: [by_name[frame] for frame in frames if frame in by_name]
        for name, frames in table.items()
    }
    kept = {name: frames for name, frames in scenes.items() if len(frames) >= 2}
    if not kept:
        raise ValueError(f"{path}: no scene has two frames among the photos in {root}")
    for name, frames in kept.items():
        _check_one_size(name, frames)
    return list(kept.values())


def _check_one_size(name: str, frames: list[Path]) -> None:
    """Both frames of a pair are cut with the same box, which needs frames of one size."""
    sizes = {}
    for frame in frames:
        with Image.open(frame) as image:
            sizes.setdefault(image.size, frame)
    if len(sizes) > 1:
        (a, first), (b, second) = list(sizes.items())[:2]
        raise ValueError(
            f"scene {name}: {first.name} is {a[0]}×{a[1]} but {second.name} is {b[0]}×{b[1]}; "
            "the frames of a scene come from one fixed camera"
        )


class ScenePairCrops(PhotoCrops):
    """Pairs of frames of one scene: `a` and `b`, two different frames cut with the same random
    box, scale and flip (3×crop×crop in [−1, 1]). Indexed by frame A, so every frame is drawn
    equally often; B is another frame of A's scene."""

    def __init__(
        self, scenes: Sequence[Sequence[Path]], crop: int, shorter_side: tuple[int, int]
    ) -> None:
        super().__init__([f for frames in scenes for f in frames], crop, shorter_side)
        self.spans: list[tuple[int, int]] = []
        """Per frame: the index of its scene's first frame and the scene's frame count."""
        for frames in scenes:
            self.spans += [(len(self.spans), len(frames))] * len(frames)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        start, count = self.spans[index]
        offset = int(torch.randint(1, count, ()))
        other = start + (index - start + offset) % count
        seed = int(torch.randint(2**62, ()))
        return {"a": self._crop(index, seed), "b": self._crop(other, seed)}

    def _crop(self, index: int, seed: int) -> torch.Tensor:
        """The crop's random box, scale and flip depend on the seed and the photo's size only,
        so frames of one size drawn with one seed are cut alike."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return super().__getitem__(index)["image"]


@torch.no_grad()
def change_mask(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """B×1×H×W float mask of two B×3×H×W crops of one view: 0 where the scene changed, 1 where
    it agrees. Left out are the pixels whose structure mismatch exceeds MISMATCH_TOLERANCE, at
    most the worst DROP_FRACTION of each pair."""
    mismatch = structure_mismatch(a, b)
    worst = torch.quantile(mismatch.flatten(1), 1 - DROP_FRACTION, dim=1)
    limit = worst.clamp_min(MISMATCH_TOLERANCE).view(-1, 1, 1, 1)
    return (mismatch <= limit).float()


def structure_mismatch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """B×1×H×W: 1 − the contrast-structure term of SSIM per WINDOW×WINDOW window, between the
    crops after a global colour match (each channel standardised over its crop, then the
    channels averaged). 0 for the same structure, whatever the global brightness and colour
    (lighting changes are what the term teaches); up to 2. An object that enters a window
    (new edges and texture) or flat ground turned textured raises it; a local change of mean
    brightness alone does not, as lamps light up at night. Flat insides of large uniform
    objects show only along their edges."""
    x, y = _matched_luminance(a), _matched_luminance(b)
    mean_x, mean_y = _window_mean(x), _window_mean(y)
    var_x = _window_mean(x * x) - mean_x**2
    var_y = _window_mean(y * y) - mean_y**2
    covariance = _window_mean(x * y) - mean_x * mean_y
    similarity = (2 * covariance + STABILISER) / (var_x + var_y + STABILISER)
    return 1 - similarity


def _matched_luminance(images: torch.Tensor) -> torch.Tensor:
    """Channels standardised over each crop, then averaged: a global colour match, which a
    per-channel gain and offset leave unchanged."""
    images = images.float()
    mean = images.mean((2, 3), keepdim=True)
    std = images.std((2, 3), keepdim=True).clamp_min(1e-3)
    return ((images - mean) / std).mean(1, keepdim=True)


def _window_mean(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, WINDOW, 1, WINDOW // 2, count_include_pad=False)
