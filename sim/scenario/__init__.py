"""Scenarios as data: schema, files, episode logs, recording, replay and re-drive."""
