/*
 * Equity against its benchmark, and the drawdown below, on two lightweight-charts charts
 * whose time scales move together.
 *
 * new VibeCharts.EquityCharts(equityEl, drawdownEl, {times, equity, benchmark, capital, infoEl})
 *   times: bar close times, UTC epoch seconds, ascending; equity, benchmark: USD per
 *   point (null: no value; benchmark may be null); capital: initial capital, USD.
 * Drawdown (%) = equity / running peak - 1, the initial capital counting as the first
 * peak (the rule of the report's max drawdown).
 *
 * Zoomed out, each line is drawn from the first, last, lowest and highest point of every
 * hour, day or week (VibeCharts.envelopeIndices over all three lines at once, so the
 * charts keep the same times): every extreme stays visible; zoomed in, every point is
 * drawn. The info line says which.
 */
(function (root) {
  "use strict";
  const LC = root.LightweightCharts;
  const USD = {
    type: "custom",
    minMove: 0.01,
    formatter: (v) => `$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`,
  };
  // pixels per point at the widest zoom: small enough to show a year of 1-minute points
  const MIN_POINT_SPACING = 0.001;

  function points(times, values) {
    const out = new Array(times.length);
    for (let i = 0; i < times.length; i++) {
      out[i] = values[i] === null ? { time: times[i] } : { time: times[i], value: values[i] };
    }
    return out;
  }

  /** Drawdown in % (<= 0) of each equity value from its running peak (null stays null). */
  function drawdownPct(equity, capital) {
    let peak = capital;
    return equity.map((value) => {
      if (value === null) return null;
      if (value > peak) peak = value;
      return (value / peak - 1) * 100;
    });
  }

  function baseOptions() {
    const options = root.VibeCharts.chartOptions();
    options.timeScale.minBarSpacing = MIN_POINT_SPACING;
    return options;
  }

  /** Keep the visible logical ranges of two charts with the same points equal. */
  function linkTimeScales(a, b) {
    let busy = false;
    const follow = (target) => (range) => {
      if (busy || range === null) return;
      busy = true;
      target.timeScale().setVisibleLogicalRange(range);
      busy = false;
    };
    a.timeScale().subscribeVisibleLogicalRangeChange(follow(b));
    b.timeScale().subscribeVisibleLogicalRangeChange(follow(a));
  }

  const BUCKETS = [[3600, "hour"], [86400, "day"], [604800, "week"]];
  const POINTS_PER_PIXEL = 2;

  function buildLevels(times, lines) {
    const levels = [{ index: 0, label: "every point", indices: null, time: times }];
    for (const [size, label] of BUCKETS) {
      const indices = root.VibeCharts.envelopeIndices(times, lines, size);
      if (indices.length > 0.7 * levels[levels.length - 1].time.length) continue;
      const time = indices.map((i) => times[i]);
      levels.push({ index: levels.length, label: `first, last, low and high of each ${label}`, indices, time });
    }
    return levels;
  }

  function levelPoints(level, times, values) {
    if (level.indices === null) return points(times, values);
    return points(level.time, level.indices.map((i) => values[i]));
  }

  class EquityCharts {
    constructor(equityEl, drawdownEl, data) {
      this.el = equityEl;
      this.infoEl = data.infoEl || null;
      this.times = data.times;
      this.values = {
        strategy: data.equity,
        benchmark: data.benchmark,
        drawdown: drawdownPct(data.equity, data.capital),
      };
      this.equityChart = LC.createChart(equityEl, baseOptions());
      this.strategy = this.equityChart.addSeries(LC.LineSeries, {
        color: "#1f4e9c", lineWidth: 2, priceFormat: USD, title: "Strategy",
      });
      this.strategy.createPriceLine({
        price: data.capital, color: "#888888", lineStyle: LC.LineStyle.Dotted, lineWidth: 1,
        axisLabelVisible: false, title: "initial capital",
      });
      this.benchmark = data.benchmark === null ? null : this.equityChart.addSeries(LC.LineSeries, {
        color: "#e08a00", lineWidth: 1, priceFormat: USD, title: "Buy and hold",
      });
      this.drawdownChart = LC.createChart(drawdownEl, baseOptions());
      this.drawdown = this.drawdownChart.addSeries(LC.BaselineSeries, {
        baseValue: { type: "price", price: 0 },
        bottomLineColor: "#d73027",
        bottomFillColor1: "rgba(215, 48, 39, 0.05)",
        bottomFillColor2: "rgba(215, 48, 39, 0.35)",
        topLineColor: "#d73027",
        priceFormat: { type: "custom", minMove: 0.01, formatter: (v) => `${v.toFixed(2)} %` },
        title: "Drawdown",
      });
      const lines = Object.values(this.values).filter((v) => v !== null);
      this.levels = buildLevels(this.times, lines);
      this.level = null;
      this.busy = true;
      const last = this.times[this.times.length - 1];
      const { levelForTimes } = root.VibeCharts;
      this._draw(levelForTimes(this.levels, null, this.times[0], last, this.limit()));
      this.equityChart.timeScale().fitContent();
      this.drawdownChart.timeScale().fitContent();
      this.busy = false;
      linkTimeScales(this.equityChart, this.drawdownChart);
      this.equityChart.timeScale().subscribeVisibleLogicalRangeChange((range) => this._onZoom(range));
    }

    limit() {
      return Math.max(200, POINTS_PER_PIXEL * this.el.clientWidth);
    }

    _onZoom(range) {
      // setData and setVisibleLogicalRange report range changes synchronously: ignore ours
      if (range === null || this.busy) return;
      const next = root.VibeCharts.rescale(this.levels, this.level, range, this.limit());
      if (next === null) return;
      this.busy = true;
      this._draw(next.level);
      this.equityChart.timeScale().setVisibleLogicalRange(next.range);
      this.busy = false;
    }

    _draw(level) {
      this.level = level;
      this.strategy.setData(levelPoints(level, this.times, this.values.strategy));
      if (this.benchmark) this.benchmark.setData(levelPoints(level, this.times, this.values.benchmark));
      this.drawdown.setData(levelPoints(level, this.times, this.values.drawdown));
      if (this.infoEl) {
        const zoom = level.index === 0 ? "" : " (zoom in for every point)";
        this.infoEl.textContent = `${this.times.length.toLocaleString("en-US")} points; drawn: ${level.label}${zoom}.`;
      }
    }
  }

  root.VibeCharts = Object.assign(root.VibeCharts || {}, { EquityCharts, drawdownPct });
})(window);
