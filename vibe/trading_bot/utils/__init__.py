"""Small shared helpers (logger access)."""
