"""Settings, logging set-up and constants."""
