"""The ``optimize`` HTML page, written beside the JSON report (self-contained, offline).

Sections: the best parameters; the objective by parameter (for each numeric
parameter a line chart of the best and mean objective by value, drawn with the
vendored TradingView Lightweight Charts ``createOptionsChart``, a numeric x axis;
and a table for every parameter); a heatmap of the best objective for the first two
searched parameters with more than one value (an HTML table coloured from red,
lowest, to green, highest); the walk-forward fold table; the chained out-of-sample
equity (Lightweight Charts line series over time); the top trials.

A small HTML helper of this package, not the backtest report's (another module,
kept apart while both change).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from vibe.trading_bot.optimize.aggregate import ValueSummary, by_value, heatmap, top_trials
from vibe.trading_bot.optimize.html_script import PAGE_SCRIPT, STYLE

TOP_TRIALS = 20


def _cell(value: Any) -> str:
    if value is None:
        return "<td class=na>–</td>"
    if isinstance(value, float):
        return f"<td>{value:,.4f}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _colour(value: float | None, low: float, high: float) -> str:
    if value is None:
        return "#eeeeee"
    share = 0.5 if high == low else (value - low) / (high - low)
    red, green = int(230 - 130 * share), int(110 + 110 * share)
    return f"rgb({red},{green},110)"


def heatmap_html(trials: Sequence[Mapping[str, Any]], space: Mapping[str, Any]) -> str:
    """The heatmap table of the first two parameters with more than one value ('' if none)."""
    names = [name for name, dim in space.items() if len(dim["values"]) > 1][:2]
    if len(names) < 2:
        return "<p>Fewer than two searched parameters with several values: no heatmap.</p>"
    rows, cols = (names[0], space[names[0]]["values"]), (names[1], space[names[1]]["values"])
    grid = heatmap(trials, rows, cols)
    found = [v for line in grid for v in line if v is not None]
    low, high = (min(found), max(found)) if found else (0.0, 0.0)
    head = f"<th>{html.escape(names[0])} \\ {html.escape(names[1])}</th>" + "".join(
        f"<th>{html.escape(str(v))}</th>" for v in cols[1]
    )
    body = ""
    for value, line in zip(rows[1], grid, strict=True):
        cells = "".join(
            f'<td style="background:{_colour(v, low, high)}">'
            f"{'–' if v is None else f'{v:,.4f}'}</td>"
            for v in line
        )
        body += f"<tr><th>{html.escape(str(value))}</th>{cells}</tr>"
    caption = "best objective over the other parameters; grey: no feasible trial"
    return f"<table class=heat><caption>{caption}</caption><tr>{head}</tr>{body}</table>"


def _line(summary: Sequence[ValueSummary], field: str) -> list[dict[str, float]]:
    points = [(s.value, getattr(s, field)) for s in summary if getattr(s, field) is not None]
    return [{"time": x, "value": y} for x, y in sorted(points)]


def _by_parameter(report: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    parts: list[str] = []
    charts: list[dict[str, Any]] = []
    for name, dim in report["space"].items():
        summary = by_value(report["trials"], name, dim["values"])
        rows = [(s.value, s.trials, s.feasible, s.best, s.mean) for s in summary]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in dim["values"])
        chart = ""
        if numeric and len(dim["values"]) > 1:
            chart = f'<div class=chart id="param-{len(charts)}"></div>'
            charts.append(
                {
                    "id": f"param-{len(charts)}",
                    "best": _line(summary, "best"),
                    "mean": _line(summary, "mean"),
                }
            )
        headers = ["value", "trials", "feasible", "best objective", "mean objective"]
        parts.append(f"<h3>{html.escape(name)}</h3>{chart}{_table(headers, rows)}")
    return "".join(parts), charts


def _folds_html(walk_forward: Mapping[str, Any] | None) -> str:
    if walk_forward is None:
        return "<p>No walk-forward (run with <code>--walk-forward K</code>).</p>"
    rows = []
    for fold in walk_forward["folds"]:
        ins, oos, metrics = (
            fold["in_sample"],
            fold["out_of_sample"],
            fold["out_of_sample_metrics"] or {},
        )
        params = ", ".join(f"{k}={v}" for k, v in (fold["params"] or {}).items()) or "none feasible"
        rows.append(
            (
                fold["fold"],
                f"{ins['start']} – {ins['end']}",
                f"{oos['start']} – {oos['end']}",
                params,
                fold["in_sample_objective"],
                fold["out_of_sample_objective"],
                metrics.get("total_return_pct"),
                metrics.get("num_trades"),
            )
        )
    headers = [
        "fold",
        "in-sample",
        "out-of-sample",
        "chosen params",
        "in-sample objective",
        "out-of-sample objective",
        "OOS return %",
        "OOS trades",
    ]
    summary = walk_forward["out_of_sample"]
    metrics = summary["metrics"] or {}
    total = _table(
        ["OOS objective", "return %", "max drawdown %", "trades", "final equity USD"],
        [
            (
                summary["objective"],
                metrics.get("total_return_pct"),
                metrics.get("max_drawdown_pct"),
                metrics.get("num_trades"),
                metrics.get("final_equity"),
            )
        ],
    )
    return _table(headers, rows) + "<h3>Out-of-sample, folds chained</h3>" + total


def _equity_points(walk_forward: Mapping[str, Any] | None) -> list[dict[str, float]]:
    if walk_forward is None:
        return []
    points: dict[int, float] = {}  # one point per time (the last), ascending
    for stamp, value in walk_forward["out_of_sample"]["equity_curve"]:
        points[int(datetime.fromisoformat(stamp).timestamp())] = value
    return [{"time": t, "value": v} for t, v in sorted(points.items())]


def _top_trials(report: Mapping[str, Any]) -> str:
    names = list(report["space"])
    rows = [
        (
            t["number"],
            *(t["params"].get(n) for n in names),
            t["value"],
            t["metrics"].get("total_return_pct"),
            t["metrics"].get("num_trades"),
        )
        for t in top_trials(report["trials"], TOP_TRIALS)
    ]
    return _table(["trial", *names, report["objective"]["name"], "return %", "trades"], rows)


def render_html(report: Mapping[str, Any], chart_js: str) -> str:
    """The page for ``report`` (the JSON report's dict), ``chart_js`` inlined."""
    config, best = report["config"], report["best"]
    by_param, charts = _by_parameter(report)
    data = {"charts": charts, "equity": _equity_points(report["walk_forward"])}
    payload = json.dumps(data).replace("</", "<\\/")
    best_text = (
        "no feasible trial"
        if best is None
        else ", ".join(f"{k}={v}" for k, v in best["params"].items())
        + f" → {report['objective']['name']} {best['value']:,.4f}"
    )
    note = " — interrupted" if report["interrupted"] else ""
    if report["walk_forward"] and report["walk_forward"]["folds"]:
        last = report["walk_forward"]["folds"][-1]
        window = f"{last['in_sample']['start']}..{last['in_sample']['end']}"
        note += f"; trials and best: fold {last['fold']}'s in-sample search ({window})"
    title = f"optimize {', '.join(config['symbols'])} {config['start']}..{config['end']}"
    return f"""<!DOCTYPE html>
<html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(config["timeframe"])} bars, sampler {html.escape(config["sampler"])},
{len(report["trials"])} trial(s), objective {html.escape(report["objective"]["name"])}
(min {report["objective"]["min_trades"]} trades){note}.</p>
<h2>Best parameters</h2><p>{html.escape(best_text)}</p>
<h2>Objective by parameter</h2>{by_param}
<h2>Heatmap</h2>{heatmap_html(report["trials"], report["space"])}
<h2>Walk-forward folds</h2>{_folds_html(report["walk_forward"])}
<h2>Out-of-sample equity (USD)</h2><div class=chart id=equity></div>
<h2>Top trials</h2>{_top_trials(report)}
<script>{chart_js}</script>
<script id=data type="application/json">{payload}</script>
<script>{PAGE_SCRIPT}</script>
</body></html>
"""
