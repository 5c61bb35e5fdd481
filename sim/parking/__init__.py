"""Procedural parking lots for ``roadloop/Parking-v0``: bays, curbs, islands, parked cars, cones, a goal bay."""
from sim.parking.lot import KIND_NAMES, Lot, LotSpec, generate_lot

__all__ = ["KIND_NAMES", "Lot", "LotSpec", "generate_lot"]
