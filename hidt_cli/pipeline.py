"""Deprecated: the names this module used to hold now live where their job is —
hidt_cli.model (HiDT, load), hidt_cli.render (RenderSpec and the render core) and
hidt_cli.ranges (value-range conversions). Importing them from here still works, with a
DeprecationWarning, until the next minor release."""

from __future__ import annotations

import importlib
import warnings

_MOVED = {
    "HiDT": "hidt_cli.model",
    "WeightsInfo": "hidt_cli.model",
    "load": "hidt_cli.model",
    "RenderSpec": "hidt_cli.render",
    "check_inference_size": "hidt_cli.render",
    "network_input": "hidt_cli.render",
    "network_shape": "hidt_cli.render",
    "resize_pm1": "hidt_cli.render",
    "photo_tensor": "hidt_cli.ranges",
    "to_uint8": "hidt_cli.ranges",
}


def __getattr__(name: str):
    if name not in _MOVED:
        raise AttributeError(f"module 'hidt_cli.pipeline' has no attribute {name!r}")
    warnings.warn(
        f"hidt_cli.pipeline.{name} is deprecated: import it from {_MOVED[name]}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(_MOVED[name]), name)
