"""`hidt train-classifier`, `hidt evaluate` and `hidt evaluate-paired`: train the daytime
classifier, score translations with it (the paper's Table 2), and compare translations with
real frames of the same scene at other times of day."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import typer

from hidt_cli.cli import common
from hidt_cli.cli.common import EXIT_INPUT, EXIT_USAGE, fail
from hidt_cli.cli.options import (
    AsJson,
    Debug,
    Device,
    GeneratorOptions,
    ModelOptions,
    Quiet,
    ReportOptions,
    grouped,
)
from hidt_cli.devices import pick_device
from hidt_cli.eval import classifier as classifier_file
from hidt_cli.eval import paired
from hidt_cli.eval.dataset import CLASSIFIER_CLASS_RULES, labelled_photos
from hidt_cli.eval.pages import evaluation_page, paired_page
from hidt_cli.eval.plot import require_matplotlib
from hidt_cli.eval.scenes import MIN_MATCHES, Scene, find_scenes, scene_folders, spread_frames
from hidt_cli.eval.suite import Photo, Settings
from hidt_cli.eval.suite import evaluate as run_evaluation
from hidt_cli.io.paths import InputItem, expand_inputs
from hidt_cli.photosets import DEFAULT_CLASS_RULES, class_of
from hidt_cli.ranges import photo_tensor
from hidt_cli.weights import default_weights_dir

ClassifierOpt = Annotated[
    Path | None,
    typer.Option(
        "--classifier",
        help=f"Daytime classifier file; default: {classifier_file.DEFAULT_NAME} in the weights folder.",
        rich_help_panel="Model",
    ),
]
Output = Annotated[
    Path, typer.Option("--output", "-o", help="Report folder (created; files replaced).")
]


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


@grouped
def evaluate(
    images: Annotated[list[str], typer.Argument(help="Content photos: files, folders or globs.")],
    *,
    styles: Annotated[
        list[str],
        typer.Option("--styles", help="Style photos: files, folders or globs (repeatable)."),
    ],
    output: Output = Path("report"),
    random: Annotated[
        int, typer.Option("--random", min=1, help="Styles drawn from the prior per photo.")
    ] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the prior's styles.")] = 0,
    max_images: Annotated[
        int | None, typer.Option(min=1, help="Use only the first N content photos.")
    ] = None,
    hires_images: Annotated[
        int, typer.Option(min=0, help="Photos also reconstructed through the enhancer, if any.")
    ] = 2,
    classifier: ClassifierOpt = None,
    model: ModelOptions,
    report: ReportOptions,
) -> None:
    """Score translations of photos with the daytime classifier (IS, CIS, DIPD, hit rate),
    plus style consistency and reconstruction PSNR, into report/index.html and metrics.json."""
    quiet = report.quiet
    with common.reported_errors(report.debug):
        try:
            require_matplotlib()
        except ImportError as exc:
            fail(str(exc), EXIT_USAGE)
        content_items = _items(images, output)[:max_images]
        style_items = _items(styles, output)
        net = common.load_model(model)
        scorer = classifier_file.load(classifier or _default_classifier(), net.device)
        contents = [_photo(item, quiet) for item in content_items]
        style_photos = [_photo(item, quiet) for item in style_items]
        settings = Settings(random, seed, model.inference_size, hires_images=hires_images)
        with common.progress(quiet) as bar:
            task = bar.add_task("evaluating", total=len(contents))
            evaluation = run_evaluation(
                net, scorer, contents, style_photos, settings, lambda: bar.advance(task)
            )
        run = {
            **_sources(net),
            "classifier": str(classifier or _default_classifier()),
            "inference_size": model.inference_size,
            "seed": seed,
        }
        page = evaluation_page(
            output,
            evaluation,
            scorer.classes,
            [p.name for p in style_photos],
            [p.name for p in contents],
            run,
        )
        for name, value in evaluation.metrics.items():
            common.note(f"{name:32} {value:10.4f}", quiet)
        common.note(f"wrote {page}", quiet)
        if report.as_json:
            common.print_json({"report": str(page), "metrics": evaluation.metrics})


def _items(specs: list[str], output: Path) -> list[InputItem]:
    items, problems = expand_inputs(specs, exclude=output)
    if problems:
        fail(problems[0], EXIT_INPUT)
    if any(item.is_stdin for item in items):
        fail("evaluate reads files, not stdin")
    if not items:
        fail(f"no photos in {' '.join(specs)}", EXIT_INPUT)
    return items


def _photo(item: InputItem, quiet: bool) -> Photo:
    loaded = common.read_photo(item.path, quiet)
    pixels = photo_tensor(loaded.rgb, torch.device("cpu"))  # uint8: a quarter the memory
    return Photo(item.relative.as_posix(), item.path, pixels)


def _sources(model) -> dict[str, str]:
    """Where the networks came from and where they ran, for the report."""
    info = model.info
    enhancer = info.enhancer if info else None
    return {
        "generator": str(info.generator.source) if info else "",
        "enhancer": str(enhancer.source) if enhancer else "",
        "device": str(model.device),
    }


def _default_classifier() -> Path:
    return default_weights_dir() / classifier_file.DEFAULT_NAME


@grouped
def evaluate_paired(
    scenes: Annotated[
        list[str],
        typer.Argument(
            help="A folder with a sub-folder per scene; with --find-scenes, photos (files, folders, globs)."
        ),
    ],
    *,
    find: Annotated[
        bool,
        typer.Option("--find-scenes", help="Group the photos into scenes by matching features."),
    ] = False,
    min_matches: Annotated[
        int, typer.Option(min=1, help="Matching features that make two photos one view.")
    ] = MIN_MATCHES,
    frames_per_scene: Annotated[
        int, typer.Option(min=2, help="Frames per scene, spread from darkest to brightest.")
    ] = 4,
    max_scenes: Annotated[
        int | None, typer.Option(min=1, help="Use only the first N scenes.")
    ] = None,
    output: Output = Path("paired_report"),
    model: GeneratorOptions,
    report: ReportOptions,
) -> None:
    """Translate each frame of a scene into every other frame's style and measure the error
    against the real frame (Lab L1, SSIM), next to Reinhard colour transfer and no change.

    A scene is one view at several times of day. Give a folder with a sub-folder per scene
    (scenes/harbour/0800.jpg, scenes/harbour/2100.jpg, ...), or, with --find-scenes, photos of
    fixed cameras: those of one size whose SIFT features match at the same pixels are one
    scene. Up to --frames-per-scene frames, darkest to brightest, are used per scene."""
    quiet, inference_size = report.quiet, model.inference_size
    with common.reported_errors(report.debug):
        found = _scenes(scenes, find, min_matches)[:max_scenes]
        net = common.load_model(model)
        scores: list[paired.PairScore] = []
        examples, chosen = [], {}
        with common.progress(quiet) as bar:
            task = bar.add_task("scenes", total=len(found))
            for scene in found:
                loaded = {f: common.read_photo(f, quiet).rgb for f in scene.frames}
                frames = spread_frames(
                    scene.frames, [float(loaded[f].mean()) for f in scene.frames], frames_per_scene
                )
                tensors = [photo_tensor(loaded[f], net.device) for f in frames]
                result = paired.evaluate_scene(
                    net, scene.name, [f.name for f in frames], tensors, inference_size
                )
                scores += result.scores
                examples += [(scene.name, row) for row in result.examples]
                chosen[scene.name] = [f.name for f in frames]
                bar.advance(task)
        summaries = {"all frame pairs": paired.summarise(scores)}
        across = [s for s in scores if _classes_differ(s.source, s.target)]
        if across:
            summaries["pairs whose file names give different classes (e.g. day ↔ night)"] = (
                paired.summarise(across)
            )
        run = {
            **_sources(net),
            "inference_size": inference_size,
            "scenes": len(found),
            "frame_pairs": len(scores),
            "scenes_from": "feature matching" if find else "scene folders",
        }
        page = paired_page(output, summaries, scores, chosen, examples[:12], run)
        for subset, summary in summaries.items():
            common.note(subset, quiet)
            for method, values in summary.items():
                common.note(
                    f"  {method:10} Lab L1 {values['lab_l1']:7.3f}  SSIM {values['ssim']:.4f}",
                    quiet,
                )
        common.note(f"wrote {page}", quiet)
        if report.as_json:
            common.print_json({"report": str(page), "summaries": summaries})


def _scenes(specs: list[str], find: bool, min_matches: int) -> list[Scene]:
    if not find:
        if len(specs) != 1:
            fail("give one folder of scene folders (or --find-scenes with photos)")
        return scene_folders(Path(specs[0]))
    items, problems = expand_inputs(specs, recursive=True)
    if problems:
        fail(problems[0], EXIT_INPUT)
    found = find_scenes([item.path for item in items if not item.is_stdin], min_matches)
    if not found:
        fail("no two photos show the same view", EXIT_INPUT)
    return found


def _classes_differ(a: str, b: str) -> bool:
    first, second = class_of(a, DEFAULT_CLASS_RULES), class_of(b, DEFAULT_CLASS_RULES)
    return first is not None and second is not None and first != second
