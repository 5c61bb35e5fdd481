"""Planners: the hybrid driving planner (maneuver search, continuous optimisation, tracking) and the parking
planners."""
