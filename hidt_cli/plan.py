"""A batch planned before any work: every input's output files named up front, so that
collisions are refused at once, earlier results are not taken for inputs, and what already
exists is skipped only when it was made the same way (recipes.py) — a rerun resumes an
interrupted batch, and a run with another style never keeps the wrong picture."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hidt_cli.io.images import format_for_path
from hidt_cli.io.paths import InputItem, find_collisions, find_input_overwrites, output_path
from hidt_cli.outcomes import Outcome, Report
from hidt_cli.recipes import Recipe, input_identity, is_output, recorded


class PlanError(ValueError):
    """A batch that cannot be planned as asked (a usage error: nothing was done)."""


@dataclass(frozen=True)
class PlannedStyle:
    """One style a batch applies: the label its outputs are named with, a second label for
    when another style already took the first (a style image of the same name), and how
    recipes name it."""

    label: str
    recipe: str
    alternate: str | None = None


@dataclass(frozen=True)
class Settings:
    """The recipe's parts that every output of a batch shares."""

    render: str
    weights: str
    photo_output: str
    """A photo's file settings, with '{format}' where the output's own format goes."""
    clip_output: str


@dataclass
class Job:
    """One input, the output file of each style applied to it and the recipe of each."""

    item: InputItem
    outputs: list[Path]
    recipes: list[str]
    found: list[str | None]
    """What each output already there records, read once when planning: its recipe ('' for
    none); None where there is no output yet."""


@dataclass(frozen=True)
class Naming:
    """How outputs are named: one file given, or <folder>/<stem><suffix>.<ext>."""

    output: Path | None
    output_dir: Path | None
    suffix: str | None
    fmt: str | None

    def target(self, item: InputItem, label: str, styles: int) -> Path:
        if self.suffix is None:
            suffix = f"_{label}"
        else:
            suffix = f"{self.suffix}_{label}" if styles > 1 else self.suffix
        return output_path(
            item, output=self.output, output_dir=self.output_dir, suffix=suffix, fmt=self.fmt
        )


def plan_jobs(
    items: list[InputItem],
    styles: list[PlannedStyle],
    settings: Settings,
    naming: Naming,
    report: Report,
) -> list[Job]:
    """Name every output (one per style) of every input, with its recipe; an input that
    cannot be named is reported as failed. Raises PlanError when outputs would collide."""
    results = len(items) * len(styles)
    if naming.output is not None and results != 1:
        raise PlanError(
            f"--output names one file but there are {results} results: use --output-dir"
        )
    if naming.output is not None and str(naming.output) != "-" and not items[0].is_video:
        format_for_path(naming.output)  # an unknown suffix is a usage error now, not after the work
    jobs: list[Job] = []
    for item in items:
        try:
            named = [_output(item, style, len(styles), settings, naming) for style in styles]
        except ValueError as exc:
            report(Outcome(str(item.path), "failed", error=str(exc)))
            continue
        jobs.append(Job(item, *(list(column) for column in zip(*named, strict=True))))
    collisions = find_collisions((job.item, out) for job in jobs for out in job.outputs)
    if collisions:
        target, clashing = next(iter(collisions.items()))
        names = ", ".join(str(i.path) for i in clashing)
        raise PlanError(
            f"{target}: several inputs would write this output ({names}); use --output-dir or --suffix"
        )
    return jobs


def _output(
    item: InputItem, style: PlannedStyle, styles: int, settings: Settings, naming: Naming
) -> tuple[Path, str, str | None]:
    """(target, recipe, what the target records: see Job.found) of one style's output:
    under the style's alternate name when the first one holds an output of another style."""
    identity = "<stdin>" if item.is_stdin else input_identity(item.path)
    for label in (style.label, style.alternate):
        if label is None:
            break
        target = naming.target(item, label, styles)
        if item.is_video:
            output = settings.clip_output
        else:
            kind = naming.fmt or ("png" if str(target) == "-" else format_for_path(target))
            output = settings.photo_output.format(format=kind)
        recipe = Recipe(identity, style.recipe, settings.render, output, settings.weights)
        found = recorded(target) or "" if str(target) != "-" and os.path.lexists(target) else None
        there = Recipe.parse(found)
        if there is None or there.style == recipe.style:
            break
    return target, recipe.text(), found


def earlier_results(jobs: list[Job]) -> tuple[list[Job], list[Job]]:
    """(jobs to do, jobs dropped): an input that is another input's output, or that records a
    recipe, is an output of an earlier run (a rerun over a folder holding its results, or one
    with another style), not a new photo."""
    pairs = [(job.item, target) for job in jobs for target in job.outputs]
    results = {os.path.realpath(target) for _, target in find_input_overwrites(pairs)}
    dropped = [
        job
        for job in jobs
        if not job.item.is_stdin
        and (os.path.realpath(job.item.path) in results or is_output(job.item.path))
    ]
    return [job for job in jobs if job not in dropped], dropped


def already_done(job: Job, overwrite: bool) -> bool | str:
    """True: every output exists and was made the same way (the job is skipped); False: the
    job is to do; a message: an output exists that was made another way, and without
    --overwrite it is kept (the job fails with that message)."""
    if overwrite:
        return False
    outputs = zip(job.outputs, job.recipes, job.found, strict=True)
    different = [target for target, recipe, found in outputs if found not in (None, recipe)]
    if different:
        return (
            f"{different[0]}: exists, made another way (other settings, weights or input): "
            "use --overwrite to replace it, or --suffix for another name"
        )
    return None not in job.found
