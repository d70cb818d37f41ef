"""`hidt styles`, `hidt info` and `hidt convert-weights`: what weights hold, where they came
from, and turning a published checkpoint into our safetensors format."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.console import Console
from rich.table import Table

import hidt_cli
from hidt_cli import weights as weights_io
from hidt_cli.cli import common
from hidt_cli.cli.common import fail
from hidt_cli.cli.grouping import grouped
from hidt_cli.cli.options import AsJson, Debug, ModelOptions, Overwrite, Weights
from hidt_cli.model import HiDT
from hidt_cli.sheets import format_code

stdout = Console(highlight=False)


class Kind(str, Enum):
    auto = "auto"
    generator = "generator"
    enhancer = "enhancer"


# ------------------------------------------------------------------ styles


def styles(weights: Weights = None, as_json: AsJson = False, debug: Debug = False) -> None:
    """List the named styles (presets) of the weights."""
    with common.reported_errors(debug):
        path = weights_io.resolve(weights, "generator")
        presets = weights_io.load(path, "generator").presets
        if as_json:
            common.print_json(
                {"weights": str(path), "presets": {k: list(presets[k]) for k in sorted(presets)}}
            )
            return
        if not presets:
            common.note(
                f"{path}: these weights define no presets; use --style IMAGE or --style-code A,B,C",
                quiet=False,
            )
            return
        table = Table("preset", "style code", title=f"Presets of {path}")
        for name in sorted(presets):
            table.add_row(name, format_code(presets[name]))
        stdout.print(table)


# ------------------------------------------------------------------ info


@grouped
def info(*, model: ModelOptions, as_json: AsJson = False, debug: Debug = False) -> None:
    """Where the weights came from (with their sha256), their sizes, and the runtime."""
    with common.reported_errors(debug):
        report = _info_report(common.load_model(model))
        if as_json:
            common.print_json(report)
        else:
            _print_info(report)


def _info_report(model: HiDT) -> dict:
    loaded = model.info
    return {
        "generator": _weights_report(loaded.generator),
        "enhancer": _weights_report(loaded.enhancer) if loaded.enhancer else None,
        "device": str(model.device),
        "dtype": str(model.dtype).removeprefix("torch."),
        "torch": torch.__version__,
        "hidt": hidt_cli.__version__,
    }


def _weights_report(loaded: weights_io.LoadedWeights) -> dict:
    return {
        "source": loaded.source,
        "path": str(loaded.path),
        "format": loaded.format,
        "sha256": loaded.sha256,
        "config": loaded.config.to_dict(),
        "parameters": weights_io.parameter_count(loaded.state),
        "presets": len(loaded.presets),
        "provenance": loaded.provenance,
    }


def _print_info(report: dict) -> None:
    """Plain key-value lines: a sha256 must never be wrapped or truncated for copying."""
    for kind in ("generator", "enhancer"):
        entry = report[kind]
        if entry is None:
            _line(f"{kind}: none (high-resolution output unavailable)")
            continue
        _line(kind)
        for key in ("source", "path", "format", "sha256"):
            _line(f"  {key:<11} {entry[key]}")
        _line(f"  {'parameters':<11} {entry['parameters']:,}")
        _line(f"  {'config':<11} " + ", ".join(f"{k}={v}" for k, v in entry["config"].items()))
        if kind == "generator":
            _line(f"  {'presets':<11} {entry['presets']}")
        provenance = ", ".join(f"{k}={v}" for k, v in entry["provenance"].items())
        _line(f"  {'provenance':<11} {provenance or '-'}")
    _line(
        f"device {report['device']}, {report['dtype']}; torch {report['torch']}, hidt {report['hidt']}"
    )


def _line(text: str) -> None:
    stdout.print(text, markup=False, soft_wrap=True)


# ------------------------------------------------------------------ convert-weights


def convert_weights(
    source: Annotated[
        Path,
        typer.Argument(metavar="IN", help="A published checkpoint (.pt/.pth) or our .safetensors."),
    ],
    target: Annotated[Path, typer.Argument(metavar="OUT", help="The .safetensors file to write.")],
    kind: Annotated[
        Kind, typer.Option(help="Which network IN holds; auto reads it off the keys.")
    ] = Kind.auto,
    half: Annotated[bool, typer.Option("--half", help="Store float16 (half the size).")] = False,
    overwrite: Overwrite = False,
    debug: Debug = False,
) -> None:
    """Convert a checkpoint to safetensors with presets and provenance; prints its sha256."""
    with common.reported_errors(debug):
        if target.suffix != ".safetensors":
            fail(f"{target}: the output must be a .safetensors file")
        common.refuse_existing([target], overwrite)
        if not source.is_file():
            fail(f"{source}: no such weights file", common.EXIT_WEIGHTS)
        loaded = weights_io.load(source, None if kind is Kind.auto else kind.value)
        network = loaded.kind
        provenance = {
            **loaded.provenance,
            "converted_from": source.name,
            "source_sha256": loaded.sha256,
        }
        digest = weights_io.save_safetensors(
            target,
            loaded.build(),
            network,
            presets=loaded.presets,
            provenance=provenance,
            half=half,
        )
        common.note(
            f"wrote {target}: {network}, {weights_io.parameter_count(loaded.state):,} parameters, "
            f"{'float16' if half else 'float32'}, {len(loaded.presets)} presets",
            quiet=False,
        )
        if (target.parent / weights_io.MANIFEST).is_file():  # keep the folder's manifest true
            weights_io.write_manifest(target.parent)
        _line(f"{digest}  {target}")
