"""`hidt train` and `hidt train-enhancer`: training from the command line, single GPU, CPU, or
several GPUs when launched with torchrun."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import Debug, Device, Fp32, Quiet
from hidt_cli.train.config import EnhancerTrainConfig, Phase, TranslatorTrainConfig, from_dict
from hidt_cli.train.enhancer import EnhancerTrainer
from hidt_cli.train.runtime import Checkpoint, setup_runtime
from hidt_cli.train.translator import TranslatorTrainer
from hidt_cli.weights import load as load_weights
from hidt_cli.weights import resolve

Data = Annotated[Path, typer.Argument(help="Folder of photos (searched recursively).")]
Out = Annotated[
    Path, typer.Option("--out", "-o", help="Run folder: checkpoints, samples, log, weights.")
]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="JSON file with training settings (see README).")
]
Resume = Annotated[
    bool, typer.Option("--resume", help="Continue from the run folder's checkpoint.pt.")
]
Steps = Annotated[
    int | None, typer.Option("--steps", min=1, help="Train for this many steps in one phase.")
]
Curriculum = Annotated[
    str | None,
    typer.Option(help="Phases as STEPS:CROP:BATCH,... e.g. 30000:128:32,20000:256:8."),
]
Seed = Annotated[
    int | None, typer.Option("--seed", help="Seed for weights, data order and styles.")
]
Workers = Annotated[
    int | None, typer.Option("--workers", min=0, help="Data-loading worker processes.")
]


@dataclass(frozen=True)
class RunOptions:
    """What both training commands take: the run folder, its settings, resuming, length,
    seeds, logging and the device."""

    out: Out
    config_file: ConfigFile = None
    resume: Resume = False
    steps: Steps = None
    seed: Seed = None
    workers: Workers = None
    log_every: Annotated[
        int | None, typer.Option("--log-every", min=1, help="Steps between log lines.")
    ] = None
    sample_every: Annotated[
        int | None, typer.Option("--sample-every", min=1, help="Steps between sample sheets.")
    ] = None
    checkpoint_every: Annotated[
        int | None, typer.Option("--checkpoint-every", min=1, help="Steps between checkpoints.")
    ] = None
    device: Device = "auto"
    fp32: Fp32 = False
    quiet: Quiet = False
    debug: Debug = False

    def overrides(self) -> dict:
        """The settings given on the command line, for `build_config`."""
        names = ("seed", "workers", "log_every", "sample_every", "checkpoint_every")
        return {name: getattr(self, name) for name in names}


def parse_curriculum(text: str) -> tuple[Phase, ...]:
    """'30000:128:32,20000:256:8' → phases; a usage error names the bad part."""
    phases = []
    for part in text.split(","):
        try:
            steps, crop, batch = (int(v) for v in part.split(":"))
        except ValueError:
            fail(f"--curriculum {part!r}: expected STEPS:CROP:BATCH")
        if min(steps, crop, batch) < 1 or crop % 16:
            fail(f"--curriculum {part!r}: positive numbers, crop a multiple of 16")
        phases.append(Phase(steps, crop, batch))
    return tuple(phases)


def build_config(
    base: TranslatorTrainConfig | EnhancerTrainConfig, config_file: Path | None, **overrides
):
    """Defaults (or a resumed run's settings) ← the JSON file ← command-line options that were
    given."""
    config = base
    if config_file is not None:
        try:
            data = json.loads(config_file.read_text())
            config = from_dict(type(base), _merged(dataclasses.asdict(base), data))
        except (OSError, ValueError, TypeError) as exc:
            fail(f"{config_file}: {exc}")
    given = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(config, **given)


def _merged(base: dict, changes: dict) -> dict:
    """Nested settings merged key by key, so that {"losses": {"paired": 5}} changes one λ of a
    resumed run and keeps the others."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            value = _merged(base[key], value)
        merged[key] = value
    return merged


def _saved_run(path: Path) -> Checkpoint:
    """The checkpoint to resume, read once for both its settings and its state."""
    if not path.is_file():
        fail(f"{path}: no checkpoint to resume from", common.EXIT_INPUT)
    return Checkpoint.read(path)


@grouped
def train(
    data: Data,
    *,
    run: RunOptions,
    init: Annotated[
        str | None,
        typer.Option(help="Start the generator from these weights (weights-only restart)."),
    ] = None,
    crop: Annotated[int, typer.Option(help="Crop size with --steps.")] = 256,
    batch_size: Annotated[int, typer.Option(help="Batch size with --steps.")] = 8,
    curriculum: Curriculum = None,
    masks: Annotated[
        Path | None, typer.Option(help="Folder of segmentation masks parallel to DATA.")
    ] = None,
    classes: Annotated[
        Path | None, typer.Option(help="CSV file,class for balanced sampling and presets.")
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="JSON {scene: \\[frame, ...]} of fixed-camera frames in DATA: adds the paired "
            "term (weight losses.paired, 10 when unset or 0; kept by --resume: to drop it, "
            'resume with a --config holding {"pairs": null}).',
        ),
    ] = None,
    balance: Annotated[
        bool | None,
        typer.Option(
            "--balance/--no-balance",
            help="Draw each daytime class equally often (default on; a resumed run keeps its own).",
        ),
    ] = None,
    compile: Annotated[
        bool, typer.Option("--compile", help="torch.compile the generator step.")
    ] = False,
) -> None:
    """Train the translator (generator + discriminators) with the HiDT objective."""
    out, quiet = run.out, run.quiet
    with common.reported_errors(run.debug):
        if run.steps is not None and curriculum is not None:
            fail("give --steps or --curriculum, not both")
        phases = parse_curriculum(curriculum) if curriculum else None
        if run.steps is not None:
            phases = (Phase(run.steps, crop, batch_size),)
        saved = _saved_run(out / TranslatorTrainer.CHECKPOINT) if run.resume else None
        config = build_config(
            saved.config(TranslatorTrainConfig) if saved else TranslatorTrainConfig(),
            run.config_file,
            phases=phases,
            pairs=str(pairs.resolve()) if pairs else None,
            balance=balance,
            compile=compile or None,
            **run.overrides(),
        )
        runtime = setup_runtime(run.device, run.fp32)
        out.mkdir(parents=True, exist_ok=True)
        trainer = TranslatorTrainer(config, data, out, runtime, masks_root=masks, class_csv=classes)
        if saved is not None:
            trainer.resume(saved)
        elif init is not None:
            trainer.init_generator(load_weights(resolve(init, "generator"), "generator").state)
        if runtime.is_main:
            _announce(trainer, masks, quiet)
        _run_with_progress(trainer, config.total_steps, quiet or not runtime.is_main)
        runtime.close()
        common.note(f"done: {out / 'generator.safetensors'} after {trainer.step} steps", quiet)


