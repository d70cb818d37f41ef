"""The loss terms of HiDT training (and pix2pixHD's for the enhancer), each a small function."""

from __future__ import annotations

import torch
import torch.nn.functional as F

DiscriminatorOutput = list[tuple[torch.Tensor, list[torch.Tensor]]]


def lsgan_discriminator(real: DiscriminatorOutput, fake: DiscriminatorOutput) -> torch.Tensor:
    """Least-squares GAN loss of the discriminator, averaged over scales."""
    terms = [
        F.mse_loss(r.float(), torch.ones_like(r, dtype=torch.float32))
        + F.mse_loss(f.float(), torch.zeros_like(f, dtype=torch.float32))
        for (r, _), (f, _) in zip(real, fake, strict=True)
    ]
    return torch.stack(terms).mean()


def lsgan_generator(fake: DiscriminatorOutput) -> torch.Tensor:
    """Least-squares GAN loss of the generator: make the discriminator output 1."""
    return torch.stack(
        [F.mse_loss(f.float(), torch.ones_like(f, dtype=torch.float32)) for f, _ in fake]
    ).mean()


def feature_matching(real: DiscriminatorOutput, fake: DiscriminatorOutput) -> torch.Tensor:
    """L1 between the discriminator's features of the real and the generated image
    (pix2pixHD), the real side detached."""
    terms = [
        F.l1_loss(f.float(), r.detach().float())
        for (_, real_feats), (_, fake_feats) in zip(real, fake, strict=True)
        for r, f in zip(real_feats, fake_feats, strict=True)
    ]
    return torch.stack(terms).mean()


def style_distribution(codes: torch.Tensor) -> torch.Tensor:
    """L_dist = ‖μ̂‖₁ + ‖Σ̂ − I‖₁ + ‖diag(Σ̂) − 1‖₁ over N×d style codes: pulls the codes the
    encoder produces towards the N(0, I) prior that random styles are drawn from."""
    codes = codes.float()
    mean = codes.mean(0)
    centred = codes - mean
    covariance = centred.T @ centred / max(1, len(codes) - 1)
    eye = torch.eye(codes.shape[1], device=codes.device)
    return mean.abs().sum() + (covariance - eye).abs().sum() + (covariance.diag() - 1).abs().sum()


class StylePool:
    """The last `size` style codes (detached), so that L_dist sees more codes than one batch."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.codes: torch.Tensor | None = None

    def with_current(self, current: torch.Tensor) -> torch.Tensor:
        """Codes to compute L_dist on: the pool plus the current batch (with its gradient)."""
        if self.codes is None or self.codes.device != current.device:
            return current
        return torch.cat([self.codes.to(current.dtype), current])

    def push(self, current: torch.Tensor) -> None:
        fresh = current.detach().float()
        merged = fresh if self.codes is None else torch.cat([self.codes.to(fresh.device), fresh])
        self.codes = merged[-self.size :]


def segmentation(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the decoder's segmentation channels against class-index masks."""
    return F.cross_entropy(logits.float(), masks)


def masked_l1(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over the pixels a B×1×H×W mask keeps, so that leaving pixels
    out does not also weaken the term on the rest."""
    difference = (output.float() - target.float()).abs() * mask
    return difference.sum() / (mask.sum() * output.shape[1]).clamp_min(1)
