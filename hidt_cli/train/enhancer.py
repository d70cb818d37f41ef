"""Training G_enh on the exact inference scheme.

Paired step: a high-resolution region of a photo becomes the 4S+4 canvas, its 16 shifted
medium crops are translated by the (frozen) generator with the photo's own style, merged, and
G_enh learns to give back the photo at 4S: L1 + discriminator feature matching + LSGAN
(+ VGG perceptual when weights are given). Unpaired step: the same with a style from N(0, I),
where no target exists, so only the adversarial term trains G_enh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from hidt_cli import hires, sheets
from hidt_cli.io.images import write_image
from hidt_cli.models import Enhancer, Generator
from hidt_cli.models.discriminators import MultiScaleDiscriminator
from hidt_cli.photosets import find_photos
from hidt_cli.ranges import to_pm1, to_uint8
from hidt_cli.train import losses
from hidt_cli.train.config import EnhancerTrainConfig
from hidt_cli.train.data import HiresCrops, make_loader
from hidt_cli.train.perceptual import VGGPerceptualLoss
from hidt_cli.train.runtime import (
    Checkpointed,
    RunLog,
    Runtime,
    broadcast_parameters,
    seed_everything,
)
from hidt_cli.weights import save_safetensors

CROPS = hires.SHIFTS**2
"""Shifted medium crops per photo in the inference scheme."""


class EnhancerTrainer(Checkpointed):
    """Owns G_enh, its discriminator and optimisers; the generator is frozen."""

    CHECKPOINT = "enhancer_checkpoint.pt"
    WEIGHTS = "enhancer.safetensors"
    NETWORK = "enhancer"
    PARTS = ("enhancer", "dis", "opt_g", "opt_d")

    def __init__(
        self,
        config: EnhancerTrainConfig,
        generator: Generator,
        data_root: Path,
        out_dir: Path,
        runtime: Runtime,
        *,
        vgg_weights: Path | None = None,
    ) -> None:
        self.config, self.runtime, self.out_dir, self.data_root = (
            config,
            runtime,
            out_dir,
            data_root,
        )
        seed_everything(config.seed, runtime.rank)
        device = runtime.device
        self.generator = generator.to(device).eval().requires_grad_(False)
        self.enhancer = Enhancer(config.enhancer).to(device)
        self.dis = MultiScaleDiscriminator(
            scales=config.d_scales, base=config.d_base, layers=config.d_layers
        ).to(device)
        for net in (self.enhancer, self.dis):
            broadcast_parameters(net, runtime)
        self.opt_g = torch.optim.Adam(self.enhancer.parameters(), config.lr_g, betas=config.betas)
        self.opt_d = torch.optim.Adam(self.dis.parameters(), config.lr_d, betas=config.betas)
        self.perceptual = VGGPerceptualLoss(vgg_weights).to(device) if vgg_weights else None
        self.photos = find_photos(data_root)
        self.step = 0
        self.log = RunLog(out_dir / "enhancer_log.jsonl", runtime.is_main)
        self._unpaired = torch.Generator().manual_seed(config.seed + runtime.rank)

    @torch.no_grad()
    def merge_inputs(
        self, photos_255: torch.Tensor, styles: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """B×3×(4S+4)×W canvases → (merge inputs B×48×h×w, targets B×3×4h×4w in [−1, 1]).
        styles None = each photo's own style (the paired case)."""
        size, g = self.config.size, self.generator
        crops = hires.shifted_crops(photos_255, size)
        if styles is None:
            shape = hires.inference_shape(*photos_255.shape[-2:], size)
            styles = g.encode_style(to_pm1(hires.resize_255(photos_255, shape, "bicubic")))
        with self.runtime.autocast():
            translated, _ = g.decode(g.encode_content(crops), styles.repeat_interleave(CROPS, 0))
        merged = hires.merge_input(translated.float())
        h, w = merged.shape[-2:]
        targets = to_pm1(hires.resize_255(photos_255, (4 * h, 4 * w), "bicubic"))
        return merged, targets

    def train_step(self, photos_255: torch.Tensor) -> dict[str, float]:
        cfg, rt = self.config, self.runtime
        paired = torch.rand((), generator=self._unpaired).item() >= cfg.unpaired_fraction
        styles = (
            None
            if paired
            else torch.randn(
                len(photos_255), self.generator.config.style_dim, generator=self._unpaired
            ).to(rt.device)
        )
        merged, targets = self.merge_inputs(photos_255, styles)
        with rt.autocast():
            output = self.enhancer(merged)
        self.opt_d.zero_grad(set_to_none=True)
        with rt.autocast():
            d_loss = losses.lsgan_discriminator(self.dis(targets), self.dis(output.detach()))
        d_loss.backward()
        rt.average_gradients(self.dis.parameters())
        self.opt_d.step()
        with rt.autocast():
            fake = self.dis(output)
            terms = {"adv": losses.lsgan_generator(fake)}
            if paired:
                terms["l1"] = F.l1_loss(output.float(), targets)
                terms["feature_matching"] = losses.feature_matching(self.dis(targets), fake)
                if self.perceptual is not None:
                    terms["perceptual"] = self.perceptual(output.float(), targets)
        total = sum(getattr(cfg, k) * v for k, v in terms.items())
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        rt.average_gradients(self.enhancer.parameters())
        self.opt_g.step()
        self.step += 1
        return {
            "total": float(total.detach()),
            "d": float(d_loss.detach()),
            "paired": float(paired),
            **{k: float(v.detach()) for k, v in terms.items()},
        }

    def run(self, *, on_step: Callable[[int, dict[str, float]], None] = lambda s, v: None) -> None:
        cfg, device = self.config, self.runtime.device
        dataset = HiresCrops(self.photos, size=cfg.size)
        loader = iter(
            make_loader(
                dataset,
                batch_size=1,
                workers=cfg.workers,
                seed=cfg.seed + self.step,
                rank=self.runtime.rank,
                world_size=self.runtime.world_size,
            )
        )
        started = time.monotonic()
        while self.step < cfg.steps:
            # Regions differ in aspect ratio, so a batch is gathered photo by photo.
            photos = [next(loader)["photo"] for _ in range(cfg.batch)]
            photos = _same_size(photos)
            values = self.train_step(torch.cat(photos).to(device).float())
            on_step(self.step, values)
            if self.step % cfg.log_every == 0:
                rate = self.step / max(1e-9, time.monotonic() - started)
                self.log.write({"step": self.step, "steps_per_s": round(rate, 3), **values})
            if self.step % cfg.sample_every == 0:
                self.write_sample(photos[0].to(device).float())
            if self.step % cfg.checkpoint_every == 0:
                self.save()
        self.save()

    def export(self, path: Path) -> None:
        save_safetensors(path, self.enhancer, "enhancer", provenance=self.provenance(), half=True)

    @torch.no_grad()
    def write_sample(self, photo_255: torch.Tensor) -> Path | None:
        """Target | G_enh output | nearest upsampling of the first crop, side by side."""
        if not self.runtime.is_main:
            return None
        merged, target = self.merge_inputs(photo_255, None)
        output = self.enhancer(merged).clamp(-1, 1)
        first = F.interpolate(merged[:, :3], scale_factor=4, mode="nearest")
        cells = [list(to_uint8(torch.cat([target, output, first])))]
        picture = sheets.grid(
            cells, captions=[["photo", "G_enh", "crop 0, 4x"]], cell_height=target.shape[-2]
        )
        path = self.out_dir / "enhancer_samples" / f"step_{self.step:07d}.png"
        write_image(path, picture, overwrite=True)
        return path


def _same_size(photos: list[torch.Tensor]) -> list[torch.Tensor]:
    """Centre-crop a batch of canvases to the smallest height and width so they stack; both
    stay at least 4S + 4, since every canvas has that as its shorter side."""
    height = min(p.shape[-2] for p in photos)
    width = min(p.shape[-1] for p in photos)

    def centre(p: torch.Tensor) -> torch.Tensor:
        top, left = (p.shape[-2] - height) // 2, (p.shape[-1] - width) // 2
        return p[..., top : top + height, left : left + width]

    return [centre(p) for p in photos]
