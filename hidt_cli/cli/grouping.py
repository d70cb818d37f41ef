"""Option groups for Typer: a command takes a group (a dataclass whose fields are Typer
options, or other groups) as one parameter; `@grouped` spreads the group's fields into the
command's signature for Typer and gathers them back into the dataclass for the command."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., None])


def grouped(command: F) -> F:
    """Let `command` take option groups (dataclasses whose fields are Typer options, or other
    groups) as parameters: Typer sees the fields as options, the command the dataclasses."""
    hints = typing.get_type_hints(command, include_extras=True)
    parameters, groups = [], {}
    for parameter in inspect.signature(command).parameters.values():
        kind = hints.get(parameter.name)
        if _is_group(kind):
            groups[parameter.name] = kind
            parameters += _spread(kind)
        else:
            # keyword-only, so that any order is valid: Typer passes every option by name
            parameters.append(parameter.replace(annotation=kind, kind=_KEYWORD))

    @functools.wraps(command)
    def wrapper(**options):
        for name, kind in groups.items():
            options[name] = _gather(kind, options)
        return command(**options)

    wrapper.__signature__ = inspect.Signature(parameters)
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__  # Typer must read the spread signature, not the command's
    return wrapper  # type: ignore[return-value]


_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _is_group(kind: object) -> bool:
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def _spread(group: type) -> list[inspect.Parameter]:
    """A group's options as parameters, the options of groups within it included."""
    hints = typing.get_type_hints(group, include_extras=True)
    parameters = []
    for field in dataclasses.fields(group):
        if _is_group(hints[field.name]):
            parameters += _spread(hints[field.name])
        else:
            default = field.default  # none given: a required option
            default = inspect.Parameter.empty if default is dataclasses.MISSING else default
            parameter = inspect.Parameter(field.name, _KEYWORD, default=default)
            parameters.append(parameter.replace(annotation=hints[field.name]))
    return parameters


def _gather(group: type, options: dict) -> object:
    """The group's dataclass made from (and taking out of) the parsed options."""
    hints = typing.get_type_hints(group, include_extras=True)
    values = {
        field.name: _gather(hints[field.name], options)
        if _is_group(hints[field.name])
        else options.pop(field.name)
        for field in dataclasses.fields(group)
    }
    return group(**values)
