"""Failure mining: failure detectors (``sim.mining.detectors``), search strategies, the failure store and the
spawning of new scenarios from failures."""
