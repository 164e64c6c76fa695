"""Pure domain code: models, clock, indicators, strategies, risk. No I/O, no wall clock."""
