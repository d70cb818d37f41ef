"""Paired evaluation: every frame of a scene translated into every other frame's style and
compared with that real frame, next to two baselines scored the same way: the frame left
unchanged, and Reinhard colour transfer to the other frame's statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hidt_cli import hires
from hidt_cli.eval.color import lab_l1, reinhard_transfer
from hidt_cli.eval.ssim import ssim
from hidt_cli.model import HiDT
from hidt_cli.ranges import from_pm1

METHODS = ("hidt", "reinhard", "unchanged")


@dataclass
class PairScore:
    """One ordered pair of frames of a scene and each method's error against the real frame."""

    scene: str
    source: str
    target: str
    lab_l1: dict[str, float]
    ssim: dict[str, float]


@dataclass
class SceneResult:
    scores: list[PairScore]
    examples: list[list[np.ndarray]]
    """Rows of pictures: source frame, real target frame, then each method's result."""


def evaluate_scene(
    model: HiDT,
    scene: str,
    names: Sequence[str],
    frames_255: Sequence[torch.Tensor],
    inference_size: int = 256,
) -> SceneResult:
    """Frames (1×3×H×W in [0, 255]) are brought to the first frame's processing size, and
    each is translated into every other frame's style in one batch."""
    shape = hires.inference_shape(*frames_255[0].shape[-2:], inference_size)
    frames = torch.cat(
        [hires.resize_255(f.to(model.device).float(), shape, "bicubic") for f in frames_255]
    )
    styles = model.styles_of_images(frames, inference_size)
    scores, examples = [], []
    for i in range(len(frames)):
        others = [j for j in range(len(frames)) if j != i]
        translated = model.translate_tensor(
            frames[i : i + 1], styles[others], inference_size=inference_size
        )
        results = _method_results(frames[i : i + 1] / 255, translated, frames[others] / 255)
        targets = frames[others] / 255
        l1 = {m: lab_l1(r, targets).tolist() for m, r in results.items()}
        structure = {m: ssim(r, targets).tolist() for m, r in results.items()}
        for k, j in enumerate(others):
            scores.append(
                PairScore(
                    scene,
                    names[i],
                    names[j],
                    {m: l1[m][k] for m in METHODS},
                    {m: structure[m][k] for m in METHODS},
                )
            )
        if i in (
            0,
            len(frames) - 1,
        ):  # the darkest and brightest frames, as spread_frames orders them
            k = len(others) - 1 if i == 0 else 0
            row = [
                frames[i : i + 1] / 255,
                targets[k : k + 1],
                *(results[m][k : k + 1] for m in METHODS[:2]),
            ]
            examples.append([_uint8(picture) for picture in row])
    return SceneResult(scores, examples)


def _method_results(
    source_01: torch.Tensor, translated_pm1: torch.Tensor, targets_01: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Each method's pictures for the targets, in [0, 1], on 8-bit levels like saved files."""
    hidt = from_pm1(translated_pm1).round_().clamp_(0, 255) / 255
    unchanged = source_01.expand_as(targets_01)
    reinhard = (reinhard_transfer(unchanged, targets_01) * 255).round() / 255
    return {"hidt": hidt, "reinhard": reinhard, "unchanged": unchanged}


def _uint8(images_01: torch.Tensor) -> np.ndarray:
    return (images_01[0] * 255).round().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()


def summarise(scores: Sequence[PairScore]) -> dict[str, dict[str, float]]:
    """Mean Lab L1 and SSIM of each method over the given pairs."""
    if not scores:
        raise ValueError("no frame pairs to summarise")
    return {
        m: {
            "lab_l1": sum(s.lab_l1[m] for s in scores) / len(scores),
            "ssim": sum(s.ssim[m] for s in scores) / len(scores),
        }
        for m in METHODS
    }
