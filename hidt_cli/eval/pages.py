"""What the two evaluation reports show, and in which order: `hidt evaluate`'s (Table 2,
grids, style codes, timing) and `hidt evaluate-paired`'s (errors against real frames)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hidt_cli.eval import paired
from hidt_cli.eval.plot import style_scatter
from hidt_cli.eval.report import (
    DESCRIPTIONS,
    NOTE,
    Report,
    grid_picture,
    metric_rows,
    table2_rows,
)
from hidt_cli.eval.suite import Evaluation


def evaluation_page(
    folder: Path,
    evaluation: Evaluation,
    classes: Sequence[str],
    style_names: Sequence[str],
    content_names: Sequence[str],
    run: dict,
    cell_height: int = 128,
) -> Path:
    """Write the `hidt evaluate` report into folder; returns its index.html."""
    numbers = evaluation.metrics
    report = Report(folder, "HiDT evaluation")
    report.paragraph(NOTE, note=True)
    report.heading("Table 2 (daytime classifier in place of Inception)")
    report.table(["translations", "IS ↑", "CIS ↑", "DIPD ↓"], table2_rows(numbers))
    report.heading("All numbers")
    report.table(["metric", "value", "meaning"], metric_rows(numbers))
    if evaluation.hit_rate_by_style_class:
        report.table(
            ["style photo's class", "hit rate"], list(evaluation.hit_rate_by_style_class.items())
        )
    _grids(report, evaluation, style_names, cell_height)
    report.heading("Style codes")
    groups = [
        ("style photo", evaluation.style_codes, evaluation.style_classes),
        ("content photo", evaluation.content_codes, evaluation.content_classes),
    ]
    report.image(
        "style_codes.png",
        style_scatter(groups, classes),
        "Style codes in 3-D, coloured by the classifier's class of the photo.",
    )
    report.heading("Timing")
    report.table(["stage", "seconds"], list(evaluation.timing_s.items()))
    report.heading("Run")
    report.table(
        ["setting", "value"], [[k, str(v)] for k, v in {**run, **evaluation.counts}.items()]
    )
    return report.write(
        {
            "note": NOTE,
            "metrics": numbers,
            "descriptions": {k: DESCRIPTIONS[k] for k in numbers if k in DESCRIPTIONS},
            "hit_rate_by_style_class": evaluation.hit_rate_by_style_class,
            "classes": list(classes),
            "counts": evaluation.counts,
            "timing_s": evaluation.timing_s,
            "style_photos": _photos(style_names, evaluation.style_classes, evaluation.style_codes),
            "content_photos": _photos(
                content_names, evaluation.content_classes, evaluation.content_codes
            ),
            "prior_codes": evaluation.prior_codes.tolist(),
            "run": run,
        }
    )


def _grids(report: Report, evaluation: Evaluation, style_names, cell_height: int) -> None:
    """The report's pictures: the swap grid, the prior's styles, the high-resolution row."""
    if evaluation.swap_rows:
        report.heading("Swap grid")
        header = [None, *evaluation.style_thumbs]
        captions = ["content \\ style"] + [
            f"{n} ({c})" for n, c in zip(style_names, evaluation.style_classes, strict=True)
        ]
        picture = grid_picture(
            [header, *evaluation.swap_rows], [captions, *evaluation.swap_captions], cell_height
        )
        report.image(
            "swap_grid.png",
            picture,
            "Rows: content photos; columns: style photos (top); captions: predicted class.",
        )
    if evaluation.prior_rows:
        report.heading("Styles from the prior")
        picture = grid_picture(evaluation.prior_rows, evaluation.prior_captions, cell_height)
        report.image(
            "prior_grid.png",
            picture,
            "Each photo with the same styles drawn from N(0, I); captions: code, predicted class.",
        )
    if evaluation.hires_rows:
        report.heading("High resolution (reconstruction in the photo's own style)")
        captions = [
            ["photo", "bicubic from processing size", "16-crop enhancer", "detail transfer"]
        ] * len(evaluation.hires_rows)
        report.image(
            "hires.png",
            grid_picture(evaluation.hires_rows, captions, 2 * cell_height),
            "The photo at 4× processing size, the medium reconstruction upsampled, G_enh's, "
            "and the detail-transfer stage's.",
        )


def _photos(names, classes, codes) -> list[dict]:
    return [
        {"name": n, "class": c, "style_code": [round(v, 4) for v in code]}
        for n, c, code in zip(names, classes, codes.tolist(), strict=True)
    ]


PAIRED_NOTE = (
    "Each frame of a scene is translated into every other frame's style (HiDT), or recoloured "
    "to its colour statistics in CIELAB (Reinhard et al. 2001), or left unchanged, and "
    "compared with the real frame: Lab L1 is the mean over pixels of |ΔL| + |Δa| + |Δb| "
    "(lower is better), SSIM the mean of Wang et al.'s index over RGB channels (higher is "
    "better), both at processing size."
)


def paired_page(
    folder: Path,
    summaries: dict[str, dict[str, dict[str, float]]],
    scores: Sequence[paired.PairScore],
    scenes: dict[str, list[str]],
    examples: Sequence[tuple[str, list]],
    run: dict,
    cell_height: int = 128,
) -> Path:
    """Write the `hidt evaluate-paired` report; `summaries` maps a subset's name (all pairs,
    pairs across classes) to each method's mean errors."""
    report = Report(folder, "HiDT paired evaluation")
    report.paragraph(PAIRED_NOTE, note=True)
    for subset, summary in summaries.items():
        report.heading(subset)
        report.table(
            ["method", "Lab L1 ↓", "SSIM ↑"],
            [[m, summary[m]["lab_l1"], summary[m]["ssim"]] for m in paired.METHODS],
        )
    if examples:
        report.heading("Examples")
        captions = [
            [f"{scene}: source", "real target", "HiDT", "Reinhard"] for scene, _ in examples
        ]
        report.image(
            "paired_examples.png",
            grid_picture([row for _, row in examples], captions, cell_height),
            "Darkest frame to brightest and back, per scene.",
        )
    report.heading("Scenes")
    report.table(
        ["scene", "frames"], [[name, ", ".join(frames)] for name, frames in scenes.items()]
    )
    report.heading("Run")
    report.table(["setting", "value"], [[k, str(v)] for k, v in run.items()])
    return report.write(
        {
            "note": PAIRED_NOTE,
            "summaries": summaries,
            "scenes": scenes,
            "pairs": [
                {
                    "scene": s.scene,
                    "source": s.source,
                    "target": s.target,
                    "lab_l1": s.lab_l1,
                    "ssim": s.ssim,
                }
                for s in scores
            ],
            "run": run,
        }
    )
