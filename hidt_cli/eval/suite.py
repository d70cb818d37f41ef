"""The evaluation run behind `hidt evaluate`: translate every content photo with styles from
the prior and with every style photo's style, score the translations with the daytime
classifier, and keep the small pictures the report shows. Each content photo is done in one
pass (its translations batched on the device), so memory does not grow with the set."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hidt_cli import hires
from hidt_cli.eval import metrics
from hidt_cli.eval.classifier import Classifier, Outputs
from hidt_cli.model import HiDT
from hidt_cli.ranges import from_pm1, photo_tensor, to_pm1, to_uint8
from hidt_cli.render import RenderSpec, network_input, resize_pm1
from hidt_cli.styles import sample_prior

KINDS = ("random", "swap")
"""Translations with styles from the prior, and with the style photos' styles."""


@dataclass
class Photo:
    """A photo to evaluate: its name, file (to tell content from style photos) and pixels."""

    name: str
    path: Path
    image_255: torch.Tensor  # 1×3×H×W in [0, 255], kept as uint8 until it is used


@dataclass
class Settings:
    random_styles: int = 4
    seed: int = 0
    inference_size: int = 256
    grid_rows: int = 6
    cell_height: int = 128
    hires_images: int = 2


@dataclass
class Evaluation:
    """Numbers (flat names → values) and what the report draws."""

    metrics: dict[str, float]
    hit_rate_by_style_class: dict[str, float]
    counts: dict[str, int]
    timing_s: dict[str, float]
    style_codes: torch.Tensor  # M×style_dim, the style photos'
    style_classes: list[str]
    content_codes: torch.Tensor  # N×style_dim, the content photos' own
    content_classes: list[str]
    prior_codes: torch.Tensor  # R×style_dim
    style_thumbs: list[np.ndarray] = field(default_factory=list)
    swap_rows: list[list[np.ndarray]] = field(default_factory=list)
    swap_captions: list[list[str]] = field(default_factory=list)
    prior_rows: list[list[np.ndarray]] = field(default_factory=list)
    prior_captions: list[list[str]] = field(default_factory=list)
    hires_rows: list[list[np.ndarray]] = field(default_factory=list)


