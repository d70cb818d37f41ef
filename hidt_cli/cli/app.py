"""The `hidt` Typer app: registers one command per module (started by entry.py)."""

from __future__ import annotations

import typer

from hidt_cli.cli.classifier import train_classifier
from hidt_cli.cli.enhance import enhance
from hidt_cli.cli.evaluate import evaluate, evaluate_paired
from hidt_cli.cli.lut import lut
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
app.command()(lut)
app.command()(styles)
app.command()(info)
app.command("convert-weights")(convert_weights)
app.command()(train)
app.command("train-enhancer")(train_enhancer)
app.command("train-classifier")(train_classifier)
app.command()(evaluate)
app.command("evaluate-paired")(evaluate_paired)
app.command()(serve)
