"""``/api/v1`` record routes: orders and trades (``trades.db``), traded bars (the tape)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from vibe.common.models import OrderStatus
from vibe.trading_bot.api.context import DashboardApi
from vibe.trading_bot.api.queries import recent_trades_json
from vibe.trading_bot.api.routes_account import Api, Since
from vibe.trading_bot.api.schemas import BarsOut, OrderOut, TradeOut
from vibe.trading_bot.api.serialize import bar_out, order_out, range_out

MAX_LIMIT = 5000
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"rows, 1..{MAX_LIMIT}")]
SymbolFilter = Annotated[str | None, Query(description="ticker, one of SYMBOLS")]
router = APIRouter(tags=["records"])


def known_symbol(api: DashboardApi, symbol: str | None, status_code: int = 422) -> str | None:
    """``symbol`` upper-cased, when this daemon trades it.

    Raises:
        HTTPException: ``status_code`` naming the symbol and the ones traded.
    """
    if symbol is None:
        return None
    ticker = symbol.strip().upper()
    if ticker not in api.symbols:
        traded = ", ".join(sorted(api.symbols))
        raise HTTPException(status_code, f"unknown symbol {symbol!r}; this daemon trades: {traded}")
    return ticker


@router.get("/orders", response_model=list[OrderOut], summary="Orders")
async def orders(
    api: Api,
    status: Annotated[OrderStatus | None, Query(description="order status")] = None,
    symbol: SymbolFilter = None,
) -> list[OrderOut]:
    """Orders, oldest first, optionally of one status and/or symbol."""
    ticker = known_symbol(api, symbol)
    found = await api.reader.run(lambda r: r.trades.get_orders(symbol=ticker, status=status))
    return [order_out(order) for order in found]


@router.get("/trades", response_model=list[TradeOut], summary="Trades (round trips)")
async def trades(
    api: Api, symbol: SymbolFilter = None, since: Since = None, limit: Limit = 500
) -> Response:
    """Trades entered at or after ``since`` (the first ``limit``), else the newest ``limit``.

    Oldest entry first either way; open trades have no exit yet.
    """
    ticker = known_symbol(api, symbol)
    text = await api.reader.run(lambda r: recent_trades_json(r.trades, ticker, since, limit))
    return Response(text, media_type="application/json")  # built by SQLite as TradeOut


@router.get("/bars/{symbol}", response_model=BarsOut, summary="Traded bars of a symbol")
async def bars(
    api: Api,
    symbol: Annotated[str, Path(description="ticker, one of SYMBOLS")],
    since: Since = None,
    limit: Limit = 1000,
) -> BarsOut:
    """The last ``limit`` bars the daemon traded (at or after ``since``), with opening ranges.

    Raises:
        HTTPException: 404 for a symbol this daemon does not trade.
    """
    ticker = known_symbol(api, symbol, 404) or symbol
    taped = api.tape.bars(ticker, since, limit)
    ranges = api.tape.opening_ranges(taped)
    return BarsOut(
        symbol=ticker,
        interval_seconds=taped[-1].bar.interval_seconds if taped else None,
        bars=[bar_out(t.bar) for t in taped],
        opening_ranges=[range_out(r) for r in ranges],
    )
