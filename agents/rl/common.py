"""What the one-file training scripts share: dataclass arguments from the command line, observation
normalisation saved with the weights, checkpoints loadable with ``weights_only=True``, and metrics as CSV,
JSON and a learning-curve PNG (written atomically)."""
from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import torch

from sim.atomic import atomic_open


def parse_args(cls, argv=None):
    """An instance of the dataclass ``cls`` from ``--field-name value`` flags (bools are ``--flag``/``--no-flag``);
    each field's docstring-less default is shown in ``--help``."""
    p = argparse.ArgumentParser(description=(cls.__doc__ or "").splitlines()[0])
    for f in dataclasses.fields(cls):
        default = f.default
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            p.add_argument(flag, type=type(default), default=default, help=f"default {default!r}")
    return cls(**vars(p.parse_args(argv)))


class RunningNorm(torch.nn.Module):
    """Observation normaliser: running mean and variance (parallel-update formula), clipped z-scores. Its
    statistics are buffers, so they travel in the state dict."""

    def __init__(self, size: int, clip: float = 10.0):
        super().__init__()
        self.clip = clip
        self.register_buffer("mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("var", torch.ones(size, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    def update(self, x: np.ndarray) -> None:
        x = torch.as_tensor(np.asarray(x, np.float64).reshape(-1, self.mean.numel()))
        n = x.shape[0]
        mean, var = x.mean(0), x.var(0, unbiased=False)
        delta, total = mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + var * n + delta.square() * self.count * n / total) / total
        self.count = total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x.double() - self.mean) / torch.sqrt(self.var + 1e-8)
        return z.clamp(-self.clip, self.clip).float()


def save_checkpoint(path, model: torch.nn.Module, config: dict) -> Path:
    """Weights and a JSON config (as a string), atomically; ``load_checkpoint`` reads it with weights_only."""
    buf = io.BytesIO()
    torch.save({"config": json.dumps(config), "state_dict": model.state_dict()}, buf)
    with atomic_open(path, "wb") as f:
        f.write(buf.getvalue())
    return Path(path)


def load_checkpoint(path) -> tuple[dict, dict]:
    """(config, state_dict) of a checkpoint written by ``save_checkpoint`` (``torch.load(weights_only=True)``)."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or set(blob) != {"config", "state_dict"}:
        raise ValueError(f"{path}: not a roadloop checkpoint (expected keys config and state_dict)")
    return json.loads(blob["config"]), blob["state_dict"]


class MetricsLog:
    """Rows of training metrics, rewritten in full as ``metrics.csv`` and ``metrics.json`` after each ``add``."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.rows: list[dict] = []

    def add(self, **row) -> None:
        self.rows.append({k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in row.items()})
        keys = list(dict.fromkeys(k for r in self.rows for k in r))
        with atomic_open(self.folder / "metrics.csv", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
        with atomic_open(self.folder / "metrics.json") as f:
            json.dump(self.rows, f, indent=1)

    def plot(self, x: str, ys: tuple[str, ...], title: str) -> Path:
        """``learning_curve.png``: each of ``ys`` against ``x`` in its own panel."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(ys), figsize=(4 * len(ys), 3), squeeze=False)
        xs = [r.get(x) for r in self.rows]
        for ax, y in zip(axes[0], ys):
            pts = [(a, r[y]) for a, r in zip(xs, self.rows) if r.get(y) is not None and np.isfinite(r[y])]
            if pts:
                ax.plot(*zip(*pts))
            ax.set_xlabel(x)
            ax.set_title(y)
            ax.grid(alpha=0.3)
        fig.suptitle(title)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        path = self.folder / "learning_curve.png"
        with atomic_open(path, "wb") as f:
            f.write(buf.getvalue())
        return path


def episode_stats(infos: dict, done: np.ndarray) -> list[dict]:
    """Route completion, collision and leaving the road of the episodes that ended this step in a vector env
    with same-step autoreset (read from ``infos["final_info"]``)."""
    final = infos.get("final_info", {})
    return [{"route_completion": float(final["route_completion"][i]), "collision": bool(final["collision"][i]),
             "off_road": bool(final["off_road"][i])} for i in np.flatnonzero(done)]