class _Timer:
    """Wall time per stage, synchronised with the device so queued GPU work is counted."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.seconds[stage] += time.perf_counter() - start


@dataclass
class _Scores:
    """Per-translation numbers gathered over the content photos."""

    probabilities: dict[str, list[torch.Tensor]] = field(default_factory=lambda: defaultdict(list))
    distances: dict[str, list[torch.Tensor]] = field(default_factory=lambda: defaultdict(list))
    consistency: list[torch.Tensor] = field(default_factory=list)
    casts: list[torch.Tensor] = field(default_factory=list)
    chroma: list[torch.Tensor] = field(default_factory=list)  # per photo: reconstruction, photo
    psnr: dict[str, list[torch.Tensor]] = field(default_factory=lambda: defaultdict(list))
    hits: list[torch.Tensor] = field(default_factory=list)
    wanted: list[torch.Tensor] = field(default_factory=list)


@dataclass
class _Done:
    """One content photo after the networks: its own style code, the photo at processing
    size, its reconstruction, and per kind its translations and their classifier outputs."""

    own: torch.Tensor
    photo_pm1: torch.Tensor
    real: Outputs
    reconstruction: torch.Tensor
    images: dict[str, torch.Tensor] = field(default_factory=dict)
    outputs: dict[str, Outputs] = field(default_factory=dict)
    recovered: torch.Tensor | None = None  # style codes read back from the random translations


def evaluate(
    model: HiDT,
    classifier: Classifier,
    contents: Sequence[Photo],
    styles: Sequence[Photo],
    settings: Settings,
    on_photo: Callable[[], None] | None = None,
) -> Evaluation:
    """Table 2's numbers with the classifier in place of Inception, plus style consistency,
    reconstruction PSNR and hit rate; `on_photo` is called after each content photo. A photo
    given as both content and style is not swapped with itself."""
    if not contents or not styles:
        raise ValueError("evaluation needs content photos and style photos")
    timer = _Timer(model.device)
    size = settings.inference_size
    names = classifier.classes
    with timer("style encoding"):
        style_codes = torch.cat([model.styles_of_images(_on(p, model), size) for p in styles])
    with timer("classifier"):
        style_classes = torch.cat(
            [classifier.classify(_at_size(p, model, size)).probabilities.argmax(1) for p in styles]
        )
    priors = sample_prior(settings.random_styles, settings.seed, model.style_dim)
    evaluation = Evaluation(
        metrics={},
        hit_rate_by_style_class={},
        counts={},
        timing_s={},
        style_codes=style_codes.cpu(),
        style_classes=[names[i] for i in style_classes.tolist()],
        content_codes=torch.empty(0, model.style_dim),
        content_classes=[],
        prior_codes=priors,
        style_thumbs=[_thumb(_at_size(p, model, size), settings.cell_height)[0] for p in styles],
    )
    scores = _Scores()
    own_codes, real_probabilities = [], []
    for index, photo in enumerate(contents):
        keep = [j for j, s in enumerate(styles) if not _same_file(s.path, photo.path)]
        codes = {"random": priors, "swap": style_codes[keep]}
        done = _translate(model, classifier, photo, codes, timer, size)
        _score(done, priors, style_classes[keep], scores)
        own_codes.append(done.own.cpu())
        real_probabilities.append(done.real.probabilities)
        if index < settings.grid_rows:
            _add_grid_rows(evaluation, photo, done, keep, names, settings.cell_height)
        if index < settings.hires_images and model.enhancer is not None:
            _add_hires(evaluation, model, photo, done, scores, timer, settings)
        if on_photo:
            on_photo()
    evaluation.content_codes = torch.cat(own_codes)
    real = torch.cat(real_probabilities)
    evaluation.content_classes = [names[i] for i in real.argmax(1).tolist()]
    evaluation.metrics = _table(scores, real)
    evaluation.hit_rate_by_style_class = _hits_by_class(scores, names)
    counts = {kind: sum(len(p) for p in scores.probabilities[kind]) for kind in KINDS}
    evaluation.counts = {
        "content_photos": len(contents),
        "style_photos": len(styles),
        "random_styles_per_photo": settings.random_styles,
        "random_translations": counts["random"],
        "swap_translations": counts["swap"],
    }
    evaluation.timing_s = {k: round(v, 3) for k, v in timer.seconds.items()}
    translating = sum(timer.seconds[f"{kind} translation"] for kind in KINDS)
    evaluation.timing_s["per_translation_ms"] = round(
        1000 * translating / max(1, sum(counts.values())), 1
    )
    return evaluation


def _translate(model, classifier, photo, codes, timer, size) -> _Done:
    """All the network work for one content photo, batched over its styles."""
    x = _on(photo, model)
    photo_pm1 = _at_size(photo, model, size)
    with timer("style encoding"):
        own = model.styles_of_images(x, size)
    with timer("reconstruction"):
        reconstruction = model.translate_tensor(x, own, inference_size=size)
    with timer("classifier"):
        done = _Done(own, photo_pm1, classifier.classify(photo_pm1), reconstruction)
    for kind in KINDS:
        if len(codes[kind]):
            with timer(f"{kind} translation"):
                done.images[kind] = model.translate_tensor(x, codes[kind], inference_size=size)
            with timer("classifier"):
                done.outputs[kind] = classifier.classify(done.images[kind])
    with timer("style encoding"):
        done.recovered = model.encode_style(done.images["random"])
    return done


def _score(done: _Done, priors: torch.Tensor, wanted: torch.Tensor, scores: _Scores) -> None:
    """Add one content photo's numbers."""
    scores.psnr["reconstruction"].append(metrics.psnr(done.reconstruction, done.photo_pm1))
    scores.consistency.append(metrics.style_consistency(done.recovered, priors))
    scores.casts.append(metrics.colour_cast(done.images["random"], done.photo_pm1).cpu())
    pair = torch.cat([done.reconstruction, done.photo_pm1])
    scores.chroma.append(metrics.mean_chroma(pair).cpu())
    for kind, out in done.outputs.items():
        scores.probabilities[kind].append(out.probabilities)
        real = done.real.features.expand(len(out.features), -1, -1, -1)
        scores.distances[kind].append(metrics.dipd(real, out.features))
    if "swap" in done.outputs:
        scores.hits.append(done.outputs["swap"].probabilities.argmax(1).cpu())
        scores.wanted.append(wanted.cpu())


