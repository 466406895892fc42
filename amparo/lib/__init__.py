"""Helpers with no Django dependency (healthchecks' hc/lib): importable from settings and scripts."""
