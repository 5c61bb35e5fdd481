"""Episode logs: every step's actors and the ego's actions, with what is needed to re-simulate them.

Format (documented for users): one ``.npz`` file (NumPy zip, no pickle) holding
- ``meta``: a JSON string: ``format`` ("roadloop-episode-log"), ``format_version``, ``code_version``, ``env_id``,
  ``config`` (DriveConfig.to_dict()), ``scenario`` (the scenario document played, or null), ``reset``
  ({"seed": int} or {"rng_state": numpy bit-generator state}),
  ``agent`` (name or null), ``steps`` T, ``checksum`` (SHA-256 of every array below, in name order);
- ``actions`` (T, 2) float64: the actions as given to ``step``;
- ``ego`` (T+1, 8) float64: x, y, heading, speed, lateral_speed, yaw_rate, steer, accel after reset and each step;
- ``actors`` (T+1, 7, M) float64: ACTOR_FIELDS (x, y, heading, speed, length, width, height) of every actor,
  ego first; ``kind`` (M,) int8;
- ``reward`` (T,), ``terminated`` (T,) bool, ``truncated`` (T,) bool, ``collision`` (T,) int8 index into
  COLLISION_KINDS, ``off_road`` (T,) bool, ``progress_m`` (T+1,), ``obs_digest`` (T+1,) uint64 (BLAKE2b of
  each observation's bytes).
Files are written atomically (temp file + rename); a truncated or altered file fails to load with LogError.

Parking episodes (``roadloop/Parking-v0``, or ``roadloop/Scenario-v0`` playing a parking scenario; ``config`` is then
ParkingConfig.to_dict()) use the same arrays: ``ego`` rows are x, y, heading, signed speed, 0, 0, steer, 0 (the
kinematic parking ego has no lateral speed, yaw-rate or acceleration state); ``actors`` holds the ego and the moving
actors; ``progress_m`` is the distance left to the goal pose (m); ``collision`` indexes
sim.env.parking.COLLISION_KINDS and ``off_road`` is a collision with the lot's boundary.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from sim.atomic import atomic_open

FORMAT = "roadloop-episode-log"
FORMAT_VERSION = 1
ARRAYS = ("actions", "ego", "actors", "kind", "reward", "terminated", "truncated", "collision", "off_road",
          "progress_m", "obs_digest")


class LogError(ValueError):
    """An episode log that cannot be read: truncated, altered, or of another format."""


@dataclass(frozen=True, eq=False)
class EpisodeLog:
    """An episode as data: ``meta`` (see module docstring) and the arrays named in ARRAYS."""

    meta: dict
    arrays: dict[str, np.ndarray]

    @property
    def steps(self) -> int:
        return int(self.arrays["actions"].shape[0])


def code_version() -> str:
    """Package version, plus the git commit when running from a checkout."""
    version = metadata.version("roadloop")
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{version}+{sha}" if sha else version


def checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_log(log: EpisodeLog, path) -> Path:
    """Write ``log`` to ``path`` (.npz) atomically; returns the path."""
    path = Path(path)
    meta = dict(log.meta, format=FORMAT, format_version=FORMAT_VERSION, checksum=checksum(log.arrays))
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, meta=np.array(json.dumps(meta)), **log.arrays)
    return path


def load_log(path) -> EpisodeLog:
    """Read and verify a log; LogError names the file and the problem."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {name: z[name] for name in ARRAYS}
    except FileNotFoundError:
        raise LogError(f"{path}: no such episode log") from None
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError) as e:
        raise LogError(f"{path}: not a complete roadloop episode log ({type(e).__name__}: {e})") from None
    if meta.get("format") != FORMAT:
        raise LogError(f"{path}: format {meta.get('format')!r} is not {FORMAT!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise LogError(f"{path}: format_version {meta.get('format_version')!r}; this code reads {FORMAT_VERSION}")
    if meta.get("checksum") != checksum(arrays):
        raise LogError(f"{path}: checksum mismatch: the file was altered or damaged")
    return EpisodeLog(meta, arrays)
