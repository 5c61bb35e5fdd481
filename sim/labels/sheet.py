"""Pictures of camera observations and their label passes: a contact sheet (one row per camera:
colour, depth, semantic, instance, normals) and a rig mosaic (every camera's image in a grid, for
videos). RGB uint8 out; camera names written in."""
from __future__ import annotations

import cv2
import numpy as np


def colour_depth(depth: np.ndarray, max_m: float = 100.0) -> np.ndarray:
    """(H, W) depth m -> (H, W, 3) uint8 RGB, near bright (inverse-depth turbo colour map), sky black."""
    d = np.where(np.isfinite(depth), depth, np.inf)
    inv = np.clip(1.0 / np.maximum(d, 1.0), 1.0 / max_m, 1.0)
    v = np.round(255 * (np.log(inv) - np.log(1.0 / max_m)) / -np.log(1.0 / max_m)).astype(np.uint8)
    rgb = cv2.applyColorMap(v, cv2.COLORMAP_TURBO)[..., ::-1].copy()
    rgb[~np.isfinite(depth)] = 0
    return rgb


def palette(ids: np.ndarray, offset: int = 0) -> np.ndarray:
    """Integer ids (H, W) -> distinct RGB colours (H, W, 3) uint8 (a fixed hash; ids < 0 black)."""
    i = ids.astype(np.int64) + offset
    rgb = np.stack([(i * 97 + 31) % 256, (i * 57 + 131) % 256, (i * 173 + 71) % 256], axis=-1).astype(np.uint8)
    rgb[ids < 0] = 0
    return rgb


def colour_normals(normal: np.ndarray) -> np.ndarray:
    """(H, W, 3) unit normals in [-1, 1] -> RGB uint8 (n * 0.5 + 0.5); 0 (sky) stays black."""
    rgb = np.round(255 * (np.asarray(normal, np.float32) * 0.5 + 0.5)).clip(0, 255).astype(np.uint8)
    rgb[~np.any(normal != 0, axis=-1)] = 0
    return rgb


def to_uint8(image: np.ndarray) -> np.ndarray:
    """An observation image (uint8 sRGB, or uint16 raw 12-bit DN) as uint8 for display."""
    return image if image.dtype == np.uint8 else (image.astype(np.float32) * (255.0 / 4095.0)).astype(np.uint8)


def _name(tile: np.ndarray, name: str) -> np.ndarray:
    cv2.putText(tile, name, (4, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def contact_sheet(obs: dict, labels: dict) -> np.ndarray:
    """One row per camera: colour, depth, semantic, instance, normals (1 px black borders)."""
    rows = []
    for name, img in obs.items():
        lab = labels["cameras"][name]
        sem = palette(lab["semantic"].astype(np.int64))
        sem[lab["semantic"] == 0] = (0, 0, 0)
        tiles = [to_uint8(img), colour_depth(lab["depth"]), sem, palette(lab["instance"], 1),
                 colour_normals(lab["normal"])]
        rows.append(_name(np.concatenate([np.pad(t, ((1, 1), (1, 1), (0, 0))) for t in tiles], axis=1), name))
    return np.concatenate(rows, axis=0)


def rig_mosaic(obs: dict, columns: int = 4) -> np.ndarray:
    """Every camera's image (resized to the first camera's size) in a grid of `columns`, names written in."""
    first = to_uint8(next(iter(obs.values())))
    h, w = first.shape[:2]
    tiles = [_name(cv2.resize(to_uint8(img), (w, h), interpolation=cv2.INTER_AREA).copy(), name)
             for name, img in obs.items()]
    tiles += [np.zeros_like(first)] * (-len(tiles) % columns)
    return np.concatenate([np.concatenate(tiles[r:r + columns], axis=1) for r in range(0, len(tiles), columns)], axis=0)
