"""Photos by id — FOLDER's files and uploads — and a byte-bounded LRU for what is decoded from
them. A request names a photo only by its id: paths are the server's own (found below FOLDER
when it starts, or written by the server into its temporary folder), so no request can make it
read another file."""

from __future__ import annotations

import os
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hidt_cli.io.images import LoadedImage, read_image
from hidt_cli.io.paths import IMAGE_SUFFIXES, walk_files

_MAX_NAME = 120


class UnknownPhoto(KeyError):
    """No photo has this id (never had, or an upload dropped to keep the stash in budget)."""

    def __str__(self) -> str:
        return f"no photo with id {self.args[0]!r} (open it again)"


@dataclass(frozen=True)
class Source:
    """Where a photo's bytes are: `path` is below FOLDER or in the stash, never from a request."""

    id: str
    name: str
    """Shown in the page: the path below FOLDER, or the upload's file name."""
    path: Path
    origin: str
    """"folder" or "upload"."""
    size: int
    """Bytes on disk."""


class LruCache:
    """Values with a size in bytes, the least recently used dropped once the total is over
    budget (the newest entry is always kept, even alone over budget). Thread-safe."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[object, tuple[Any, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    @property
    def total_bytes(self) -> int:
        return self._total

    def get(self, key: object) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: object, value: Any, nbytes: int) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= old[1]
            self._items[key] = (value, nbytes)
            self._total += nbytes
            while self._total > self.budget_bytes and len(self._items) > 1:
                _, (_, size) = self._items.popitem(last=False)
                self._total -= size

    def keys(self) -> list[object]:
        with self._lock:
            return list(self._items)


class PhotoStore:
    """The catalogue of photos the server may read: FOLDER's image files (found once, at the
    start) and uploads, whose bytes are kept in `stash` (the oldest dropped beyond
    `stash_bytes`) so that a photo evicted from memory can be decoded again."""

    def __init__(self, stash: Path, stash_bytes: int, max_pixels: int) -> None:
        self.stash = stash
        self.stash_bytes = stash_bytes
        self.max_pixels = max_pixels
        self._sources: dict[str, Source] = {}
        self._lock = threading.Lock()

    def add_folder(self, folder: Path) -> list[str]:
        """Offer FOLDER's image files (sub-folders too), sorted by name; returns the problems
        met walking it. A file whose real path leaves FOLDER (a symlink out) is not offered."""
        problems: list[str] = []
        root = os.path.realpath(folder)
        found = []
        for path in walk_files(folder, problems):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            real = os.path.realpath(path)
            if os.path.commonpath([root, real]) != root or not os.path.isfile(real):
                continue
            found.append((path.relative_to(folder).as_posix(), Path(real)))
        with self._lock:
            for name, real in sorted(found):
                photo_id = _new_id()
                size = real.stat().st_size
                self._sources[photo_id] = Source(photo_id, name, real, "folder", size)
        return problems

    def add_upload(self, data: bytes, filename: str | None) -> tuple[Source, LoadedImage]:
        """Decode an upload (ImageError, naming the file, if it is not a readable photo within
        the pixel limit) and keep its bytes under a new id."""
        name = display_name(filename)
        loaded = read_image(data, max_pixels=self.max_pixels, name=name)
        photo_id = _new_id()
        path = self.stash / f"upload-{photo_id}"
        path.write_bytes(data)
        source = Source(photo_id, name, path, "upload", len(data))
        with self._lock:
            self._sources[photo_id] = source
            self._drop_old_uploads()
        return source, loaded

    def source(self, photo_id: str) -> Source:
        with self._lock:
            if photo_id in self._sources:
                return self._sources[photo_id]
        raise UnknownPhoto(photo_id)

    def sources(self) -> list[Source]:
        with self._lock:
            return list(self._sources.values())

    def read(self, photo_id: str) -> LoadedImage:
        """Decode the photo again from its own file (ImageError if it became unreadable)."""
        source = self.source(photo_id)
        return read_image(source.path, max_pixels=self.max_pixels, name=source.name)

    def _drop_old_uploads(self) -> None:
        uploads = [s for s in self._sources.values() if s.origin == "upload"]
        total = sum(s.size for s in uploads)
        for old in uploads[:-1]:  # insertion order: oldest first; the newest stays
            if total <= self.stash_bytes:
                break
            del self._sources[old.id]
            old.path.unlink(missing_ok=True)
            total -= old.size


def display_name(filename: str | None) -> str:
    """An upload's file name as the client gave it, reduced to a harmless base name for
    messages and download names (no folders, no control characters, bounded length)."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?')
    return clean.strip(". ")[:_MAX_NAME] or "upload"


def _new_id() -> str:
    """Unguessable, so that one page cannot enumerate another's uploads."""
    return secrets.token_hex(8)
