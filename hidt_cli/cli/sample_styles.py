"""Placeholder: being written."""


def sample_styles() -> None:
    raise NotImplementedError
