"""A batch planned before any work: every input's output files named up front, so that
collisions are refused at once, earlier results are not taken for inputs, and what already
exists is skipped (a rerun resumes an interrupted batch)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hidt_cli.io.images import format_for_path
from hidt_cli.io.paths import InputItem, find_collisions, find_input_overwrites, output_path
from hidt_cli.outcomes import Outcome, Report


class PlanError(ValueError):
    """A batch that cannot be planned as asked (a usage error: nothing was done)."""


@dataclass
class Job:
    """One input and the output file of each style applied to it."""

    item: InputItem
    outputs: list[Path]


def plan_jobs(
    items: list[InputItem],
    labels: list[str],
    *,
    output: Path | None,
    output_dir: Path | None,
    suffix: str | None,
    fmt: str | None,
    report: Report,
) -> list[Job]:
    """Name every output (one per style label) of every input; an input that cannot be
    named is reported as failed. Raises PlanError when outputs would collide."""
    results = len(items) * len(labels)
    if output is not None and results != 1:
        raise PlanError(
            f"--output names one file but there are {results} results: use --output-dir"
        )
    if output is not None and str(output) != "-" and not items[0].is_video:
        format_for_path(output)  # an unknown suffix is a usage error now, not after the work
    jobs: list[Job] = []
    for item in items:
        try:
            outputs = [
                output_path(
                    item,
                    output=output,
                    output_dir=output_dir,
                    suffix=_suffix(suffix, label, len(labels)),
                    fmt=fmt,
                )
                for label in labels
            ]
        except ValueError as exc:
            report(Outcome(str(item.path), "failed", error=str(exc)))
            continue
        jobs.append(Job(item, outputs))
    collisions = find_collisions((job.item, out) for job in jobs for out in job.outputs)
    if collisions:
        target, clashing = next(iter(collisions.items()))
        names = ", ".join(str(i.path) for i in clashing)
        raise PlanError(
            f"{target}: several inputs would write this output ({names}); use --output-dir or --suffix"
        )
    return jobs


def earlier_results(jobs: list[Job]) -> tuple[list[Job], list[Job]]:
    """(jobs to do, jobs dropped): an input that is another input's output is that output
    from an earlier run (a rerun over a folder holding its results), not a new photo."""
    pairs = [(job.item, target) for job in jobs for target in job.outputs]
    results = {os.path.realpath(target) for _, target in find_input_overwrites(pairs)}
    dropped = [job for job in jobs if os.path.realpath(job.item.path) in results]
    return [job for job in jobs if job not in dropped], dropped


def already_done(job: Job, overwrite: bool) -> bool:
    """Every output exists and --overwrite was not given: the job is skipped."""
    return not overwrite and all(os.path.lexists(p) for p in job.outputs)


def _suffix(user_suffix: str | None, label: str, count: int) -> str:
    if user_suffix is None:
        return f"_{label}"
    return f"{user_suffix}_{label}" if count > 1 else user_suffix