def _table(scores: _Scores, real_probabilities: torch.Tensor) -> dict[str, float]:
    table: dict[str, float] = {}
    for kind in KINDS:
        groups = scores.probabilities[kind]
        if groups:
            table[f"is_{kind}"] = metrics.inception_score(torch.cat(groups))
            table[f"cis_{kind}"] = metrics.conditional_inception_score(groups)
            table[f"dipd_{kind}"] = float(torch.cat(scores.distances[kind]).mean())
    if scores.hits:
        table["hit_rate"] = metrics.hit_rate(torch.cat(scores.hits), torch.cat(scores.wanted))
    table["style_consistency"] = float(torch.cat(scores.consistency).mean())
    table["prior_cast_a"], table["prior_cast_b"] = torch.cat(scores.casts).mean(0).tolist()
    reconstructed, photos = torch.stack(scores.chroma).sum(0).tolist()
    table["reconstruction_chroma_kept"] = reconstructed / max(photos, 1e-6)
    table["is_real"] = metrics.inception_score(real_probabilities)
    for name, values in scores.psnr.items():
        table[f"{name.replace(' ', '_')}_psnr_db"] = float(torch.cat(values).mean())
    return {k: round(v, 4) for k, v in table.items()}


def _hits_by_class(scores: _Scores, names: list[str]) -> dict[str, float]:
    if not scores.hits:
        return {}
    predicted, wanted = torch.cat(scores.hits), torch.cat(scores.wanted)
    return {
        names[c]: round(metrics.hit_rate(predicted[wanted == c], wanted[wanted == c]), 4)
        for c in sorted(set(wanted.tolist()))
    }


def _add_grid_rows(evaluation, photo, done: _Done, keep, names, height: int) -> None:
    """A row of the prior grid and of the swap grid: the photo, then its translations, each
    captioned with its predicted class (and, for the prior, its style code). Swap rows have a
    column per style photo, empty where the photo is that style photo."""
    first = _thumb(done.photo_pm1, height)[0]
    if "random" in done.images:
        predicted = done.outputs["random"].probabilities.argmax(1).tolist()
        evaluation.prior_rows.append([first, *_thumb(done.images["random"], height)])
        evaluation.prior_captions.append(
            [photo.name]
            + [
                f"{_code(code)} {names[c]}"
                for code, c in zip(evaluation.prior_codes.tolist(), predicted, strict=True)
            ]
        )
    cells: list[np.ndarray | None] = [None] * len(evaluation.style_thumbs)
    labels = [""] * len(cells)
    if "swap" in done.images:
        predicted = done.outputs["swap"].probabilities.argmax(1).tolist()
        for j, thumb, c in zip(keep, _thumb(done.images["swap"], height), predicted, strict=True):
            cells[j], labels[j] = thumb, names[c]
    evaluation.swap_rows.append([first, *cells])
    evaluation.swap_captions.append([photo.name, *labels])


def _add_hires(evaluation, model, photo, done: _Done, scores, timer, settings) -> None:
    """Reconstruction through the 16-crop enhancer, against the photo at the output's size,
    next to bicubic upsampling of the medium-resolution reconstruction."""
    x = _on(photo, model)
    with timer("hi-res translation"):
        big = model.translate_tensor(
            x, done.own, hires=True, inference_size=settings.inference_size, max_batch=1
        )
    shape = tuple(big.shape[-2:])
    reference = to_pm1(hires.resize_255(x, shape, "bicubic"))
    upsampled = resize_pm1(done.reconstruction, shape).clamp(-1, 1)
    with timer("detail transfer"):
        spec = RenderSpec(inference_size=settings.inference_size)
        pixels = next(model.render(from_pm1(reference), done.own, spec))
    detailed = to_pm1(photo_tensor(pixels[0], model.device))
    scores.psnr["hires reconstruction"].append(metrics.psnr(big, reference))
    scores.psnr["bicubic reconstruction"].append(metrics.psnr(upsampled, reference))
    scores.psnr["detail-transfer reconstruction"].append(metrics.psnr(detailed, reference))
    height = 2 * settings.cell_height
    evaluation.hires_rows.append(
        [_thumb(t, height)[0] for t in (reference, upsampled, big, detailed)]
    )


def _on(photo: Photo, model: HiDT) -> torch.Tensor:
    return photo.image_255.to(model.device, torch.float32)


def _at_size(photo: Photo, model: HiDT, size: int) -> torch.Tensor:
    """The photo as the networks see it: processing size, [−1, 1]."""
    return network_input(_on(photo, model), size)


def _thumb(images_pm1: torch.Tensor, height: int) -> np.ndarray:
    h, w = images_pm1.shape[-2:]
    return to_uint8(resize_pm1(images_pm1, (height, max(1, round(w * height / h)))))


def _code(code: Sequence[float]) -> str:
    return ",".join(f"{v:+.1f}" for v in code)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
