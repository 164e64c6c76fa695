"""Command-line options shared by several commands (typer only: ``--help`` stays fast).

Nothing here imports pandas, pydantic or the daemon: ``python -m vibe.trading_bot
--help`` loads this module and typer, and nothing else of weight.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ReplayOption = Annotated[
    Path | None,
    typer.Option("--replay", help="replay <SYMBOL>_<timeframe>.csv files from this folder"),
]
SpeedOption = Annotated[
    str, typer.Option("--speed", help="market seconds per real second (60 = 1 min/s), or max")
]
AllowModeChangeOption = Annotated[
    bool,
    typer.Option(
        "--allow-mode-change",
        help="run on a DATA_DIR made by another mode (live vs a replay of another folder); "
        "without it such a run refuses to start",
    ),
]
DayOption = Annotated[str | None, typer.Option(help="YYYY-MM-DD")]
SymbolsOption = Annotated[str | None, typer.Option("--symbols", help="A,B (default: SYMBOLS)")]
EnvFileOption = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        help="dotenv file read after the environment (default: .env if it exists); "
        "a file named here must exist",
    ),
]
