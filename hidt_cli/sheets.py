"""Pictures of results: contact sheets, N×N swap grids and strips, with small captions, so
that a person can see a set of translations at a glance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (24, 24, 24)
GAP = 4
MAX_CELL_HEIGHT = 256
"""Cells are never taller than this, so grids of big photos stay viewable."""


def _caption_font(cell_height: int) -> ImageFont.ImageFont:
    """A caption font that stays readable next to large cells."""
    return ImageFont.load_default(size=max(11, cell_height // 24))


def caption_height(cell_height: int) -> int:
    """Height of the caption band under cells of this height."""
    return int(_caption_font(cell_height).size * 1.5)


def _fit(image: np.ndarray, height: int) -> Image.Image:
    """Scale an H×W×3 (or ×4) uint8 image to the given height, keeping its aspect ratio."""
    picture = Image.fromarray(image)
    width = max(1, round(picture.width * height / picture.height))
    return picture.resize((width, height), Image.LANCZOS) if picture.height != height else picture


def fit_height(image: np.ndarray, height: int) -> np.ndarray:
    """A cell-sized copy of a result, so a grid of big photos never holds them all full size."""
    return np.asarray(_fit(image, height))


def grid(
    cells: Sequence[Sequence[np.ndarray | None]],
    *,
    captions: Sequence[Sequence[str]] | None = None,
    cell_height: int = 256,
) -> np.ndarray:
    """Rows of images (H×W×3, or H×W×4 with alpha; None leaves a cell empty) → one H×W×3
    uint8 picture (H×W×4 when a cell has alpha) with a caption under each cell when captions
    are given. Cells of a column share its widest width."""
    rows = [[_fit(c, cell_height) if c is not None else None for c in row] for row in cells]
    columns = max(len(r) for r in rows)
    widths = [
        max((r[j].width for r in rows if j < len(r) and r[j] is not None), default=cell_height)
        for j in range(columns)
    ]
    font = _caption_font(cell_height)
    caption = caption_height(cell_height) if captions else 0
    row_height = cell_height + caption
    # cells that carry an alpha channel keep it: the sheet is then RGBA, opaque between them
    mode = "RGBA" if any(c is not None and c.mode == "RGBA" for r in rows for c in r) else "RGB"
    canvas = Image.new(
        mode,
        (sum(widths) + GAP * (columns + 1), len(rows) * (row_height + GAP) + GAP),
        BACKGROUND,
    )
    draw = ImageDraw.Draw(canvas)
    for i, row in enumerate(rows):
        y = GAP + i * (row_height + GAP)
        x = GAP
        for j in range(columns):
            cell = row[j] if j < len(row) else None
            if cell is not None:
                canvas.paste(cell, (x + (widths[j] - cell.width) // 2, y))
            if captions and j < len(captions[i]) and captions[i][j]:
                draw.text(
                    (x + 2, y + cell_height + 2), captions[i][j], fill=(230, 230, 230), font=font
                )
            x += widths[j] + GAP
    return np.asarray(canvas)


def contact_sheet(
    images: Sequence[np.ndarray],
    captions: Sequence[str] | None = None,
    *,
    columns: int = 4,
    cell_height: int = 256,
) -> np.ndarray:
    """Images laid out left to right, `columns` per row, each with its caption."""
    rows = [list(images[i : i + columns]) for i in range(0, len(images), columns)]
    caption_rows = (
        [list(captions[i : i + columns]) for i in range(0, len(captions), columns)]
        if captions
        else None
    )
    return grid(rows, captions=caption_rows, cell_height=cell_height)


def strip(frames: dict[int, np.ndarray], *, cell_height: int = 160) -> np.ndarray:
    """Frames of a sequence, keyed by their index, in one captioned row."""
    if not frames:
        raise ValueError("no frames for a strip")
    order = sorted(frames)
    return grid(
        [[frames[i] for i in order]],
        captions=[[f"frame {i}" for i in order]],
        cell_height=cell_height,
    )


def format_code(code: Sequence[float]) -> str:
    """A style code as a short caption: '-0.50, -1.00, -1.04'."""
    return ", ".join(f"{v:+.2f}" for v in code)
