"""The 3-D scatter of style codes in the evaluation report. matplotlib is an optional
dependency (`pip install 'hidt-daytime[eval]'`), imported only here and only when a plot is drawn."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

MISSING = "matplotlib is needed for the report's style plot: pip install 'hidt-daytime[eval]'"


def require_matplotlib() -> None:
    """Fail before any work, with one line that says what to install."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(MISSING) from None


def style_scatter(
    groups: Sequence[tuple[str, torch.Tensor, Sequence[str]]], classes: Sequence[str]
) -> np.ndarray:
    """(label, N×3 codes, N predicted classes) groups → an RGB picture of the codes in 3-D,
    one marker per group and one colour per class."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 5.6), dpi=100)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot(projection="3d")
    colours = {name: f"C{i}" for i, name in enumerate(classes)}
    for (label, codes, predicted), marker in zip(groups, "o^sD", strict=False):
        points = codes.float().cpu().numpy()
        for name in classes:
            rows = [i for i, c in enumerate(predicted) if c == name]
            if rows:
                axes.scatter(
                    *points[rows, :3].T,
                    c=colours[name],
                    marker=marker,
                    s=40,
                    label=f"{label}: {name}",
                    depthshade=False,
                )
    axes.set_xlabel("style[0]")
    axes.set_ylabel("style[1]")
    axes.set_zlabel("style[2]")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
