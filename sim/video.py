"""Browser-playable MP4 videos from RGB frames.

OpenCV's ``VideoWriter`` with ``mp4v`` writes MPEG-4 Part 2, which browsers do not play. ``write_mp4``
encodes H.264 (libx264, ``yuv420p``, even frame size, ``+faststart``) with the ffmpeg binary bundled by
the ``imageio-ffmpeg`` package (a static build that includes libx264, so no system ffmpeg is needed).
The frames are piped to ffmpeg one at a time, so an iterator of frames is never held in memory.
"""
from __future__ import annotations

import math
import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np

INSTALL_HINT = "pip install imageio-ffmpeg"
"""What to install when the encoder is missing."""


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled by imageio-ffmpeg; RuntimeError with the pip command when absent."""
    try:
        import imageio_ffmpeg
    except ImportError as err:
        raise RuntimeError(f"writing MP4 videos needs the imageio-ffmpeg package: {INSTALL_HINT}") from err
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as err:
        raise RuntimeError(f"imageio-ffmpeg found no ffmpeg binary ({err}); reinstall it: {INSTALL_HINT}") from err


def _as_rgb(frame, shape: tuple[int, int] | None) -> np.ndarray:
    """Validate one frame: (H, W, 3) uint8 RGB (an RGBA frame loses its alpha). Returns it C-contiguous."""
    a = np.asarray(frame)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"frames must be (H, W, 3) RGB arrays, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {a.dtype}")
    if shape is not None and a.shape[:2] != shape:
        raise ValueError(f"all frames must have the same size: {a.shape[:2]} != {shape}")
    if a.shape[2] == 4:
        a = a[:, :, :3]
    return np.ascontiguousarray(a)


def _pad_even(a: np.ndarray) -> np.ndarray:
    """Repeat the last row/column so that height and width are even (yuv420p needs it)."""
    h, w = a.shape[:2]
    if h % 2 or w % 2:
        a = np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return a


def write_mp4(frames: Iterable[np.ndarray], path, fps: float, *, crf: int = 23) -> Path:
    """Encode RGB frames to a browser-playable H.264 MP4 at ``path`` and return it.

    ``frames``: iterable of (H, W, 3) uint8 RGB arrays, all the same size; an odd height/width is padded to
    even by repeating the last row/column. ``fps``: frames per second (> 0). ``crf``: x264 constant rate
    factor, 0 (lossless) .. 51 (worst); 23 is x264's default. The file is written to a temporary name in the
    same folder and moved into place with ``os.replace``, so a reader never sees a half-written video.
    Raises ValueError for bad frames, RuntimeError if the encoder is missing or ffmpeg fails."""
    fps = float(fps)
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps}")
    if not 0 <= int(crf) <= 51:
        raise ValueError(f"crf must be in 0..51, got {crf}")
    path = Path(path)
    it = iter(frames)
    try:
        first = _as_rgb(next(it), None)
    except StopIteration:
        raise ValueError("write_mp4 needs at least one frame") from None
    shape = first.shape[:2]
    h, w = _pad_even(first).shape[:2]
    exe = ffmpeg_exe()

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp.mp4"  # ffmpeg creates it (umask applies)
    rate = str(Fraction(fps).limit_denominator(1001))
    cmd = [exe, "-y", "-hide_banner", "-loglevel", "error",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", rate, "-i", "-",
           "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(int(crf)), "-preset", "medium",
           "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    n = 0
    try:
        with tempfile.TemporaryFile() as err_log:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err_log)
            try:
                frame = first
                while True:
                    proc.stdin.write(_pad_even(frame).tobytes())
                    n += 1
                    nxt = next(it, None)
                    if nxt is None:
                        break
                    frame = _as_rgb(nxt, shape)
                proc.stdin.close()
                rc = proc.wait()
            except BrokenPipeError:  # ffmpeg exited early; its stderr says why
                rc = proc.wait() or -1
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            err_log.seek(0)
            stderr = err_log.read().decode("utf-8", "replace").strip()
        if rc != 0:
            raise RuntimeError(f"ffmpeg failed (exit {rc}) writing {path} after {n} frames: {stderr[-2000:]}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
