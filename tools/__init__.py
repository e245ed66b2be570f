"""Maintenance commands of the project (not shipped with the package)."""
