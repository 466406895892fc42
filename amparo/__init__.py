"""Amparo: Mozambique's national OCSEA reporting, case and monitoring platform."""
