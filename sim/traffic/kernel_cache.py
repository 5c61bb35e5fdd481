"""Stale numba caches of the traffic kernels: numba's on-disk cache checks only the source file of the cached
function, but the traffic kernels compile in functions and constants of several modules, so a change to one of
them would go unseen. ``drop_stale`` deletes all their cached code when any of those modules is newer than it
(caches in the package's ``__pycache__``, numba's default location)."""
from __future__ import annotations

from pathlib import Path

MODULES = ("kernels", "junctions", "passing", "kinematics", "signals", "lane_map", "yielding", "vru_kernels",
           "vru_network")
"""Modules whose compiled functions call each other or use each other's constants."""


def drop_stale() -> None:
    """Delete the cached kernels of MODULES if any of their sources is newer than the oldest cache file (other
    processes may be doing the same: files that vanish meanwhile are skipped)."""
    here = Path(__file__).parent
    files = [f for m in MODULES for f in (here / "__pycache__").glob(f"{m}.*.nb[ic]")]
    stamps = [t for t in map(_mtime, files) if t is not None]
    if stamps and max(_mtime(here / f"{m}.py") or 0.0 for m in MODULES) > min(stamps):
        for f in files:
            f.unlink(missing_ok=True)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None
