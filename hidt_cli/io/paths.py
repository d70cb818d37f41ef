"""Turn command-line inputs (files, folders, globs, '-') into work items and name their outputs;
walk folders by the one rule that every set of photos follows."""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from hidt_cli.io.formats import READ_SUFFIXES, UNREADABLE_SUFFIXES, output_extension

IMAGE_SUFFIXES = READ_SUFFIXES
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})
"""Videos are translated frame by frame into an MP4 (`<stem><suffix>.mp4`)."""
STDIN = "-"

# Not readable, but taken from folders too, so that each such photo is named in an error.
_UNSUPPORTED_SUFFIXES = UNREADABLE_SUFFIXES
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class InputItem:
    """One input; `relative` is its place under the folder it was found in, kept in output_dir."""

    path: Path
    relative: Path

    @property
    def is_stdin(self) -> bool:
        return self.path == Path(STDIN)

    @property
    def is_video(self) -> bool:
        return self.path.suffix.lower() in VIDEO_SUFFIXES


def expand_inputs(
    specs: Sequence[str], *, recursive: bool = False, exclude: str | os.PathLike[str] | None = None
) -> tuple[list[InputItem], list[str]]:
    """Resolve specs into items, plus one-line problems for specs that matched nothing or failed.

    Items follow the order of the specs, each spec's matches sorted; an input reached twice
    (same real path) is kept once, where it was first found. Folders and globs do not look
    inside `exclude` (the output folder) when it lies below them, so that a rerun does not
    take the previous run's outputs for inputs. A named link that loops or leads nowhere is a
    problem, like the bad entries walk_files finds; a named pipe or device is taken, since the
    user asked for it (e.g. a shell's `<(...)`).
    """
    items: list[InputItem] = []
    problems: list[str] = []
    seen: set[str] = set()
    skip = os.path.realpath(exclude) if exclude is not None else None
    for spec in specs:
        found = _expand_spec(spec, recursive, problems, skip)
        for item in sorted(found, key=lambda found_item: found_item.relative.parts):
            key = STDIN if item.is_stdin else os.path.realpath(item.path)
            if key not in seen:
                seen.add(key)
                items.append(item)
    return items, problems


def output_path(
    item: InputItem, *, output: Path | None, output_dir: Path | None, suffix: str, fmt: str | None
) -> Path:
    """`output` if given, else <output_dir or input's folder>/<relative parent>/<stem><suffix>.<ext>

    ext is mp4 for a video; for a photo `fmt` (one of images.SUPPORTED_OUTPUT_FORMATS) or else
    the input's own suffix when that is writable, tif for a RAW, else png. Raises ValueError
    rather than name an output over its own input.
    """
    if output is not None:
        target = output
    elif item.is_stdin:
        raise ValueError(f"{STDIN}: reading from stdin needs an explicit output path")
    else:
        ext = "mp4" if item.is_video else fmt or output_extension(item.path.suffix)
        folder = output_dir / item.relative.parent if output_dir is not None else item.path.parent
        target = folder / f"{item.path.stem}{suffix}.{ext}"
    if not item.is_stdin and _same_file(target, item.path):
        raise ValueError(f"{target}: output would overwrite the input")
    return target


def find_collisions(pairs: Iterable[tuple[InputItem, Path]]) -> dict[Path, list[InputItem]]:
    """Outputs that more than one input would write, so the caller can refuse before any work."""
    by_output: dict[str, list[tuple[Path, InputItem]]] = defaultdict(list)
    for item, target in pairs:
        by_output[os.path.realpath(target)].append((target, item))
    return {
        group[0][0]: [item for _, item in group] for group in by_output.values() if len(group) > 1
    }


def find_input_overwrites(pairs: Iterable[tuple[InputItem, Path]]) -> list[tuple[InputItem, Path]]:
    """Pairs whose output is one of the inputs (e.g. a rerun on a folder with earlier results)."""
    pairs = list(pairs)
    inputs = {os.path.realpath(item.path) for item, _ in pairs if not item.is_stdin}
    return [(item, target) for item, target in pairs if os.path.realpath(target) in inputs]


