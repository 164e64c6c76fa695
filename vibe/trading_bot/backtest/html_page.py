"""Assemble a self-contained HTML page: chart library, our chart scripts and a JSON payload inline.

The page needs no network and no build step: it opens from ``file://`` offline. The
vendored TradingView Lightweight Charts (:func:`vibe.trading_bot.web.chart_library_js`)
and the scripts under ``web/static/`` (e.g. ``charts/price_chart.js``) are copied into
``<script>`` elements, and the data goes into a ``<script type="application/json">``
element that the scripts read with ``JSON.parse`` (parsing JSON is faster than
evaluating the same data as a JavaScript literal).

Used by the backtest report (:mod:`.html_report`); any other report page (e.g. an
optimisation's) builds on :func:`html_page_bytes` with its own body and scripts.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import cache
from typing import Any

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.backtest.json_values import compact_json
from vibe.trading_bot.web import STATIC_DIR, chart_library_js

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


@cache
def _inlined(relative: str) -> bytes:
    """:func:`inline_script` of a script under ``web/static`` in UTF-8; ``""``: the library."""
    return inline_script(static_js(relative) if relative else chart_library_js()).encode("utf-8")


def json_script_bytes(element_id: str, payload: Any) -> bytes:
    """``payload`` as JSON in ``<script type="application/json" id="element_id">``, UTF-8.

    Every ``</`` is written with its slash escaped (the same JSON value), so no string
    in the payload can close the element. NaN and infinities are refused (not JSON).
    The JSON text is that of ``json.dumps(payload, allow_nan=False, ensure_ascii=False,
    separators=(",", ":"))`` (see :func:`~.json_values.compact_json`).

    Raises:
        ValueError: a NaN or infinity in ``payload``.
    """
    text = compact_json(payload)
    if b"<" in text:  # one fast scan; the packed columns (base64) never hold one
        text = text.replace(b"</", b"<\\/")  # UTF-8: an ASCII byte is always that character
    opening = f'<script type="application/json" id="{html.escape(element_id)}">'
    return opening.encode("utf-8") + text + b"</script>"


def html_page_bytes(
    title: str,
    body: str,
    *,
    css: str = "",
    data: dict[str, Any] | None = None,
    scripts: Sequence[str] = CHART_SCRIPTS,
    main_script: str = "",
) -> bytes:
    """A whole HTML document in UTF-8, the chart library and ``scripts`` inlined.

    Args:
        title: the page title (plain text, escaped here).
        body: the page's HTML body (already escaped by the caller).
        css: a style sheet for ``<style>``.
        data: the JSON payload, readable as
            ``JSON.parse(document.getElementById("payload").textContent)``; ``None``: none.
        scripts: scripts under ``web/static`` to inline after the library, in order.
        main_script: a script under ``web/static`` run last (builds the page), or ``""``.

    Assembled from UTF-8 parts (the library and the scripts encoded once per process):
    the chart library holds a few non-ASCII characters, which make a 3 MB ``str`` twice
    as wide and its encoding a pass of its own.

    Raises:
        InvalidInputError: a script path outside ``web/static``.
        ValueError: a NaN or infinity in ``data``.
    """
    parts = [json_script_bytes("payload", data)] if data is not None else []
    names = [*scripts, main_script] if main_script else list(scripts)
    parts += [_inlined(""), *map(_inlined, names)]
    head = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{css}</style></head>\n<body>\n{body}\n"
    )
    return head.encode("utf-8") + b"\n".join(parts) + b"\n</body></html>\n"
