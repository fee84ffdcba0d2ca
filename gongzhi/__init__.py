"""Composition root: app factory, settings, auth, CLI, demo data."""
