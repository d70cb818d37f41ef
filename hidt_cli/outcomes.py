"""What happened to each input of a batch, reported as it happens: the one record that the
command line's summary, its JSON report and the web page's jobs are built from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Outcome:
    input: str
    status: str  # converted | skipped | failed
    outputs: list[str] = field(default_factory=list)
    error: str | None = None


Report = Callable[[Outcome], None]
"""Hears of every outcome as soon as it is known."""


def one_line(error: BaseException, path: object) -> str:
    """An error as the one line naming its input ("PATH: reason")."""
    text = str(error)
    return text if text.startswith(str(path)) or ": " in text else f"{path}: {text}"
