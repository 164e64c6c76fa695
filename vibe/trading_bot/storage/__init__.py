"""SQLite stores (trades, orders, fills, metrics, logs) and cloud sync of their files."""
