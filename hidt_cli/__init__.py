"""hidt: change the time of day of a photo with HiDT (CVPR 2020), at full resolution.

import hidt_cli
model = hidt_cli.load()                      # shipped default weights
night = model.translate("photo.jpg", "night")
night.save("photo_night.jpg")

The names below are imported when first used, so that starting the command line (and a
Ctrl-C during its start-up) does not wait for torch before it can say anything.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_NAMES = {
    "Content": "hidt_cli.models",
    "HiDT": "hidt_cli.model",
    "load": "hidt_cli.model",
    "RenderSpec": "hidt_cli.render",
    "StyleError": "hidt_cli.styles",
    "WeightsError": "hidt_cli.weights",
}
__all__ = ["Content", "HiDT", "RenderSpec", "StyleError", "WeightsError", "__version__", "load"]


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module 'hidt_cli' has no attribute {name!r}")
    return getattr(importlib.import_module(_NAMES[name]), name)