def _same_file(a: Path, b: Path) -> bool:
    """Real paths catch symlinks and '..'; samefile adds hard links and case-insensitive names."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # the output does not exist yet
        return False


def _expand_spec(
    spec: str, recursive: bool, problems: list[str], skip: str | None
) -> list[InputItem]:
    if spec == STDIN:
        return [InputItem(Path(STDIN), Path(STDIN))]
    path = Path(spec)
    mode, why = _follow(path)
    if why is not None:
        problems.append(f"{spec}: {why}")
        return []
    if mode is not None and stat.S_ISDIR(mode):
        found = [
            InputItem(file, file.relative_to(path))
            for file in walk_files(path, problems, max_depth=None if recursive else 0, skip=skip)
            if file.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES | _UNSUPPORTED_SUFFIXES
        ]
        if not found:
            problems.append(f"{spec}: no image files found")
        return found
    if mode is not None:  # any suffix: a non-image then fails loudly when read
        return [InputItem(path, Path(path.name))]
    if not _GLOB_CHARS & set(spec):
        problems.append(f"{spec}: no such file or directory")
        return []
    named = len(problems)
    found = _glob(path, recursive, problems, skip)
    if not found and len(problems) == named:  # else the bad entries it matched are named
        problems.append(f"{spec}: no files match")
    return found


def _glob(pattern: Path, recursive: bool, problems: list[str], skip: str | None) -> list[InputItem]:
    """Match with the walk of walk_files, which, unlike glob's '**', ends on symlink loops;
    matches keep their layout relative to the pattern's fixed leading folders. Of the bad
    entries met, those are named that the pattern could have matched or looked into."""
    parts = pattern.parts
    fixed = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    base = Path(*parts[:fixed]) if fixed else Path(".")
    if not os.path.isdir(base):
        return []
    wanted = [("*" if part == "**" and not recursive else part) for part in parts[fixed:]]
    found = []
    for path, why in _walk(
        base, skip, lambda f: _leads_to_match(wanted, f.relative_to(base).parts)
    ):
        relative = path.relative_to(base)
        if why is None:
            if _match(wanted, relative.parts):
                found.append(InputItem(path, relative))
        elif _match(wanted, relative.parts) or _leads_to_match(wanted, relative.parts):
            problems.append(f"{path}: {why}")
    return found


def _match(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":  # zero or more folders
        return any(_match(pattern[1:], parts[start:]) for start in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatch(parts[0], pattern[0]) and _match(pattern[1:], parts[1:])


def _leads_to_match(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """Whether a folder at `parts` could hold a match of the pattern."""
    if not parts:
        return bool(pattern)
    if not pattern:
        return False
    if pattern[0] == "**":  # it takes in any folders, and more of the pattern follows
        return True
    return fnmatch.fnmatch(parts[0], pattern[0]) and _leads_to_match(pattern[1:], parts[1:])


def walk_files(
    root: Path, problems: list[str], *, max_depth: int | None = None, skip: str | None = None
) -> Iterator[Path]:
    """Regular files below root: the one folder walk behind every set of photos (command-line
    inputs, training and evaluation sets, scene folders), so that they all agree on one rule.

    - Names starting with '.' are skipped, files and folders alike (so version-control
      folders, and our '.name.*.tmp' outputs in progress, are never taken for photos).
    - Folders are entered down to max_depth levels below root (None: all the way).
    - Symlinked folders are followed, but after every real folder, and each real folder is
      listed once: symlink loops end, and a folder also reached through a link keeps its path
      without the link. Symlinked files are files.
    - Any other entry is one line in `problems` and the walk goes on: a link that loops
      (between files, between folders, onto itself) or leads nowhere, a named pipe, device
      or socket (reading one could block for ever), a folder that cannot be listed.
    - The real folder `skip` (an output folder) is not entered unless it is root itself.

    Paths start with root; their order is fixed but not sorted, so callers sort.
    """

    def enter(folder: Path) -> bool:
        return max_depth is None or len(folder.relative_to(root).parts) <= max_depth

    for path, why in _walk(root, skip, enter):
        if why is None:
            yield path
        else:
            problems.append(f"{path}: {why}")


def _walk(
    root: Path, skip: str | None, enter: Callable[[Path], bool]
) -> Iterator[tuple[Path, str | None]]:
    """walk_files' files as (path, None) and its problems as (path, why), entering the
    folders below root that `enter` accepts. Linked folders go first in, first out, so a
    real folder reached only through links keeps the first name that reaches it."""
    visited = {skip} if skip is not None and skip != os.path.realpath(root) else set()
    folders: list[Path] = [root]
    linked: deque[Path] = deque()
    while folders or linked:
        folder = folders.pop() if folders else linked.popleft()
        real = os.path.realpath(folder)
        if real in visited:
            continue
        visited.add(real)
        try:
            with os.scandir(folder) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            yield folder, f"cannot list folder ({_words(exc)})"
            continue
        for name in names:
            if name.startswith("."):
                continue
            path = Path(folder, name)
            mode, why = _follow(path)
            if why is not None:
                yield path, why
            elif mode is None:  # removed since the folder was listed
                continue
            elif stat.S_ISREG(mode):
                yield path, None
            elif not stat.S_ISDIR(mode):
                yield path, f"not a regular file ({_special_kind(mode)})"
            elif enter(path):
                (linked if os.path.islink(path) else folders).append(path)


def _follow(path: Path) -> tuple[int | None, str | None]:
    """The mode of what `path` leads to through any links, or why it leads nowhere; (None,
    None) when nothing is there. One stat that never raises: DirEntry.is_dir() and friends
    raise on a link loop, which once stopped a whole batch."""
    try:
        return os.stat(path).st_mode, None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "symbolic link loop"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None, "broken symbolic link" if os.path.islink(path) else None
        return None, f"cannot read ({_words(exc)})"
    except ValueError:  # a NUL byte in a name given on the command line
        return None, "not a valid path"


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def _words(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
