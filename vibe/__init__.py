"""vibe: a paper-trading service for US equities."""
