"""The `hidt` command's entry point, kept free of heavy imports: SIGTERM stops a run like
Ctrl-C, and an interrupt while torch and the commands are still loading is said in one line
(exit 130) like one during the work."""

from __future__ import annotations

import signal
import sys

EXIT_INTERRUPTED = 130


def _raise_interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        # numpy first: torch imports it in a way that swallows a KeyboardInterrupt meanwhile
        import numpy  # noqa: F401

        from hidt_cli.cli.app import app
    except KeyboardInterrupt:
        sys.stderr.write("hidt: interrupted while starting\n")
        sys.exit(EXIT_INTERRUPTED)
    app()
