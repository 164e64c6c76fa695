/*
 * Decode the packed columns of a chart payload (vibe.trading_bot.backtest.chart_payload):
 * {dtype: "i2" | "i4" | "f8", data: base64 of little-endian differences, wide: optional
 * [[index, difference], ...] of the differences too wide for i2}. Exposed as
 * VibeCharts.unpack, .unpackNullable, .decodeBars.
 */
(function (root) {
  "use strict";
  const TYPES = { i2: Int16Array, i4: Int32Array, f8: Float64Array };

  function differences(column) {
    const Type = TYPES[column.dtype];
    if (!Type) throw new Error(`packed column dtype ${column.dtype}; expected i2, i4 or f8`);
    const text = atob(column.data);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const steps = new Type(bytes.buffer);
    if (!column.wide) return steps;
    const exact = Float64Array.from(steps);
    for (const [index, step] of column.wide) exact[index] = step;
    return exact;
  }

  /** The values (Float64Array) of a packed column, each divided by `divisor` (default 1). */
  function unpack(column, divisor) {
    const steps = differences(column);
    const out = new Float64Array(steps.length);
    const d = divisor || 1;
    let run = 0;
    for (let i = 0; i < steps.length; i++) {
      run += steps[i];
      out[i] = run / d;
    }
    return out;
  }

  /** Like unpack, as an Array where a NaN difference is null (and leaves the running sum). */
  function unpackNullable(column, divisor) {
    const steps = differences(column);
    const out = new Array(steps.length);
    let run = 0;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (Number.isNaN(step)) {
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
    const scale = entry.scale;
    const price = (v) => (v === null ? null : v / scale);
    return {
      time: unpack(entry.t),
      open: unpack(entry.o, scale),
      high: unpack(entry.h, scale),
      low: unpack(entry.l, scale),
      close: unpack(entry.c, scale),
      volume: unpack(entry.v),
      rangeHigh: entry.range_high.map(price),
      rangeLow: entry.range_low.map(price),
    };
  }

  root.VibeCharts = Object.assign(root.VibeCharts || {}, { unpack, unpackNullable, decodeBars });
})(window);
