"""BEV raster labels: a thin wrapper over sim.env.raster (ego-centred, forward is up)."""
from __future__ import annotations

from sim.labels.registry import label


@label
def bev(raster, x: float, y: float, heading: float, size: int = 200, m_per_px: float = 0.5,
        ego_row: float = 0.5) -> dict:
    """Drivable area and painted lane lines around an ego at (x, y) m facing ``heading`` rad.

    raster: a ``sim.env.raster.WorldRaster`` of the world. Returns drivable (size, size) bool and
    lines (size, size) bool; ``size`` px at ``m_per_px`` m/px, the ego at row ``ego_row * size``.
    """
    from sim.env.raster import (
        View,  # lazy: sim.env may import sim.labels (labels in info)
    )

    view = View(float(x), float(y), float(heading), int(size), int(size), float(m_per_px), float(ego_row))
    m = view.affine()
    return {"drivable": raster.drivable_mask(view, m) > 0, "lines": raster.lines_mask(view, m) > 0}
