"""Order lifecycle, portfolio and trade execution above the exchange interface."""
