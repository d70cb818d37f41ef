"""Placeholder: being written."""


def timelapse() -> None:
    raise NotImplementedError
