"""The numbers of the HiDT paper's Table 2 and a few more, as small tensor functions that run
on whatever device their inputs are on. Where the paper uses Inception, callers pass the
daytime classifier's probabilities and features."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from hidt_cli.eval.color import srgb_to_lab

PSNR_CAP_DB = 100.0
"""PSNR of identical images is infinite; it is reported as this so that JSON can hold it."""


def inception_score(probabilities: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) ‖ p(y))) of N×K class probabilities: 1 when every prediction is the
    same, K when predictions are confident and spread evenly over K classes."""
    p = probabilities.double()
    marginal = p.mean(0, keepdim=True)
    kl = (torch.xlogy(p, p) - torch.xlogy(p, marginal)).sum(1)
    return float(kl.mean().exp())


def conditional_inception_score(probabilities: Sequence[torch.Tensor]) -> float:
    """CIS (MUNIT): the IS of each content image's translations (one M×K tensor per content),
    averaged; high when every single photo can be taken to many classes."""
    if not probabilities:
        raise ValueError("CIS needs at least one content image")
    return sum(inception_score(p) for p in probabilities) / len(probabilities)


def dipd(features_a: torch.Tensor, features_b: torch.Tensor) -> torch.Tensor:
    """Domain-invariant perceptual distance per pair of B×C×h×w feature maps: each map is
    instance-normalised (removing the per-channel statistics that carry style, as in MUNIT),
    flattened and L2-normalised, and the L2 distance taken. 0 for identical images."""
    return (_unit(features_a) - _unit(features_b)).norm(dim=1)


def _unit(features: torch.Tensor) -> torch.Tensor:
    normalised = F.instance_norm(features.float()) if features.shape[-2:].numel() > 1 else features
    return F.normalize(normalised.flatten(1).float(), dim=1)


def style_consistency(recovered: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """‖E_s(G(c, s)) − s‖ per translation: how well the style put in is read back out."""
    return (recovered.float() - styles.to(recovered.device).float()).norm(dim=1)


def psnr(images_pm1: torch.Tensor, references_pm1: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per image of B×3×H×W images in [−1, 1] (peak: the full range), capped at
    PSNR_CAP_DB."""
    mse = ((images_pm1.float() - references_pm1.float()) / 2).pow(2).flatten(1).mean(1)
    floor = 10 ** (-PSNR_CAP_DB / 10)
    return -10 * mse.clamp(min=floor).log10()


def colour_cast(images_pm1: torch.Tensor, photo_pm1: torch.Tensor) -> torch.Tensor:
    """|mean Δa*|, |mean Δb*| of each translation against its photo (K×2, CIELAB units): the
    colour a style lays over the whole picture. A night or sunset moves b* on purpose; the
    green, magenta and purple casts of bad prior styles move a* (green negative, magenta and
    purple positive), so a* is the one to watch."""
    shift = _lab(images_pm1)[:, 1:].mean((2, 3)) - _lab(photo_pm1)[:, 1:].mean((2, 3))
    return shift.abs()


def mean_chroma(images_pm1: torch.Tensor) -> torch.Tensor:
    """Mean CIELAB chroma (√(a*² + b*²)) of each image: 0 for greys, about 30–60 for the
    saturated greens of grass and the blue of a clear sky."""
    return _lab(images_pm1)[:, 1:].norm(dim=1).mean((1, 2))


def _lab(images_pm1: torch.Tensor) -> torch.Tensor:
    return srgb_to_lab(images_pm1.float().add(1).div(2).clamp(0, 1))


def hit_rate(predicted: torch.Tensor, wanted: torch.Tensor) -> float:
    """Share of translations whose predicted class is the class asked for."""
    if predicted.numel() == 0:
        raise ValueError("hit rate of no translations")
    return float((predicted == wanted.to(predicted.device)).float().mean())


def confusion_matrix(true: torch.Tensor, predicted: torch.Tensor, classes: int) -> torch.Tensor:
    """K×K counts, rows the true class, columns the predicted one."""
    index = true.long().cpu() * classes + predicted.long().cpu()
    return torch.bincount(index, minlength=classes * classes).view(classes, classes)


def accuracy(matrix: torch.Tensor) -> float:
    total = int(matrix.sum())
    return float(matrix.diag().sum()) / total if total else 0.0
