"""Exchange interface and the paper exchange: fills, slippage and commission models."""
