"""Training settings as dataclasses, saved with every checkpoint and in the exported weights'
provenance, so a run can be resumed and its weights explained."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from hidt_cli.models.config import EnhancerConfig, GeneratorConfig


@dataclass(frozen=True)
class Phase:
    """A stretch of training at one crop size and batch size (a curriculum is several)."""

    steps: int
    crop: int
    batch: int


@dataclass(frozen=True)
class LossWeights:
    """λ of each term of the HiDT objective.

    Image reconstructions (autoencoder, random-style round trip, cycle) weigh 10 and the latent
    reconstructions 1, the balance that HiDT's ancestor MUNIT found to keep content while the
    adversarial terms (1) push towards realistic lighting; L_dist (1) keeps encoded styles near
    the N(0, I) prior that random styles are drawn from; segmentation (1) only acts with masks.

    The paired term compares a generated image with a real photo, as the image
    reconstructions do, so pairs of frames (`TranslatorTrainConfig.pairs`) given without a
    weight (or with 0, which cannot be told from unset: the term is off only without pairs)
    get theirs, PAIRED_WEIGHT: as strong as each of them and no stronger, since its
    pairs come from a few fixed cameras, which the generator must not fit at the expense of
    the other photos.
    """

    rec: float = 10.0
    rec_random: float = 10.0
    cyc: float = 10.0
    content: float = 1.0
    style: float = 1.0
    content_random: float = 1.0
    style_random: float = 1.0
    dist: float = 1.0
    seg: float = 1.0
    adv: float = 1.0
    adv_cond: float = 1.0
    paired: float = 0.0


PAIRED_WEIGHT = 10.0


@dataclass(frozen=True)
class TranslatorTrainConfig:
    phases: tuple[Phase, ...] = (Phase(30_000, 128, 32), Phase(20_000, 256, 8))
    """Default curriculum: most steps at 128 px with large batches (4× cheaper per image),
    then 256 px, the size of the paper's training crops."""
    shorter_side_scale: tuple[float, float] = (1.0, 1.5)
    """Photos are resized so their shorter side is crop × a random factor in this range."""
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 1e-4
    ema: float = 0.999
    """Decay of the moving average of the generator's weights that is exported and sampled
    (train/averaging.py); 0 exports the trained weights themselves."""
    style_pool: int = 256
    d_scales: int = 2
    d_base: int = 64
    d_layers: int = 4
    spectral_norm: bool = False
    losses: LossWeights = field(default_factory=LossWeights)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    balance: bool = True
    """Draw each daytime class (from file names) equally often."""
    pairs: str | None = None
    """JSON file {scene: [frame, ...]} naming frames of fixed cameras (paths under the data
    folder) for the paired term; frames missing from the data folder are left out."""
    paired_every: int = 1
    """Add the paired term at every n-th step only, to bound its cost."""
    seed: int = 0
    log_every: int = 50
    sample_every: int = 1000
    checkpoint_every: int = 1000
    workers: int = 4
    compile: bool = False

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.phases)

    def phase_at(self, step: int) -> tuple[int, Phase]:
        """The phase that a global step falls in, with its index."""
        start = 0
        for i, phase in enumerate(self.phases):
            if step < start + phase.steps:
                return i, phase
            start += phase.steps
        return len(self.phases) - 1, self.phases[-1]

    @property
    def uses_pairs(self) -> bool:
        """Whether the paired term is on."""
        return self.pairs is not None and self.losses.paired > 0


def with_paired_weight(config: TranslatorTrainConfig) -> TranslatorTrainConfig:
    """Pairs given without a paired weight get PAIRED_WEIGHT."""
    if config.pairs is None or config.losses.paired:
        return config
    return dataclasses.replace(
        config, losses=dataclasses.replace(config.losses, paired=PAIRED_WEIGHT)
    )


@dataclass(frozen=True)
class EnhancerTrainConfig:
    steps: int = 20_000
    batch: int = 2
    size: int = 128
    """Inference size S of the medium crops; targets are 4S."""
    unpaired_fraction: float = 0.25
    """Share of steps that use random styles (adversarial terms only)."""
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    l1: float = 10.0
    feature_matching: float = 10.0
    adv: float = 1.0
    perceptual: float = 10.0
    """Used only when --vgg-weights is given."""
    d_scales: int = 3
    d_base: int = 64
    d_layers: int = 4
    enhancer: EnhancerConfig = field(default_factory=EnhancerConfig)
    seed: int = 0
    log_every: int = 50
    sample_every: int = 1000
    checkpoint_every: int = 1000
    workers: int = 4


def to_json(config) -> str:
    return json.dumps(dataclasses.asdict(config))


def from_dict(cls, data: dict):
    """Rebuild a (nested) config dataclass from its asdict() form; unknown keys are errors."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} settings: {sorted(unknown)}")
    values = {}
    for name, value in data.items():
        kind = _NESTED.get((cls, name))
        if kind is Phase:
            values[name] = tuple(Phase(**p) for p in value)
        elif kind is not None:
            values[name] = from_dict(kind, value)
        else:
            values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


_NESTED = {
    (TranslatorTrainConfig, "phases"): Phase,
    (TranslatorTrainConfig, "losses"): LossWeights,
    (TranslatorTrainConfig, "generator"): GeneratorConfig,
    (EnhancerTrainConfig, "enhancer"): EnhancerConfig,
}
