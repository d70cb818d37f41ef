"""The report of a command run over many files: each input's outcome as it happens (failures
printed at once, even with --quiet), then a summary line, a JSON report and the exit code."""

from __future__ import annotations

from dataclasses import asdict

from hidt_cli.cli.common import EXIT_OK, EXIT_SOME_FAILED, print_json, stderr
from hidt_cli.outcomes import Outcome


class BatchReport:
    """What happened to each input; the exit code and the summary come from it."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.status == "failed":  # failures are printed even with --quiet
            stderr.print(f"hidt: error: {outcome.error}", style="red", markup=False, soft_wrap=True)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.count("failed") else EXIT_OK

    def summary(self) -> str:
        parts = [f"{self.count('converted')} converted"]
        if skipped := self.count("skipped"):
            parts.append(f"{skipped} skipped (output exists; --overwrite to redo)")
        if failed := self.count("failed"):
            parts.append(f"{failed} failed")
        return ", ".join(parts)

    def finish(self, *, quiet: bool, as_json: bool, interrupted: bool = False) -> int:
        """Print the summary (stderr) and the JSON report (stdout); return the exit code."""
        if as_json:
            print_json(
                {
                    "converted": self.count("converted"),
                    "skipped": self.count("skipped"),
                    "failed": self.count("failed"),
                    "interrupted": interrupted,
                    "files": [asdict(o) for o in self.outcomes],
                }
            )
        if not quiet or interrupted:
            prefix = "interrupted: " if interrupted else ""
            stderr.print(f"{prefix}{self.summary()}", markup=False)
        return self.exit_code
