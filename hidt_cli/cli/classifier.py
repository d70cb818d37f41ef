"""`hidt train-classifier`: the daytime classifier that `hidt evaluate` scores translations
with, trained from file-name classes and tested on a fixed held-out split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.cli.options import AsJson, Debug, Device, Quiet
from hidt_cli.devices import pick_device
from hidt_cli.eval import classifier as classifier_file
from hidt_cli.eval.dataset import CLASSIFIER_CLASS_RULES, labelled_photos


def train_classifier(
    data: Annotated[
        list[Path], typer.Argument(help="Folders of photos whose names give their class.")
    ],
    out: Annotated[Path, typer.Option("--out", help="The .safetensors file to write.")],
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training photos.")] = 30,
    size: Annotated[int, typer.Option(min=32, help="Side of the square input.")] = 96,
    seed: Annotated[int, typer.Option(help="Seed of weights and augmentation.")] = 0,
    held_out: Annotated[
        float, typer.Option(min=0.01, max=0.9, help="Share of each class held out for testing.")
    ] = 0.15,
    note: Annotated[
        str | None, typer.Option(help="Credits or remarks stored in the file's provenance.")
    ] = None,
    device: Device = "auto",
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Train the daytime classifier (day, night, sunset, cloudy; rain counts as cloudy, dusk
    has no class) from file-name prefixes, test it on a fixed held-out split, and save it with
    its scores."""
    with common.reported_errors(debug):
        if out.suffix != ".safetensors":
            fail(f"{out}: the classifier is written as .safetensors")
        photos, labels = labelled_photos(data)
        settings = classifier_file.TrainSettings(size, epochs, seed, held_out=held_out)
        with common.progress(quiet) as bar:
            task = bar.add_task("training", total=epochs)

            def on_epoch(epoch: int, loss: float, accuracy: float) -> None:
                bar.update(
                    task, completed=epoch, description=f"loss {loss:.3f} held-out {accuracy:.1%}"
                )

            classifier = classifier_file.train(
                photos, labels, settings, pick_device(device), on_epoch
            )
        provenance = {
            "data": {
                "folders": [folder.name for folder in data],
                "photos": len(photos),
                "class_rules": dict(CLASSIFIER_CLASS_RULES),
                "split": f"per class, the {held_out:.0%} of photos whose file names hash lowest (sha1)",
            },
            **({"note": note} if note else {}),
        }
        digest = classifier_file.save(out, classifier, provenance)
        evaluation = classifier.info.evaluation
        common.note(f"wrote {out} (sha256 {digest[:12]}…)", quiet)
        common.note(_matrix_text(classifier.classes, evaluation), quiet)
        if as_json:
            common.print_json({"file": str(out), "classes": classifier.classes, **evaluation})


def _matrix_text(classes: list[str], evaluation: dict) -> str:
    width = max(len(c) for c in classes) + 2
    lines = [
        f"held-out accuracy {evaluation['held_out_accuracy']:.1%}; rows true, columns predicted"
    ]
    lines.append(" " * width + "".join(c.rjust(width) for c in classes))
    for name, row in zip(classes, evaluation["confusion_matrix"], strict=True):
        lines.append(name.ljust(width) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)
