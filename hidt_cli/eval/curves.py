"""Training curves for a model card: the losses a run logged (its log.jsonl), against steps,
one panel per term and one line per run, so arms of an experiment read side by side.

    python -m hidt_cli.eval.curves RUN [RUN ...] -o curves.png

matplotlib is optional (`pip install 'hidt-daytime[eval]'`)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hidt_cli.eval.plot import require_matplotlib
from hidt_cli.io.images import write_image

TERMS = ("total", "rec", "cyc", "dist", "paired", "style", "content", "adv", "d")
"""Panels, in this order, for the terms a run logged; 'd' is the discriminators' loss."""


def read_log(path: Path) -> dict[int, dict[str, float]]:
    """step → the values logged at that step. A resumed run logs steps after its checkpoint
    again: the later record wins, as it is the run that continued."""
    records: dict[int, dict[str, float]] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            records[int(record["step"])] = record
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a training log record ({exc})") from exc
    return dict(sorted(records.items()))


def plot_runs(runs: Sequence[tuple[str, dict[int, dict[str, float]]]]) -> np.ndarray:
    """(label, log) pairs → an RGB picture with one panel per logged term."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    terms = [t for t in TERMS if any(t in r for _, log in runs for r in log.values())]
    if not terms:
        raise ValueError("the logs hold none of the known loss terms")
    columns = 3
    rows = math.ceil(len(terms) / columns)
    figure = Figure(figsize=(4.2 * columns, 2.8 * rows), dpi=100)
    canvas = FigureCanvasAgg(figure)
    for index, term in enumerate(terms):
        axes = figure.add_subplot(rows, columns, index + 1)
        for label, log in runs:
            points = [(step, r[term]) for step, r in log.items() if term in r]
            if points:
                axes.plot(*zip(*points, strict=True), label=label, linewidth=1.2)
        axes.set_title(term, fontsize=10)
        axes.set_xlabel("step", fontsize=8)
        axes.tick_params(labelsize=8)
        axes.grid(alpha=0.3)
        if index == 0:
            axes.legend(fontsize=8)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (or their log.jsonl)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    logs = []
    for run in args.runs:
        path = run / "log.jsonl" if run.is_dir() else run
        try:
            logs.append((run.name if run.is_dir() else run.parent.name, read_log(path)))
        except (OSError, ValueError) as exc:
            parser.exit(1, f"hidt: {path}: {getattr(exc, 'strerror', None) or exc}\n")
    try:
        write_image(args.output, plot_runs(logs), overwrite=args.overwrite)
    except (OSError, ValueError) as exc:
        parser.exit(1, f"hidt: {exc}\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
