"""Option groups: a command that takes dataclasses of options gets them filled from the
command line; nested groups spread too, and a field without a default is a required option."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer
from typer.testing import CliRunner

from hidt_cli.cli.grouping import grouped


@dataclass(frozen=True)
class Inner:
    size: Annotated[int, typer.Option("--size")] = 3
    name: Annotated[str, typer.Option("--name")] = "x"


@dataclass(frozen=True)
class Outer:
    inner: Inner
    out: Annotated[str, typer.Option("--out")]  # no default: required


seen: list = []


@grouped
def command(
    word: Annotated[str, typer.Argument()],
    *,
    outer: Outer,
    flag: Annotated[bool, typer.Option("--flag")] = False,
) -> None:
    seen.append((word, outer, flag))


def run(*args: str):
    app = typer.Typer()
    app.command()(command)
    app.command("other")(lambda: None)  # two commands: the first is named, as in hidt
    return CliRunner().invoke(app, ["command", *args])


def test_groups_are_filled_from_their_options():
    seen.clear()
    result = run("hello", "--out", "o.txt", "--size", "7", "--flag")
    assert result.exit_code == 0, result.output
    assert seen == [("hello", Outer(Inner(7, "x"), "o.txt"), True)]


def test_a_field_without_a_default_is_a_required_option():
    result = run("hello")
    assert result.exit_code == 2 and "--out" in result.output
