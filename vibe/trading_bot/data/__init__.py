"""Market data: providers, bar aggregation and resampling, cache, validation, fallback."""
