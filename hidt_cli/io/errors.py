"""The one error shape of file input and output: "PATH: reason" on one line."""

from __future__ import annotations

import os


class PathError(Exception):
    """A file that cannot be read or written; `str()` is the line shown to the user."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{os.fspath(path)}: {reason}")
        self.path = os.fspath(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def describe(exc: OSError) -> str:
    """An OS error's reason as the lower-case tail of a "PATH: reason" line."""
    reason = exc.strerror or str(exc)
    return reason[:1].lower() + reason[1:]


class OutputExistsError(PathError, FileExistsError):
    """An output already at its name, and overwriting was not asked for: found before the
    work, or put there meanwhile by another run and found when publishing (io.publish)."""

    def __init__(self, path: str | os.PathLike[str], reason: str = "exists (use --overwrite)"):
        super().__init__(path, reason)


class ImageError(PathError):
    """An image that cannot be read or written."""


class ImageExistsError(ImageError, OutputExistsError):
    """An image output already at its name (io.images.OutputExistsError)."""
