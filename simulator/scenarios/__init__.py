"""Bundled fault scenarios (package data). Format: ``README.md`` in this directory."""
