"""What made an output, recorded in it (an image's XMP, a clip's MP4 tags) and compared on a
rerun: an output is skipped only when the same input, style, render and file settings and
weights made it. A file that holds a recipe is hidt's output, so a folder walk never takes it
for a new photo; and an output name that another style already took is not taken for this
run's result."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from hidt_cli.io.images import read_recipe
from hidt_cli.io.paths import VIDEO_SUFFIXES
from hidt_cli.io.video import read_video_recipe

VERSION = "hidt-recipe/1"
CODE_DECIMALS = 3
"""Decimals of a style code in recipes and names: finer than any visible difference."""


@dataclass(frozen=True)
class Recipe:
    """Everything that decides an output's pixels and file, apart from the output's name."""

    input: str
    """The input as it was: its name, size in bytes and modification time."""
    style: str
    """The style's label and its code."""
    render: str
    output: str
    weights: str

    def text(self) -> str:
        return f"{VERSION} {json.dumps(asdict(self), sort_keys=True, separators=(',', ':'))}"

    @classmethod
    def parse(cls, text: str | None) -> Recipe | None:
        """The recipe a text records, or None for a text of another shape or version."""
        if not text or not text.startswith(f"{VERSION} "):
            return None
        try:
            return cls(**json.loads(text[len(VERSION) + 1 :]))
        except (ValueError, TypeError):
            return None


def input_identity(path: Path) -> str:
    """The input as a recipe names it: a changed (or another) file makes other outputs."""
    try:
        info = os.stat(path)
    except OSError:
        return path.name
    return f"{path.name}:{info.st_size}:{info.st_mtime_ns}"


def code_text(code: torch.Tensor | None) -> str:
    """A style code rounded for names and recipes ('-0.5,-1,-1'); '' for a guide's codes."""
    if code is None:
        return ""
    values = [round(float(v), CODE_DECIMALS) + 0.0 for v in code.flatten()]  # no "-0"
    return ",".join(f"{v:g}" for v in values)


def code_label(code: torch.Tensor) -> str:
    """An output-name label that says which code made it: 'code-0.5_-1_-1'."""
    return "code" + code_text(code).replace(",", "_")


def short_hash(path: Path) -> str:
    """Eight hex digits of a file's content, to tell style images of one name apart."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:8]


def recorded(path: Path) -> str | None:
    """The recipe an existing output holds, if any (never read from a pipe or device: that
    could block, and no output is one)."""
    if not path.is_file():
        return None
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return read_video_recipe(path)
    return read_recipe(path)


def is_output(path: Path) -> bool:
    """Whether a file is an output of hidt (it records a recipe)."""
    return Recipe.parse(recorded(path)) is not None
