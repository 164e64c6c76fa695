"""Assemble a self-contained HTML page: chart library, our chart scripts and a JSON payload inline.

The page needs no network and no build step: it opens from ``file://`` offline. The
vendored TradingView Lightweight Charts (:func:`vibe.trading_bot.web.chart_library_js`)
and the scripts under ``web/static/`` (e.g. ``charts/price_chart.js``) are copied into
``<script>`` elements, and the data goes into a ``<script type="application/json">``
element that the scripts read with ``JSON.parse`` (parsing JSON is faster than
evaluating the same data as a JavaScript literal).

Used by the backtest report (:mod:`.html_report`); any other report page (e.g. an
optimisation's) builds on :func:`html_page` with its own body and scripts.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.web import STATIC_DIR, chart_library_js

#: below this magnitude a float's JSON text differs between orjson and ``json.dumps``
_MIN_PLAIN_FLOAT = 1e-4
#: the scripts every chart page loads after the library, relative to ``web/static``
CHART_SCRIPTS = (
    "charts/series_codec.js",
    "charts/chart_options.js",
    "charts/zoom_levels.js",
    "charts/equity_chart.js",
    "charts/price_chart.js",
    "charts/sortable_tables.js",
)


@cache
def static_js(relative: str) -> str:
    """The source of a script under ``web/static`` (e.g. ``charts/price_chart.js``).

    Raises:
        InvalidInputError: ``relative`` leaves ``web/static`` or is not a ``.js`` file
            there.
    """
    path = (STATIC_DIR / relative).resolve()
    if path.suffix != ".js" or STATIC_DIR.resolve() not in path.parents or not path.is_file():
        raise InvalidInputError(f"script {relative!r}: expected a .js file under {STATIC_DIR}")
    return path.read_text(encoding="utf-8")


def inline_script(source: str) -> str:
    """``<script>source</script>``; ``</script`` inside ``source`` is escaped."""
    return "<script>" + source.replace("</script", "<\\/script") + "</script>"


def json_script(element_id: str, payload: Any) -> str:
    """``payload`` as JSON in ``<script type="application/json" id="element_id">``.

    Every ``</`` is written with its slash escaped (the same JSON value), so no string
    in the payload can close the element. NaN and infinities are refused (not JSON).
    The text is that of ``json.dumps(payload, allow_nan=False, ensure_ascii=False,
    separators=(",", ":"))`` (see :func:`compact_json`).

    Raises:
        ValueError: a NaN or infinity in ``payload``.
    """
    text = compact_json(payload)
    if "<" in text:  # one fast scan; the packed columns (base64) never hold one
        text = text.replace("</", "<\\/")
    return f'<script type="application/json" id="{html.escape(element_id)}">{text}</script>'


def compact_json(payload: Any) -> str:
    """``json.dumps(payload, allow_nan=False, ensure_ascii=False, separators=(",", ":"))``.

    Written by orjson (~30 times faster on a year's 3 MB chart payload) when every value
    is a plain ``dict`` with ``str`` keys, ``list``, ``tuple``, ``str``, ``int``, ``bool``,
    ``None`` or a finite ``float`` that is 0 or of magnitude 1e-4 or more: there both
    write the same text (the shortest round-trip digits, the same escapes). Anything
    else (smaller floats, which orjson writes without an exponent; subclasses; integers
    beyond 64 bits) goes to :func:`json.dumps`.

    Raises:
        ValueError: a NaN or infinity in ``payload``.
    """
    if _orjson_writes_as_json(payload):
        try:
            return orjson.dumps(payload).decode("utf-8")
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits
            pass
    return json.dumps(payload, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def _orjson_writes_as_json(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        number: float = value
        return number == 0.0 or _MIN_PLAIN_FLOAT <= abs(number) < math.inf
    if kind is list or kind is tuple:
        return all(map(_orjson_writes_as_json, value))
    if kind is dict:
        keys_ok = all(type(key) is str for key in value)
        return keys_ok and all(map(_orjson_writes_as_json, value.values()))
    return False


def html_page(
    title: str,
    body: str,
    *,
    css: str = "",
    data: dict[str, Any] | None = None,
    scripts: Sequence[str] = CHART_SCRIPTS,
    main_script: str = "",
) -> str:
    """A whole HTML document with the chart library and ``scripts`` inlined.

    Args:
        title: the page title (plain text, escaped here).
        body: the page's HTML body (already escaped by the caller).
        css: a style sheet for ``<style>``.
        data: the JSON payload, readable as
            ``JSON.parse(document.getElementById("payload").textContent)``; ``None``: none.
        scripts: scripts under ``web/static`` to inline after the library, in order.
        main_script: a script under ``web/static`` run last (builds the page), or ``""``.

    Raises:
        InvalidInputError: a script path outside ``web/static``.
        ValueError: a NaN or infinity in ``data``.
    """
    parts = [json_script("payload", data)] if data is not None else []
    parts.append(inline_script(chart_library_js()))
    names = [*scripts, main_script] if main_script else list(scripts)
    parts += [inline_script(static_js(name)) for name in names]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{css}</style></head>\n<body>\n"
        f"{body}\n" + "\n".join(parts) + "\n</body></html>\n"
    )
