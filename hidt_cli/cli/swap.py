"""Placeholder: being written."""


def swap() -> None:
    raise NotImplementedError