def _announce(trainer, masks: Path | None, quiet: bool) -> None:
    known = sum(c is not None for c in trainer.classes)
    scenes = trainer.scenes
    common.note(
        f"{len(trainer.photos)} photos ({known} with a daytime class from their names); "
        f"device {trainer.runtime.device} × {trainer.runtime.world_size}; "
        + ("segmentation losses on" if masks else "no masks: segmentation losses off")
        + (
            f"; paired term on: {sum(map(len, scenes))} frames of {len(scenes)} scenes"
            if scenes
            else ""
        ),
        quiet,
    )


def _run_with_progress(trainer, total: int, quiet: bool) -> None:
    with common.progress(quiet) as bar:
        task = bar.add_task("training", total=total, completed=trainer.step)

        def on_step(step: int, values: dict[str, float]) -> None:
            bar.update(
                task,
                completed=step,
                description=f"training  G {values['total']:.3f}  D {values['d']:.3f}",
            )

        trainer.run(on_step=on_step)


@grouped
def train_enhancer(
    data: Data,
    *,
    run: RunOptions,
    generator: Annotated[
        str | None,
        typer.Option("--generator", "-g", help="Trained generator weights (default: shipped)."),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Photos per step.")] = None,
    size: Annotated[
        int | None, typer.Option(help="Inference size S of the medium crops (targets are 4S).")
    ] = None,
    vgg_weights: Annotated[
        Path | None,
        typer.Option(help="ImageNet VGG-19 weights (torchvision layout) for the perceptual loss."),
    ] = None,
) -> None:
    """Train the enhancer G_enh on high-resolution photos with a trained generator."""
    out, quiet = run.out, run.quiet
    with common.reported_errors(run.debug):
        saved = _saved_run(out / EnhancerTrainer.CHECKPOINT) if run.resume else None
        config = build_config(
            saved.config(EnhancerTrainConfig) if saved else EnhancerTrainConfig(),
            run.config_file,
            steps=run.steps,
            batch=batch_size,
            size=size,
            **run.overrides(),
        )
        if vgg_weights is not None and not vgg_weights.is_file():
            fail(f"{vgg_weights}: no such file", common.EXIT_WEIGHTS)
        runtime = setup_runtime(run.device, run.fp32)
        out.mkdir(parents=True, exist_ok=True)
        generator_net = load_weights(resolve(generator, "generator"), "generator").build()
        trainer = EnhancerTrainer(
            config, generator_net, data, out, runtime, vgg_weights=vgg_weights
        )
        if saved is not None:
            trainer.resume(saved)
        if runtime.is_main:
            common.note(
                f"{len(trainer.photos)} photos; device {runtime.device} × {runtime.world_size}; "
                + (
                    "VGG perceptual loss on"
                    if vgg_weights
                    else "no VGG weights: perceptual loss off"
                ),
                quiet,
            )
        _run_with_progress(trainer, config.steps, quiet or not runtime.is_main)
        runtime.close()
        common.note(f"done: {out / 'enhancer.safetensors'} after {trainer.step} steps", quiet)
