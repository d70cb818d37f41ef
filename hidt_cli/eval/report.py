"""Evaluation reports: a folder with metrics.json, index.html and the PNG files the page
links to by relative name, so the folder can be moved, zipped or served as it is."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hidt_cli import sheets
from hidt_cli.io.images import write_image

NOTE = (
    "IS, CIS, DIPD and hit rate use this project's daytime classifier in place of the "
    "Inception network of the HiDT paper's Table 2, so they compare runs of this project "
    "with each other, not with the paper's numbers."
)

DESCRIPTIONS = {
    "is_random": "Inception score of translations with styles from the prior (higher: more diverse)",
    "cis_random": "conditional IS: the IS of each photo's prior-style translations, averaged",
    "dipd_random": "DIPD between each photo and its prior-style translations (lower: content kept)",
    "is_swap": "Inception score of translations into the style photos' styles",
    "cis_swap": "conditional IS of each photo's swapped translations, averaged",
    "dipd_swap": "DIPD between each photo and its swapped translations",
    "hit_rate": "share of swaps whose predicted class is the style photo's predicted class",
    "style_consistency": "mean ‖E_s(G(c, s)) − s‖ for s from the prior (lower is better)",
    "prior_cast_a": "mean |Δa*| of prior-style translations against the photo: green (−) or "
    "magenta/purple (+) casts",
    "prior_cast_b": "mean |Δb*| of prior-style translations against the photo: blue (−) or "
    "yellow/orange (+) light",
    "is_real": "Inception score of the content photos themselves, for reference",
    "reconstruction_psnr_db": "PSNR of decode(c, own s) against the photo at processing size",
    "reconstruction_chroma_kept": "CIELAB chroma of the decode(c, own s) reconstructions over "
    "the photos' (1: colours as saturated as the photos'; below 1: greyed, e.g. greens)",
    "hires_reconstruction_psnr_db": "PSNR of the 16-crop enhancer's reconstruction at 4× size",
    "bicubic_reconstruction_psnr_db": "PSNR of the medium reconstruction upsampled bicubically",
}

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #ddd; }
.note { color: #555; }
"""


class Report:
    """Sections of an HTML page built up in order, with the PNG files they show."""

    def __init__(self, folder: Path, title: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.parts: list[str] = []
        self.images: list[str] = []

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str, note: bool = False) -> None:
        css = ' class="note"' if note else ""
        self.parts.append(f"<p{css}>{html.escape(text)}</p>")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
        self.parts.append(f"<table><tr>{head}</tr>{body}</table>")

    def image(self, name: str, rgb: np.ndarray, caption: str) -> None:
        """Write rgb as `name` (a PNG beside index.html) and show it with a caption."""
        write_image(self.folder / name, rgb, fmt="png", overwrite=True)
        self.images.append(name)
        self.parts.append(
            f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def write(self, data: dict) -> Path:
        """Write metrics.json (data plus the list of images) and index.html; returns the page."""
        (self.folder / "metrics.json").write_text(
            json.dumps({**data, "images": self.images}, indent=2) + "\n", encoding="utf-8"
        )
        page = (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{''.join(self.parts)}"
            "<p class='note'>Numbers: <a href='metrics.json'>metrics.json</a></p></body></html>\n"
        )
        index = self.folder / "index.html"
        index.write_text(page, encoding="utf-8")
        return index


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f'<td class="num">{value:.4g}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def metric_rows(values: dict[str, float]) -> list[list[object]]:
    """(name, value, meaning) rows for a table of the evaluation's numbers."""
    return [[name, value, DESCRIPTIONS.get(name, "")] for name, value in values.items()]


def table2_rows(values: dict[str, float]) -> list[list[object]]:
    """The paper's Table 2 layout: a row per kind of translation, IS / CIS / DIPD columns."""
    return [
        [label, *(values.get(f"{metric}_{kind}", "–") for metric in ("is", "cis", "dipd"))]
        for kind, label in (("random", "styles from the prior"), ("swap", "swapped styles"))
    ]


def grid_picture(
    rows: Sequence[Sequence[np.ndarray]], captions: Sequence[Sequence[str]], cell_height: int
) -> np.ndarray:
    return sheets.grid(rows, captions=captions, cell_height=cell_height)
