"""The trading daemon: config, data, exchange, execution, storage, notifications, API."""
