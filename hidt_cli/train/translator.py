"""Training the HiDT generator with the paper's objective.

One step, for a batch x whose photos lend each other their styles (x' = x rolled by one):
  c, s = E_c(x), E_s(x);  s' = s rolled;  s_r ~ N(0, I)
  decode (c, s), (c, s'), (c, s_r) → x̂ (reconstruction), x̃ (swap), x_r (random style)
  encode x̃ and x_r again → content and style reconstructions (L_c, L_s, L_c^r, L_s^r)
  decode (c̃, s) → cycle L_cyc and (c_r, s) → L_rec^r
  L_dist on a pool of recent style codes; LSGAN terms from an unconditional and a
  style-conditional discriminator on x̃ and x_r; segmentation terms when masks are given.
The three decodes and the two re-encodes each run as one batch. With pairs of frames of fixed
cameras (train/pairs.py), the paired term adds L1(G(E_c(A), E_s(B)), B) where the view agrees.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hidt_cli import sheets
from hidt_cli.hires import inference_shape, resize_255
from hidt_cli.io.images import read_image, write_image
from hidt_cli.models import Content, Generator
from hidt_cli.models.discriminators import MultiScaleDiscriminator
from hidt_cli.photosets import classes_for, find_photos
from hidt_cli.ranges import to_pm1, to_uint8
from hidt_cli.styles import sample_prior
from hidt_cli.train import losses
from hidt_cli.train.averaging import WeightAverage
from hidt_cli.train.config import Phase, TranslatorTrainConfig, with_paired_weight
from hidt_cli.train.data import PhotoCrops, balanced_weights, make_loader
from hidt_cli.train.pairs import ScenePairCrops, change_mask, read_scenes
from hidt_cli.train.runtime import (
    Checkpointed,
    RunLog,
    Runtime,
    broadcast_parameters,
    seed_everything,
)
from hidt_cli.weights import save_safetensors

SAMPLE_PHOTOS = 4
SAMPLE_PRIOR_STYLES = 4
STANDARDISE_PHOTOS = 64


def _cat(contents: list[Content]) -> Content:
    return Content(*(torch.cat(parts) for parts in zip(*contents, strict=True)))


class TranslatorTrainer(Checkpointed):
    """Owns the networks, optimisers and data of one translator training run."""

    CHECKPOINT = "checkpoint.pt"
    WEIGHTS = "generator.safetensors"
    NETWORK = "generator"
    PARTS = ("generator", "dis", "dis_cond", "opt_g", "opt_d")

    def __init__(
        self,
        config: TranslatorTrainConfig,
        data_root: Path,
        out_dir: Path,
        runtime: Runtime,
        *,
        masks_root: Path | None = None,
        class_csv: Path | None = None,
    ) -> None:
        config = with_paired_weight(config)
        self.config = config
        self.runtime = runtime
        self.out_dir = out_dir
        self.data_root = data_root
        self.masks_root = masks_root
        seed_everything(config.seed, runtime.rank)
        device = runtime.device
        fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
        self.generator = Generator(config.generator).to(device, memory_format=fmt)
        d_args = dict(
            scales=config.d_scales,
            base=config.d_base,
            layers=config.d_layers,
            spectral=config.spectral_norm,
        )
        self.dis = MultiScaleDiscriminator(**d_args).to(device, memory_format=fmt)
        self.dis_cond = MultiScaleDiscriminator(style_dim=config.generator.style_dim, **d_args).to(
            device, memory_format=fmt
        )
        for net in (self.generator, self.dis, self.dis_cond):
            broadcast_parameters(net, runtime)
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(),
            config.lr_g,
            betas=config.betas,
            weight_decay=config.weight_decay,
        )
        self.opt_d = torch.optim.Adam(
            [*self.dis.parameters(), *self.dis_cond.parameters()],
            config.lr_d,
            betas=config.betas,
            weight_decay=config.weight_decay,
        )
        self.pool = losses.StylePool(config.style_pool)
        self.step = 0
        self.photos = find_photos(data_root)
        self.classes = classes_for(self.photos, data_root, csv=class_csv)
        self.scenes = (
            read_scenes(Path(config.pairs), self.photos, data_root) if config.uses_pairs else []
        )
        self.log = RunLog(out_dir / "log.jsonl", runtime.is_main)
        self._forward_g = self._compiled(self._generator_losses)
        self._standardise_style_codes()
        self.average = WeightAverage(self.generator, config.ema) if config.ema else None

    # ---------------------------------------------------------------- data

    def _shorter_sides(self, crop: int) -> tuple[int, int]:
        low, high = self.config.shorter_side_scale
        return crop, max(crop, int(crop * high / low))

    def _loader(self, phase: Phase):
        dataset = PhotoCrops(
            self.photos,
            crop=phase.crop,
            shorter_side=self._shorter_sides(phase.crop),
            masks_root=self.masks_root,
            photos_root=self.data_root,
        )
        weights = None
        if self.config.balance and any(c is not None for c in self.classes):
            weights = balanced_weights(self.classes)
        return self._endless(dataset, phase.batch, weights)

    def _pair_batches(self, phase: Phase):
        """Endless batches of frame pairs at the phase's crop and batch size; None without the
        paired term."""
        if not self.scenes:
            return None
        dataset = ScenePairCrops(self.scenes, phase.crop, self._shorter_sides(phase.crop))
        return iter(self._endless(dataset, phase.batch))

    def _endless(self, dataset, batch: int, weights: torch.Tensor | None = None):
        return make_loader(
            dataset,
            batch_size=batch,
            balanced_weights=weights,
            workers=self.config.workers,
            seed=self.config.seed + self.step,
            rank=self.runtime.rank,
            world_size=self.runtime.world_size,
        )

    @torch.no_grad()
    def _standardise_style_codes(self) -> None:
        """Rescale the style encoder's last layer so that the codes of sample photos start at
        mean 0, std 1 per dimension, like the random styles they are mixed with. A random
        init gives codes ~30× smaller; from there the codes collapse together, and L_dist
        cannot pull them apart, as its gradient shrinks with their spread (measured: std
        0.003 after 150 steps without this)."""
        if len(self.photos) < 2:
            return
        photos = fixed_photos(self.photos, STANDARDISE_PHOTOS, self.config.phases[0].crop)
        codes = self.generator.encode_style(photos.to(self.runtime.device)).float()
        mean, std = codes.mean(0), codes.std(0).clamp_min(1e-8)
        head = self.generator.style_encoder.head[-1]
        head.weight.div_(std.view(-1, 1, 1, 1).to(head.weight.dtype))
        head.bias.sub_(mean.to(head.bias.dtype)).div_(std.to(head.bias.dtype))
        broadcast_parameters(self.generator, self.runtime)

    def _compiled(self, fn: Callable) -> Callable:
        return torch.compile(fn) if self.config.compile else fn

    # ---------------------------------------------------------------- one step

    def _generator_losses(
        self, x: torch.Tensor, masks: torch.Tensor | None
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
        """The generator's non-adversarial terms, with the fakes and their styles."""
        g = self.generator
        b = len(x)
        content = g.encode_content(x)
        style = g.encode_style(x)
        swapped_style = style.roll(1, 0)
        random_style = torch.randn_like(style)
        # raw: the segmentation terms take the second head's logits, before tanh
        out = g.decoder(_cat([content] * 3), torch.cat([style, swapped_style, random_style]))
        reconstruction, swapped, randomised = torch.tanh(out[:, :3]).split(b)
        fakes = torch.cat([swapped, randomised])
        content2 = g.encode_content(fakes)
        style2 = g.encode_style(fakes)
        content_swap = Content(*(t[:b] for t in content2))
        content_rand = Content(*(t[b:] for t in content2))
        round_trip = g.decode_images(_cat([content_swap, content_rand]), torch.cat([style, style]))
        cycle, random_back = round_trip.split(b)
        fake_styles = torch.cat([swapped_style, random_style])
        terms = {
            "rec": F.l1_loss(reconstruction, x),
            "cyc": F.l1_loss(cycle, x),
            "rec_random": F.l1_loss(random_back, x),
            "content": F.l1_loss(content_swap.content, content.content),
            "content_random": F.l1_loss(content_rand.content, content.content),
            # The target is detached: the swapped image must carry the other photo's code,
            # not pull that code towards whatever the image encodes to (a collapse force).
            "style": F.l1_loss(style2[:b], swapped_style.detach()),
            "style_random": F.l1_loss(style2[b:], random_style),
            "dist": losses.style_distribution(self.pool.with_current(style)),
        }
        if masks is not None:
            seg_logits = out[:, 3:]
            terms["seg"] = losses.segmentation(seg_logits, masks.repeat(3, 1, 1))
        return terms, fakes, fake_styles, style

    def _paired_term(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """L1 between frame B and frame A's content decoded with B's style, where the two
        frames show the same scene (the mask is computed in float32, outside autocast)."""
        mask = change_mask(a, b)
        g = self.generator
        with self.runtime.autocast():
            decoded, _ = g.decode(g.encode_content(a), g.encode_style(b))
        return losses.masked_l1(decoded, b, mask)

    def train_step(
        self,
        x: torch.Tensor,
        masks: torch.Tensor | None = None,
        pair: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> dict[str, float]:
        """One discriminator and one generator update; returns the losses as floats. `pair`
        (frames A, B of fixed cameras) adds the paired term, which trains the generator only."""
        rt = self.runtime
        with rt.autocast():
            terms, fakes, fake_styles, style = self._forward_g(x, masks)
        if pair is not None:
            terms["paired"] = self._paired_term(*pair)
        # Discriminators first, on detached fakes; a real photo paired with another photo's
        # style counts as fake for the conditional one, so it must look at the style.
        self.opt_d.zero_grad(set_to_none=True)
        with rt.autocast():
            real_style = style.detach()
            d_loss = losses.lsgan_discriminator(self.dis(x), self.dis(fakes.detach()))
            cond_fake = torch.cat([fakes.detach(), x])
            cond_fake_styles = torch.cat([fake_styles.detach(), real_style.roll(1, 0)])
            d_loss = d_loss + losses.lsgan_discriminator(
                self.dis_cond(x, real_style), self.dis_cond(cond_fake, cond_fake_styles)
            )
        d_loss.backward()
        rt.average_gradients([*self.dis.parameters(), *self.dis_cond.parameters()])
        self.opt_d.step()
        # Generator: adversarial terms against the updated discriminators.
        with rt.autocast():
            terms["adv"] = losses.lsgan_generator(self.dis(fakes))
            terms["adv_cond"] = losses.lsgan_generator(self.dis_cond(fakes, fake_styles))
        lam = self.config.losses
        terms["total"] = sum(getattr(lam, k) * v for k, v in terms.items())
        self.opt_g.zero_grad(set_to_none=True)
        terms["total"].backward()
        rt.average_gradients(self.generator.parameters())
        self.opt_g.step()
        if self.average is not None:
            self.average.update(self.generator)
        self.pool.push(style)
        self.step += 1
        return {**{k: float(v.detach()) for k, v in terms.items()}, "d": float(d_loss.detach())}

    # ---------------------------------------------------------------- the run

    def run(self, *, on_step: Callable[[int, dict[str, float]], None] = lambda s, v: None) -> None:
        """Train until the last phase ends, logging, sampling and checkpointing on the way."""
        cfg, device = self.config, self.runtime.device
        while self.step < cfg.total_steps:
            index, phase = cfg.phase_at(self.step)
            phase_end = sum(p.steps for p in cfg.phases[: index + 1])
            loader = iter(self._loader(phase))
            pairs = self._pair_batches(phase)
            started, seen = time.monotonic(), 0
            while self.step < phase_end:
                batch = next(loader)
                x = self._on_device(batch["image"])
                masks = batch["mask"].to(device) if "mask" in batch else None
                values = self.train_step(x, masks, self._next_pair(pairs))
                seen += len(x) * self.runtime.world_size
                on_step(self.step, values)
                if self.step % cfg.log_every == 0 or self.step == phase_end:
                    rate = seen / max(1e-9, time.monotonic() - started)
                    self.log.write(
                        {
                            "step": self.step,
                            "phase": index,
                            "crop": phase.crop,
                            "images_per_s": round(rate, 2),
                            **values,
                        }
                    )
                if self.step % cfg.sample_every == 0:
                    self.write_samples()
                if self.step % cfg.checkpoint_every == 0:
                    self.save()
        self.save()
        self.write_samples()

    def _on_device(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.runtime.device, non_blocking=True)
        if self.runtime.device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def _next_pair(self, pairs) -> tuple[torch.Tensor, torch.Tensor] | None:
        """A batch of frame pairs when the paired term is due at this step. Due at the steps
        that end on a multiple of `paired_every`, so a log interval that is a multiple of it
        always logs the term."""
        if pairs is None or (self.step + 1) % self.config.paired_every:
            return None
        batch = next(pairs)
        return self._on_device(batch["a"]), self._on_device(batch["b"])

    # ---------------------------------------------------------------- state

    def extra_state(self) -> dict:
        pool = self.pool.codes if self.pool.codes is not None else torch.empty(0)
        extra = {"style_pool": pool}
        if self.average is not None:
            extra["average"] = self.average.state_dict()
        return extra

    def load_extra_state(self, state: dict) -> None:
        """The style pool and the weight average; a checkpoint saved without an average (an
        older run, or one with ema 0) starts one from its generator."""
        if state["style_pool"].numel():
            self.pool.codes = state["style_pool"].to(self.runtime.device)
        if self.average is not None:
            if "average" in state:
                self.average.load_state_dict(state["average"])
            else:
                self.average.restart(self.generator)

    def init_generator(self, state: dict[str, torch.Tensor]) -> None:
        """Start from a generator's weights only (a small file), with fresh optimisers."""
        self.generator.load_state_dict(state)
        broadcast_parameters(self.generator, self.runtime)
        if self.average is not None:
            self.average.restart(self.generator)

    @property
    def exported(self) -> Generator:
        """The generator that is exported and sampled: the weight average when there is one."""
        return self.generator if self.average is None else self.average.module

    def export(self, path: Path, half: bool = True) -> None:
        """The generator with presets (mean style code per daytime class) and provenance."""
        presets = class_presets(self.exported, self.photos, self.classes, self.runtime)
        save_safetensors(
            path,
            self.exported,
            "generator",
            presets=presets,
            provenance=self.provenance(),
            half=half,
        )

    # ---------------------------------------------------------------- samples

    @torch.no_grad()
    def write_samples(self) -> Path | None:
        """A grid on fixed photos: each row is one photo, then its reconstruction, then the
        photo in every other sample photo's style, then in fixed prior styles."""
        if not self.runtime.is_main:
            return None
        g, device = self.exported, self.runtime.device
        was_training = g.training
        g.eval()
        crop = self.config.phase_at(max(0, self.step - 1))[1].crop
        photos = fixed_photos(self.photos, SAMPLE_PHOTOS, crop).to(device)
        prior = sample_prior(SAMPLE_PRIOR_STYLES, seed=1234, dim=g.config.style_dim).to(device)
        content, style = g.encode_content(photos), g.encode_style(photos)
        rows = []
        for i in range(len(photos)):
            styles = torch.cat([style, prior])
            decoded, _ = g.decode(content.slice(i, 1).expand(len(styles)), styles)
            rows.append([photos[i], *decoded])
        g.train(was_training)
        cells = [list(to_uint8(torch.stack(row))) for row in rows]
        captions = [
            [
                "photo",
                *(f"style {j}" for j in range(len(photos))),
                *(f"prior {j}" for j in range(SAMPLE_PRIOR_STYLES)),
            ]
        ] * len(rows)
        path = self.out_dir / "samples" / f"step_{self.step:07d}.png"
        write_image(path, sheets.grid(cells, captions=captions, cell_height=crop), overwrite=True)
        return path


def fixed_photos(photos: list[Path], count: int, size: int) -> torch.Tensor:
    """Photos evenly spaced over the sorted list (so several classes show), centre-cropped to
    squares in [−1, 1]: the same every time, so sample grids compare across steps."""
    picks = [
        photos[i] for i in np.linspace(0, len(photos) - 1, min(count, len(photos))).astype(int)
    ]
    out = []
    for path in picks:
        rgb = torch.from_numpy(read_image(path).rgb.copy()).permute(2, 0, 1)[None].float()
        h, w = rgb.shape[-2:]
        scale = size / min(h, w)
        rgb = resize_255(
            rgb, (max(size, round(h * scale)), max(size, round(w * scale))), "bilinear"
        )
        top, left = (rgb.shape[-2] - size) // 2, (rgb.shape[-1] - size) // 2
        out.append(to_pm1(rgb[..., top : top + size, left : left + size]))
    return torch.cat(out)


@torch.no_grad()
def class_presets(
    generator: Generator,
    photos: list[Path],
    classes: list[str | None],
    runtime: Runtime,
    inference_size: int = 256,
) -> dict[str, tuple[float, ...]]:
    """Mean style code of the photos of each daytime class: presets computed, not guessed."""
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    was_training = generator.training
    generator.eval()
    for path, cls in zip(photos, classes, strict=True):
        if cls is None:
            continue
        rgb = torch.from_numpy(read_image(path).rgb.copy()).permute(2, 0, 1)[None].float()
        x = resize_255(
            rgb.to(runtime.device), inference_shape(*rgb.shape[-2:], inference_size), "bicubic"
        )
        code = generator.encode_style(to_pm1(x))[0].float().cpu()
        sums[cls] = sums.get(cls, 0) + code
        counts[cls] = counts.get(cls, 0) + 1
    generator.train(was_training)
    return {
        cls: tuple(round(v, 6) for v in (sums[cls] / counts[cls]).tolist()) for cls in sorted(sums)
    }
