/*
 * Equity against its benchmark, and the drawdown below, on two lightweight-charts charts
 * whose time scales move together. Every point is drawn (lines stay cheap at 100,000
 * points; nothing is thinned).
 *
 * VibeCharts.equityCharts(equityEl, drawdownEl, {times, equity, benchmark, capital})
 *   times: bar close times, UTC epoch seconds, ascending; equity, benchmark: USD per
 *   point (null: no value; benchmark may be null); capital: initial capital, USD.
 * Drawdown (%) = equity / running peak - 1, the initial capital counting as the first
 * peak (the rule of the report's max drawdown).
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
    const options = Object.assign(
      {
        autoSize: true,
        layout: { background: { color: "#ffffff" }, textColor: "#222222" },
        grid: { vertLines: { color: "#f0f0f0" }, horzLines: { color: "#f0f0f0" } },
        rightPriceScale: { minimumWidth: 90 },
      },
      root.VibeCharts.chartTimeOptions()
    );
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

  function equityCharts(equityEl, drawdownEl, data) {
    const equityChart = LC.createChart(equityEl, baseOptions());
    const strategy = equityChart.addSeries(LC.LineSeries, {
      color: "#1f4e9c", lineWidth: 2, priceFormat: USD, title: "Strategy",
    });
    strategy.setData(points(data.times, data.equity));
    strategy.createPriceLine({
      price: data.capital, color: "#888888", lineStyle: LC.LineStyle.Dotted, lineWidth: 1,
      axisLabelVisible: false, title: "initial capital",
    });
    let benchmark = null;
    if (data.benchmark) {
      benchmark = equityChart.addSeries(LC.LineSeries, {
        color: "#e08a00", lineWidth: 1, priceFormat: USD, title: "Buy and hold",
      });
      benchmark.setData(points(data.times, data.benchmark));
    }
    const drawdownChart = LC.createChart(drawdownEl, baseOptions());
    const drawdown = drawdownChart.addSeries(LC.BaselineSeries, {
      baseValue: { type: "price", price: 0 },
      bottomLineColor: "#d73027",
      bottomFillColor1: "rgba(215, 48, 39, 0.05)",
      bottomFillColor2: "rgba(215, 48, 39, 0.35)",
      topLineColor: "#d73027",
      priceFormat: { type: "custom", formatter: (v) => `${v.toFixed(2)} %` },
      title: "Drawdown",
    });
    drawdown.setData(points(data.times, drawdownPct(data.equity, data.capital)));
    equityChart.timeScale().fitContent();
    drawdownChart.timeScale().fitContent();
    linkTimeScales(equityChart, drawdownChart);
    return { equityChart, drawdownChart, strategy, benchmark, drawdown };
  }

  root.VibeCharts = Object.assign(root.VibeCharts || {}, { equityCharts, drawdownPct });
})(window);
