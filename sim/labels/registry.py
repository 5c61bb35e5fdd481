"""The label registry: ``LABELS`` maps a name to one label function.

Adding a label type is one decorated function (in its own small module, imported by
``sim/labels/__init__.py``)::

    from sim.labels.registry import label

    @label                      # registered under the function's __name__
    def speed_histogram(table, valid, bins=10):
        # one line of docstring here: output shape and units, e.g. (bins,) int64
        return np.histogram(table[3][valid], bins=bins)[0]

    LABELS.get("speed_histogram")(table, valid)

A second function with a name already taken raises ValueError (``sim.registry.Registry``).
Label functions are pure: arrays in, a dict of numpy arrays (or one array) out, shapes and units
in their docstrings; no rendering, no RNG, no reference back to an env.
"""
from __future__ import annotations

from collections.abc import Callable

from sim.registry import Registry

LABELS: Registry[Callable] = Registry("label")

label = LABELS.decorator("__name__")
"""Decorator: register a function in LABELS under its ``__name__`` and return it unchanged."""
