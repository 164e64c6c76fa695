"""``python -m vibe.trading_bot``: run the command line."""

from vibe.trading_bot.cli import main

main()
