"""The small torch network that guides the parking MCTS: from an ego-centred crop of the lot (obstacles, goal
footprint, route field) and the goal in the ego frame it gives a policy prior over the lattice primitives and a
value (minus the cost-to-go, in VALUE_SCALE_M units). ``StateEncoder`` turns lattice states into its inputs."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from agents.planning.astar import RouteField, rasterise
from agents.planning.lattice import Lattice
from sim.parking.lot import EGO_LENGTH_M, EGO_WIDTH_M
from sim.physics import box_corners

CROP_PX = 32
CROP_M_PER_PX = 0.5
"""The crop covers 16 m x 16 m around the ego, forward up."""
CHANNELS = ("obstacles", "goal", "route")
VECTOR_FEATURES = ("goal_fwd", "goal_left", "cos_dh", "sin_dh", "route_m", "gear")
"""Goal position in the ego frame (/10 m), heading difference, route distance (/VALUE_SCALE_M), previous gear."""
VALUE_SCALE_M = 20.0
"""The value head predicts minus the cost-to-go divided by this, m."""
ROUTE_CLIP = 2.0
WEIGHTS = Path(__file__).with_name("weights") / "parking_value.pt"


class StateEncoder:
    """Network inputs for states of one lattice (one lot and goal)."""

    def __init__(self, lattice: Lattice, route: RouteField | None = None):
        self.lattice = lattice
        self.route = route if route is not None else RouteField(lattice)
        res = self.route.m_per_px
        rows, cols = self.route.shape
        occupied = np.zeros((rows, cols), bool)
        if len(lattice.obstacles):
            occupied = rasterise(box_corners(*lattice.obstacles.T), rows, cols, res)
        g = lattice.goal
        goal = rasterise(box_corners([g[0]], [g[1]], [g[2]], [EGO_LENGTH_M], [EGO_WIDTH_M]), rows, cols, res)
        self.image = np.dstack([occupied, goal, self.route.distance]).astype(np.float32)
        self.res = res

    def encode(self, states, gears) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3, CROP_PX, CROP_PX) float32 crops and (N, 6) float32 vectors for N lattice states with the gear
        of the primitive that reached each (+1, -1, or 0 at the start)."""
        grids = np.empty((len(states), len(CHANNELS), CROP_PX, CROP_PX), np.float32)
        vecs = np.empty((len(states), len(VECTOR_FEATURES)), np.float32)
        goal = self.lattice.goal
        for i, (state, gear) in enumerate(zip(states, gears)):
            x, y, h = self.lattice.pose(state)
            c, s = math.cos(h), math.sin(h)
            k = CROP_M_PER_PX / self.res
            half = 0.5 * CROP_PX
            # dst (u, v) -> ego frame fwd = (half - v - 0.5) * m, left = (half - u - 0.5) * m -> lot -> src px
            m = np.array([[s * k, -c * k, 0.0], [-c * k, -s * k, 0.0]])
            centre = np.array([x / self.res - 0.5, y / self.res - 0.5])
            m[:, 2] = centre - m[:, :2] @ np.array([half - 0.5, half - 0.5])
            crop = cv2.warpAffine(self.image, m, (CROP_PX, CROP_PX), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(1.0, 0.0, 1e3))
            here = self.route(x, y)
            grids[i, 0] = crop[..., 0]
            grids[i, 1] = crop[..., 1]
            grids[i, 2] = np.clip((crop[..., 2] - here) / 10.0, -ROUTE_CLIP, ROUTE_CLIP)
            dx, dy = goal[0] - x, goal[1] - y
            dh = goal[2] - h
            vecs[i] = (np.clip((c * dx + s * dy) / 10.0, -5, 5), np.clip((-s * dx + c * dy) / 10.0, -5, 5),
                       math.cos(dh), math.sin(dh), min(here, 100.0) / VALUE_SCALE_M, gear)
        return grids, vecs


class ParkingNet(nn.Module):
    """Crop (N, 3, 32, 32) and vector (N, 6) -> policy logits (N, primitives) and value (N,)."""

    def __init__(self, primitives: int = 10, width: int = 16, hidden: int = 64):
        super().__init__()
        self.config = {"primitives": primitives, "width": width, "hidden": hidden}
        self.conv = nn.Sequential(
            nn.Conv2d(len(CHANNELS), width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten())
        flat = 2 * width * (CROP_PX // 8) ** 2
        self.trunk = nn.Sequential(nn.Linear(flat + len(VECTOR_FEATURES), hidden), nn.ReLU(),
                                   nn.Linear(hidden, hidden), nn.ReLU())
        self.policy = nn.Linear(hidden, primitives)
        self.value = nn.Linear(hidden, 1)

    def forward(self, grid: torch.Tensor, vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.trunk(torch.cat([self.conv(grid), vec], dim=1))
        return self.policy(z), self.value(z).squeeze(1)


def save_net(net: ParkingNet, path) -> None:
    """Save the weights and the constructor arguments as plain tensors and ints (loadable with weights_only)."""
    torch.save({"config": net.config, "state_dict": net.state_dict()}, path)


def load_net(path=WEIGHTS) -> ParkingNet:
    """The network saved at ``path`` (default: the shipped checkpoint), loaded with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no parking value network at {path}; train one with "
                                f"agents/planning/train_parking_value.py")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or set(blob) != {"config", "state_dict"}:
        raise ValueError(f"{path} is not a parking value checkpoint (expected keys config, state_dict)")
    net = ParkingNet(**blob["config"])
    net.load_state_dict(blob["state_dict"])
    return net.eval()
