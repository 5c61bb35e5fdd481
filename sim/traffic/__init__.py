"""Other road users (v1): IDM car following and MOBIL lane changes on the lane graph."""
from sim.traffic.spec import TrafficSpec
from sim.traffic.state import TrafficState
from sim.traffic.traffic import Obstacles, spawn_traffic, step_traffic, traffic_poses

__all__ = ["TrafficSpec", "TrafficState", "Obstacles", "spawn_traffic", "step_traffic", "traffic_poses"]
