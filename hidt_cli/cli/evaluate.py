"""`hidt evaluate` and `hidt evaluate-paired`: score translations with the daytime classifier
(the paper's Table 2), and compare translations with real frames of the same scene at other
times of day."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import typer

from hidt_cli.cli import common
from hidt_cli.cli.common import EXIT_INPUT, EXIT_USAGE, fail
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import (
    GeneratorOptions,
    ModelOptions,
    ReportOptions,
)
from hidt_cli.eval import classifier as classifier_file
from hidt_cli.eval import paired
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
