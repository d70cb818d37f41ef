"""Pillow's process-wide settings changed for one call at a time.

Pillow's decompression-bomb guard reads the module-global Image.MAX_IMAGE_PIXELS, with a
default unrelated to --max-pixels, and the warnings filters are process-wide too. Every
change of either happens under PIL_LOCK, so concurrent reads (the read-ahead threads) never
see each other's values; decoding itself runs outside the lock.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator

PIL_LOCK = threading.Lock()


@contextlib.contextmanager
def warnings_as_notes(notes: list[str]) -> Iterator[None]:
    """Pillow's warnings about damaged metadata, recorded under the lock as one note each
    instead of stray lines on stderr."""
    with PIL_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            notes.extend(warning_notes(caught))


def warning_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    messages = dict.fromkeys(" ".join(str(w.message).split()) for w in caught)
    return [f"damaged metadata: {message}" for message in messages]
