/*
 * Decode the compact series of a chart payload (vibe.trading_bot.backtest.chart_payload):
 * columns of integers, each the difference from the one before (the first as it is).
 * Exposed as VibeCharts.undelta, .undeltaNullable, .decodeBars.
 */
(function (root) {
  "use strict";

  /** [v0, d1, d2, ...] -> [v0, v0 + d1, ...] (integers, e.g. UTC epoch seconds). */
  function undelta(coded) {
    const out = new Array(coded.length);
    let run = 0;
    for (let i = 0; i < coded.length; i++) {
      run += coded[i];
      out[i] = run;
    }
    return out;
  }

  /** Like undelta, divided by `divisor`; a null stays null and leaves the running sum. */
  function undeltaNullable(coded, divisor) {
    const out = new Array(coded.length);
    let run = 0;
    for (let i = 0; i < coded.length; i++) {
      const step = coded[i];
      if (step === null) {
        out[i] = null;
        continue;
      }
      run += step;
      out[i] = run / divisor;
    }
    return out;
  }

  /**
   * One symbol's bars: {time (UTC s), open, high, low, close (USD per share), volume (shares),
   * rangeHigh, rangeLow (per session, USD per share or null)}.
   */
  function decodeBars(entry) {
    const n = entry.t.length;
    const scale = entry.scale;
    const open = new Float64Array(n);
    const high = new Float64Array(n);
    const low = new Float64Array(n);
    const close = new Float64Array(n);
    let previousClose = 0;
    for (let i = 0; i < n; i++) {
      const o = previousClose + entry.o[i];
      const c = o + entry.c[i];
      open[i] = o / scale;
      high[i] = (o + entry.h[i]) / scale;
      low[i] = (o + entry.l[i]) / scale;
      close[i] = c / scale;
      previousClose = c;
    }
    const price = (v) => (v === null ? null : v / scale);
    return {
      time: undelta(entry.t),
      open,
      high,
      low,
      close,
      volume: entry.v,
      rangeHigh: entry.range_high.map(price),
      rangeLow: entry.range_low.map(price),
    };
  }

  root.VibeCharts = Object.assign(root.VibeCharts || {}, { undelta, undeltaNullable, decodeBars });
})(window);
