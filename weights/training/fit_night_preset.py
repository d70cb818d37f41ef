"""Choose the `night` preset of a generator by what its translations look like.

The other presets are the mean style code of a class's training photos. For night that mean
fails: the style encoder codes the night photographs brighter and warmer than they are, so
their mean code darkens a day photo to an olive brown. Instead this scans the style-code space
and keeps the code whose translations of training day photos come closest to the curated night
photographs (the night wallpapers trained on: city skylines under a dark-blue sky, lit
villages, landscapes under stars) in median lightness and blueness, among the codes that do
not make night photos lighter and give no green or violet tint (mean |a*| ≤ MAX_TINT).

    python weights/training/fit_night_preset.py WEIGHTS [--write OUT.safetensors]

Run from the repository root with ../shared beside it. Prints the best codes; --write saves
WEIGHTS with the chosen code as its `night` preset. Two stages: a grid of step 1 over
[-2.5, 2.5]³, then step 0.25 within ±0.5 of the best code of the first (≈ 10 CPU-minutes).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
from pathlib import Path

import torch

import hidt_cli
from hidt_cli import weights as weights_io
from hidt_cli.eval.color import srgb_to_lab
from hidt_cli.io.images import read_image
from hidt_cli.photosets import LONG_EXPOSURES, held_out
from hidt_cli.ranges import from_pm1, photo_tensor
from hidt_cli.render import network_input

SHARED = Path("../shared/data")
SIZE = 128
"""Translations are judged at a small inference size: only their global light and colour count."""
LIGHTNESS_SCALE, COLOUR_SCALE = 10.0, 5.0
"""One unit of distance: 10 L* or 5 a*/b* (colour shifts show at half the size of a change of light)."""
MAX_TINT = 2.5
"""Largest mean |a*| allowed: beyond it a dark night picture reads as green or violet."""


@functools.cache
def held_out_frames() -> frozenset[str]:
    """The frames of the held-out fixed-camera scenes."""
    scenes = json.loads(Path("weights/training/heldout-scenes.json").read_text())["scenes"]
    return frozenset(f for names in scenes.values() for f in names)


def training_photos(folder: str, prefix: str) -> list[Path]:
    """The photos of one source that training used (the held-out split and long exposures out)."""
    return [
        p
        for p in sorted((SHARED / folder).glob(prefix + "*.jpg"))
        if p.name not in LONG_EXPOSURES and not held_out(p.name, held_out_frames())
    ]


@functools.cache
def photo_255(path: Path) -> torch.Tensor:
    """A photo at the fitting size in [0, 255], read once for both stages of the scan."""
    return from_pm1(network_input(photo_tensor(read_image(path).rgb, "cpu"), SIZE))


def lab_means(images_pm1: torch.Tensor) -> torch.Tensor:
    """Per image: mean L*, a*, b*."""
    return srgb_to_lab(images_pm1.add(1).div(2).clamp(0, 1)).mean((2, 3))


def scan(model, codes: torch.Tensor, day: list[Path], night: list[Path]) -> dict[str, torch.Tensor]:
    """For every code: mean L*, a*, b* of the day photos translated with it, and the mean ratio
    of translated to original L* of the night photos."""
    out = {"lab": torch.zeros(len(codes), 3), "night_lightening": torch.zeros(len(codes))}
    with torch.no_grad():
        for path in day + night:
            x = photo_255(path)
            translated = lab_means(
                model.translate_tensor(x, codes, inference_size=SIZE, max_batch=64)
            )
            if path in day:
                out["lab"] += translated / len(day)
            else:
                original = lab_means(x / 127.5 - 1)[0, 0]
                out["night_lightening"] += translated[:, 0] / original / len(night)
    return out


def distances(lab: torch.Tensor, target_l: float, target_b: float) -> torch.Tensor:
    return (
        (lab[:, 0] - target_l).abs() / LIGHTNESS_SCALE
        + (lab[:, 2] - target_b).abs() / COLOUR_SCALE
        + lab[:, 1].abs() / COLOUR_SCALE
    )


def best(model, codes, day, night, target) -> tuple[torch.Tensor, dict]:
    result = scan(model, codes, day, night)
    score = distances(result["lab"], *target)
    score[result["night_lightening"] > 1.0] = float("inf")
    score[result["lab"][:, 1].abs() > MAX_TINT] = float("inf")
    order = score.argsort()
    for i in order[:5].tolist():
        lab = [round(v, 1) for v in result["lab"][i].tolist()]
        print(
            f"  code {[round(v, 2) for v in codes[i].tolist()]}  distance {score[i]:.2f}  "
            f"day → L*a*b* {lab}  night photos' L* ×{result['night_lightening'][i]:.2f}"
        )
    return codes[order[0]], {k: v[order[0]].tolist() for k, v in result.items()}


def grid(centre: torch.Tensor, half_width: float, step: float) -> torch.Tensor:
    axes = [torch.arange(c - half_width, c + half_width + 1e-6, step).tolist() for c in centre]
    return torch.tensor(list(itertools.product(*axes)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights")
    parser.add_argument("--write", type=Path, help="save the weights with this night preset")
    args = parser.parse_args()
    model = hidt_cli.load(args.weights, device="cpu", dtype=torch.float32)
    curated = training_photos("daytime-extra", "wallpaper-night-")
    day = (
        training_photos("daytime", "weather-shine-")[::40][:4]
        + training_photos("daytime-extra", "phone-day-")[::30][:3]
        + training_photos("daytime", "amos-day-")[::60][:3]
        + training_photos("daytime", "weather-clouds-")[::90][:2]
    )
    night = (
        training_photos("daytime-extra", "phone-night-")[::40][:3]
        + curated[::3]
        + training_photos("daytime", "amos-night-")[::90][:1]
    )
    curated_lab = torch.cat([lab_means(photo_255(p) / 127.5 - 1) for p in curated])
    target = (curated_lab[:, 0].median().item(), curated_lab[:, 2].median().item())
    print(f"target: median L* {target[0]:.1f}, b* {target[1]:.1f} of {len(curated)} night photos")
    print("stage 1: step 1 over [-2.5, 2.5]³")
    code, _ = best(model, grid(torch.zeros(3), 2.5, 1.0), day, night, target)
    print("stage 2: step 0.25 around it")
    code, measured = best(model, grid(code, 0.5, 0.25), day, night, target)
    code = [round(v, 3) for v in code.tolist()]
    print(f"night preset: {code}")
    if args.write:
        loaded = weights_io.load(Path(args.weights), "generator")
        presets = {**loaded.presets, "night": tuple(code)}
        provenance = {
            **loaded.provenance,
            "night_preset": {
                "rule": "weights/training/fit_night_preset.py",
                "target_L_b": [round(v, 2) for v in target],
                "day_lab": [round(v, 2) for v in measured["lab"]],
                "night_lightening": round(measured["night_lightening"], 3),
            },
        }
        weights_io.save_safetensors(
            args.write,
            loaded.build(),
            "generator",
            presets=presets,
            provenance=provenance,
            half=True,
        )
        if (args.write.parent / weights_io.MANIFEST).is_file():  # keep the folder's manifest true
            weights_io.write_manifest(args.write.parent)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
