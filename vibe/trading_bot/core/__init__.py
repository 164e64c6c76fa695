"""Daemon core: market calendar, orchestrator, health monitor, service lifecycle."""
