"""What `hidt serve` was asked for: one frozen record every part of the server reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 8023
DEFAULT_MAX_UPLOAD_BYTES = 64 * 2**20
DEFAULT_MAX_PIXELS = 50_000_000
"""A 50-MP photo is 150 MB decoded; larger ones are refused by their header, before decoding."""
DEFAULT_CACHE_BYTES = 1 << 30
PREVIEW_PIXELS = 1 << 20
"""The preview copy a style change re-renders: 1 MP, what fills a screen."""
THUMBNAIL_SIDE = 384
"""Longer side of the gallery's thumbnails (sharp at 2× on a 192-pixel tile)."""


@dataclass(frozen=True)
class ServeSettings:
    """Where the server listens, who may use it and how much one request may cost."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    """Required on every request when set (always set when host is not a loopback address)."""
    folder: Path | None = None
    """Photos offered by id; the server never reads a file that is not below it."""
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    inference_size: int = 256
    cache_bytes: int = DEFAULT_CACHE_BYTES
    """Decoded photos, preview copies and full-size renders kept in memory, at most."""
    stash_bytes: int = 4 << 30
    """Uploaded files kept (on disk, in the server's temporary folder) at most; the oldest go."""
