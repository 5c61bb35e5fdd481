"""Scenarios as data: schema, files, episode logs, recording, replay and re-drive.

Import the submodules: ``schema`` (the Scenario dataclasses), ``io`` (load_scenario, save_scenario),
``in_world`` (check_in_world), ``tracks`` (import_tracks), ``migrate`` (schema versions)."""
