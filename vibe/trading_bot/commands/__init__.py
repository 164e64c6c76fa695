"""Command implementations behind ``cli.py``."""
