"""Give a finished temporary file its final name without replacing a file that appeared there
meanwhile (another run writing the same output), unless overwriting was asked for.

Checking that the name is free and then renaming leaves a moment in which another run can
finish the same output, and a rename would replace it. A hard link is made only where the
name is free, in one step: the file appears whole under its name or not at all, and the
temporary name is removed after. Where the filesystem has no hard links (FAT, exFAT, some
network shares), Linux's renameat2(RENAME_NOREPLACE) does the same in one call; where that
is missing too, the check comes just before an ordinary rename.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

from hidt_cli.io.errors import OutputExistsError

_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK}
)
_NO_RENAMEAT2 = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP})
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def publish(
    temp: str | os.PathLike[str],
    target: str | os.PathLike[str],
    overwrite: bool,
    exists: type[OutputExistsError] = OutputExistsError,
) -> None:
    """Rename `temp` (a finished file in target's folder) to `target`. Without `overwrite`,
    a file already at `target` (even one that appeared a moment ago) is kept and `exists`
    (a subclass of OutputExistsError, so callers keep their own error kind) is raised, with
    `temp` left for the caller to remove. Other failures raise OSError."""
    if overwrite:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)
    except FileExistsError:
        raise exists(target) from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        _rename_no_replace(temp, target, exists)
    else:
        os.unlink(temp)


def _rename_no_replace(
    temp: str | os.PathLike[str], target: str | os.PathLike[str], exists: type[OutputExistsError]
) -> None:
    renameat2 = _renameat2()
    if renameat2 is not None:
        if (
            renameat2(
                _AT_FDCWD, os.fsencode(temp), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE
            )
            == 0
        ):
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise exists(target)
        if code not in _NO_RENAMEAT2:
            raise OSError(code, os.strerror(code), os.fspath(target))
    # The last resort: a moment remains between the check and the rename.
    if os.path.lexists(target):
        raise exists(target)
    try:
        os.rename(temp, target)
    except FileExistsError:  # Windows' rename refuses an existing target by itself
        raise exists(target) from None


def _renameat2():
    """glibc's renameat2 (Linux 3.15 and later), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    function.restype = ctypes.c_int
    return function
