"""Placeholder: being written."""


def styles() -> None:
    raise NotImplementedError


def info() -> None:
    raise NotImplementedError


def convert_weights() -> None:
    raise NotImplementedError
