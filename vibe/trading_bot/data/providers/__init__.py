"""Market-data adapters: Yahoo (yfinance), Finnhub (websocket), replay files."""
