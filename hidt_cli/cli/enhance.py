"""Placeholder: being written."""


def enhance() -> None:
    raise NotImplementedError
