"""Intelligent Driver Model (Treiber et al. 2000), vectorised."""
from __future__ import annotations

import numpy as np

DELTA = 4.0
"""Free-road acceleration exponent."""


def idm_accel(speed, desired_speed, gap, closing_speed, time_headway, min_gap, max_accel, comfort_decel):
    """IDM acceleration, m/s^2, for arrays of equal shape.

    ``gap`` is the bumper-to-bumper distance to the leader (m, ``inf`` for a free road) and
    ``closing_speed`` is own speed minus leader speed (m/s).
    """
    free = 1.0 - (speed / np.maximum(desired_speed, 0.1)) ** DELTA
    s_star = min_gap + np.maximum(
        0.0, speed * time_headway + speed * closing_speed / (2.0 * np.sqrt(max_accel * comfort_decel))
    )
    interaction = (s_star / np.maximum(gap, 0.1)) ** 2
    return max_accel * (free - interaction)
