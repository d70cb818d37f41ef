"""The `hidt` Typer app: registers one command per module and runs with clean signal handling."""

from __future__ import annotations

import signal

import typer

from hidt_cli.cli.enhance import enhance
from hidt_cli.cli.evaluate import evaluate, evaluate_paired, train_classifier
from hidt_cli.cli.sample_styles import sample_styles
from hidt_cli.cli.serve import serve
from hidt_cli.cli.swap import swap
from hidt_cli.cli.timelapse import timelapse
from hidt_cli.cli.train import train, train_enhancer
from hidt_cli.cli.translate import translate
from hidt_cli.cli.weights_cmds import convert_weights, info, styles

app = typer.Typer(
    name="hidt",
    help="Change the time of day of photos (HiDT): day, sunset, blue hour, night and back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(translate)
app.command()(swap)
app.command("sample-styles")(sample_styles)
app.command()(timelapse)
app.command()(enhance)
app.command()(styles)
app.command()(info)
app.command("convert-weights")(convert_weights)
app.command()(train)
app.command("train-enhancer")(train_enhancer)
app.command("train-classifier")(train_classifier)
app.command()(evaluate)
app.command("evaluate-paired")(evaluate_paired)
app.command()(serve)


def _raise_interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


def main() -> None:
    """Entry point: SIGTERM stops a batch like Ctrl-C (no partial files, a summary)."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    app()
