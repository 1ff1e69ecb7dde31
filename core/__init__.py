"""Leaf utilities below every layer: the clock, settings, error codes, the database
configuration, metrics collectors and logging. Imports nothing of the project."""
