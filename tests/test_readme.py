"""README stays true: every option of every command's --help is in its tables, every preset an
example names exists in the shipped weights, and the first run's photo is there."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import typer

from hidt_cli.cli.app import app
from hidt_cli.weights import load, resolve

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def table_options(text: str) -> set[str]:
    """Every `--option` or `-o` written in the first column of a markdown table."""
    found = set()
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            first = line.split("|")[1]
            found.update(re.findall(r"`(--?[a-z][\w-]*)`", first))
    return found


def commands() -> dict[str, click.Command]:
    return dict(typer.main.get_command(app).commands)


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_of_every_command_is_in_the_readme_tables(name):
    documented = table_options(README)
    options = {
        opt
        for param in commands()[name].params
        if isinstance(param, click.Option)
        for opt in param.opts + param.secondary_opts
    } - {"--help", "-h"}
    missing = sorted(options - documented)
    assert not missing, f"hidt {name}: {missing} are in --help but not in README's tables"


def example_lines() -> list[str]:
    """The `hidt …` command lines of README's code blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("hidt ") or " | hidt " in line:
                lines.append(line[line.index("hidt ") :])
    return lines


def test_every_preset_an_example_names_is_a_preset_of_the_shipped_weights():
    presets = set(load(resolve(None, "generator"), "generator").presets)
    named = []
    for line in example_lines():
        words = shlex.split(line.split(">")[0].split("|")[0])
        for option, value in zip(words, words[1:], strict=False):
            if option in ("--preset", "-p"):
                named.append(value)
            if option == "--presets":
                named += [p for p in value.split(",") if ":" not in p]
    assert named, "README's examples name no preset"
    unknown = sorted(set(named) - presets)
    assert not unknown, f"README's examples name presets the shipped weights lack: {unknown}"


def test_the_first_run_photo_is_shipped():
    assert "hidt translate examples/lake-sherburne.jpg --preset night" in README
    assert (ROOT / "examples" / "lake-sherburne.jpg").is_file()
