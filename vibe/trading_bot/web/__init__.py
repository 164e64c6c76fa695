"""Browser-side assets shared by the dashboard and the HTML reports.

``static/vendor/lightweight-charts/`` holds TradingView's Lightweight Charts
(Apache-2.0, with its LICENSE and NOTICE), vendored from npm so pages work
offline and behind a firewall: :func:`chart_library_js` reads it for inlining
into self-contained reports; the daemon serves the folder as static files.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

#: the folder of static files (served by the dashboard, inlined by the reports)
STATIC_DIR = Path(__file__).parent / "static"
#: the vendored chart library (TradingView Lightweight Charts 5.2.1, standalone build)
CHART_LIBRARY = (
    STATIC_DIR / "vendor" / "lightweight-charts" / "lightweight-charts.standalone.production.js"
)


@cache
def chart_library_js() -> str:
    """The chart library's JavaScript source (about 200 KB), for inlining into a page.

    Raises:
        FileNotFoundError: the package was installed without its static files.
    """
    return CHART_LIBRARY.read_text(encoding="utf-8")
