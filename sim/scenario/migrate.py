"""Schema versions: documents of older versions are migrated on load, one version at a time.

``MIGRATIONS`` holds, under the name ``str(v)``, a function taking a version-``v`` document (a
plain dict) and returning the version ``v + 1`` document. A change to the schema bumps
``SCHEMA_VERSION`` and adds the entry ``str(SCHEMA_VERSION - 1)``."""
from __future__ import annotations

from typing import Callable

from sim.registry import Registry, UnknownNameError

from .values import ScenarioError, integer, show

SCHEMA_VERSION = 1
"""Version of the documents this code writes and reads."""
MIGRATIONS: Registry[Callable[[dict], dict]] = Registry("scenario migration")


def migrate(doc) -> dict:
    """``doc`` migrated to SCHEMA_VERSION (a newer version, or an older one with no migration path,
    raises ScenarioError at ``schema_version``)."""
    if not isinstance(doc, dict):
        raise ScenarioError(f"expected a mapping (the scenario document), got {show(doc)}")
    if "schema_version" not in doc:
        raise ScenarioError(f"required field missing (this code reads version {SCHEMA_VERSION})", "schema_version")
    version = integer(doc["schema_version"], "schema_version")
    if version > SCHEMA_VERSION:
        raise ScenarioError(f"version {version} is newer than this code reads ({SCHEMA_VERSION}); "
                            "update roadloop to load it", "schema_version")
    for v in range(version, SCHEMA_VERSION):
        try:
            step = MIGRATIONS.get(str(v))
        except UnknownNameError:
            raise ScenarioError(f"no migration from version {v} (this code reads {SCHEMA_VERSION})",
                                "schema_version") from None
        doc = {**step(dict(doc)), "schema_version": v + 1}
    return doc
