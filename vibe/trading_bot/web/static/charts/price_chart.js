/*
 * A candlestick chart of one symbol at a time, with each session's opening range and
 * the trades as entry/exit markers, that draws coarser candles when zoomed out.
 *
 * new VibeCharts.PriceChart(el, {payload, infoEl, tooltipEl, onSymbol})
 *   payload: the chart payload (vibe.trading_bot.backtest.chart_payload): sessions,
 *   symbols (packed, decoded with VibeCharts.decodeBars; or already in decodeBars' form,
 *   e.g. bars a page fetched), trades, bar_seconds.
 *
 * Zoom levels: the bars as they are, then 5 min, 15 min, 30 min, 1 hour and one candle
 * per session (buckets counted from each session's open; open of the first bar, highest
 * high, lowest low, close of the last bar, summed volume). Every bar is in every level:
 * nothing is dropped, only merged. The finest level that draws at most one candle per
 * pixel of the chart's width over the visible time range is drawn; the info line says
 * which. Opening range: two dashed lines (high, low) across each session; markers:
 * an arrow at the entry price (up: long, down: short) and a circle at the exit price
 * (green: win, red: loss, grey: flat); hovering a bar with a marker shows the trade.
 */
(function (root) {
  "use strict";
  const LC = root.LightweightCharts;
  const VC = root.VibeCharts;
  const BUCKETS = [[300, "5 min"], [900, "15 min"], [1800, "30 min"], [3600, "1 hour"]];
  const PIXELS_PER_CANDLE = 1;
  const DETAILED_LEVELS = 2; // marker labels on the two finest levels only
  const COLORS = {
    long: "#1f4e9c", short: "#b35806", win: "#1a9850", loss: "#d73027", flat: "#7f7f7f",
    rangeHigh: "#2e7d32", rangeLow: "#c62828", up: "#26a69a", down: "#ef5350",
  };

  const { lowerBound, snapIndex, levelForTimes, rescale } = VC;

  function secondsLabel(seconds) {
    return seconds % 3600 === 0 ? `${seconds / 3600} hour` : `${seconds / 60} min`;
  }

  /** Bars merged per bucket of `size` s from each session's open; 0: per session; null: as is. */
  function aggregate(bars, opens, size) {
    const level = { time: [], open: [], high: [], low: [], close: [], volume: [], session: [] };
    let s = 0;
    let current = null;
    for (let i = 0; i < bars.time.length; i++) {
      const t = bars.time[i];
      while (s + 1 < opens.length && opens[s + 1] <= t) s++;
      const offset = t - opens[s];
      let bucket = t;
      if (size === 0) bucket = opens[s];
      else if (size !== null) bucket = opens[s] + Math.floor(offset / size) * size;
      const k = level.time.length - 1;
      if (bucket !== current || size === null) {
        current = bucket;
        level.time.push(bucket);
        level.open.push(bars.open[i]);
        level.high.push(bars.high[i]);
        level.low.push(bars.low[i]);
        level.close.push(bars.close[i]);
        level.volume.push(bars.volume[i]);
        level.session.push(s);
      } else {
        level.high[k] = Math.max(level.high[k], bars.high[i]);
        level.low[k] = Math.min(level.low[k], bars.low[i]);
        level.close[k] = bars.close[i];
        level.volume[k] += bars.volume[i];
      }
    }
    return level;
  }

  function buildLevels(bars, opens, barSeconds) {
    const specs = [[null, secondsLabel(barSeconds)]];
    for (const [size, label] of BUCKETS) if (size > barSeconds) specs.push([size, label]);
    specs.push([0, "1 session"]);
    return specs.map(([size, label], index) =>
      Object.assign(aggregate(bars, opens, size), { label, index })
    );
  }

  function candleData(level) {
    const out = new Array(level.time.length);
    for (let k = 0; k < out.length; k++) {
      out[k] = {
        time: level.time[k], open: level.open[k], high: level.high[k],
        low: level.low[k], close: level.close[k],
      };
    }
    return out;
  }

  function volumeData(level) {
    return level.time.map((time, k) => ({
      time, value: level.volume[k],
      color: level.close[k] >= level.open[k] ? "rgba(38,166,154,0.35)" : "rgba(239,83,80,0.35)",
    }));
  }

  /**
   * One line per session at `values[session]`. A line segment takes half its colour from
   * each end, so the first and last point of each session are transparent: no segment
   * joins two sessions.
   */
  function rangeData(level, values, color) {
    const { session } = level;
    const last = session.length - 1;
    return level.time.map((time, k) => {
      const value = values[session[k]];
      if (value === null) return { time };
      const edge = k === 0 || k === last || session[k - 1] !== session[k] || session[k + 1] !== session[k];
      return { time, value, color: edge ? "transparent" : color };
    });
  }

  /** A price with 2 to 4 decimals. */
  function priceText(value) {
    return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4, useGrouping: false });
  }

  function tradeOf(row, index) {
    const [symbol, side, quantity, entryTime, entryPrice, exitTime, exitPrice, pnl, reason] = row;
    return { index, symbol, side, quantity, entryTime, entryPrice, exitTime, exitPrice, pnl, reason };
  }

  function outcomeColor(trade) {
    if (trade.pnl === null || trade.pnl === 0) return COLORS.flat;
    return trade.pnl > 0 ? COLORS.win : COLORS.loss;
  }

  function usd(value) {
    const sign = value < 0 ? "-" : "";
    return `${sign}$${Math.abs(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  }

  function entryText(t) {
    return `#${t.index + 1} ${t.side} entry ${t.quantity} @ ${priceText(t.entryPrice)} (${VC.etText(t.entryTime)})`;
  }

  function exitText(t) {
    const pnl = t.pnl === null ? "" : `, P&L ${usd(t.pnl)}`;
    return `#${t.index + 1} ${t.side} exit @ ${priceText(t.exitPrice)} ${t.reason} (${VC.etText(t.exitTime)})${pnl}`;
  }

  class PriceChart {
    constructor(el, options) {
      this.el = el;
      this.payload = options.payload;
      this.infoEl = options.infoEl || null;
      this.tooltipEl = options.tooltipEl || null;
      this.onSymbol = options.onSymbol || (() => {});
      this.opens = this.payload.sessions.open;
      this.closes = this.payload.sessions.close;
      this.trades = this.payload.trades.map(tradeOf);
      this.cache = new Map();
      this.symbol = null;
      this.level = null;
      this.busy = false;
      this.tradesAt = new Map();
      this.chart = LC.createChart(el, VC.chartOptions());
      this.candles = this.chart.addSeries(LC.CandlestickSeries, {
        upColor: COLORS.up, downColor: COLORS.down, borderVisible: false,
        wickUpColor: COLORS.up, wickDownColor: COLORS.down,
      });
      this.volume = this.chart.addSeries(LC.HistogramSeries, {
        priceScaleId: "volume", priceFormat: { type: "volume" },
        lastValueVisible: false, priceLineVisible: false,
      });
      this.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
      const line = { lineWidth: 1, lineStyle: LC.LineStyle.Dashed, lastValueVisible: false,
        priceLineVisible: false, crosshairMarkerVisible: false };
      this.rangeHigh = this.chart.addSeries(LC.LineSeries, Object.assign({ color: COLORS.rangeHigh }, line));
      this.rangeLow = this.chart.addSeries(LC.LineSeries, Object.assign({ color: COLORS.rangeLow }, line));
      this.markers = LC.createSeriesMarkers(this.candles, []);
      this.chart.timeScale().subscribeVisibleLogicalRangeChange((range) => this._onZoom(range));
      this.chart.subscribeCrosshairMove((param) => this._onCrosshair(param));
    }

    symbols() {
      return Object.keys(this.payload.symbols);
    }

    _data(symbol) {
      if (!this.cache.has(symbol)) {
        const entry = this.payload.symbols[symbol];
        if (!entry) throw new Error(`no bars for symbol ${symbol}; expected one of ${this.symbols()}`);
        const bars = entry.scale === undefined ? entry : VC.decodeBars(entry);
        const levels = buildLevels(bars, this.opens, this.payload.bar_seconds);
        const trades = this.trades.filter((t) => t.symbol === symbol);
        this.cache.set(symbol, { bars, levels, trades });
      }
      return this.cache.get(symbol);
    }

    maxCandles() {
      return Math.max(50, Math.floor(this.el.clientWidth / PIXELS_PER_CANDLE));
    }

    /** The level to draw [from, to] with (VibeCharts.levelForTimes, one candle per pixel). */
    levelFor(from, to) {
      return levelForTimes(this._data(this.symbol).levels, this.level, from, to, this.maxCandles());
    }

    /** Draw `symbol`: [from, to] (UTC epoch seconds) of it, or its whole history. */
    setSymbol(symbol, from, to) {
      const { bars } = this._data(symbol);
      this.symbol = symbol;
      this.level = null;
      const whole = from === undefined;
      const first = whole ? bars.time[0] : from;
      const last = whole ? bars.time[bars.time.length - 1] : to;
      this._draw(this.levelFor(first, last));
      if (whole) this.chart.timeScale().fitContent();
      else this._setRange(from, to);
      this.onSymbol(symbol);
    }

    /** Show [from, to] (UTC epoch seconds) of the current symbol. */
    show(from, to) {
      this._draw(this.levelFor(from, to));
      this._setRange(from, to);
    }

    /**
     * Show the drawn candles of [from, to] by their indices: right after setData the
     * library may still map times with the previous data, indices are already right.
     */
    _setRange(from, to) {
      const times = this.level.time;
      const first = Math.min(lowerBound(times, from), times.length - 1);
      const last = Math.max(first, snapIndex(times, to));
      this.busy = true;
      this.chart.timeScale().setVisibleLogicalRange({ from: first - 0.5, to: last + 0.5 });
      this.busy = false;
    }

    /** Jump to trade `index` of the payload: its symbol, its session(s), its markers. */
    showTrade(index) {
      const trade = this.trades[index];
      const session = snapIndex(this.opens, trade.entryTime);
      const lastBar = this.closes[session] - this.payload.bar_seconds;
      const end = Math.max(lastBar, trade.exitTime || trade.entryTime);
      if (trade.symbol !== this.symbol) this.setSymbol(trade.symbol, this.opens[session], end);
      else this.show(this.opens[session], end);
      return trade;
    }

    visibleRange() {
      return this.chart.timeScale().getVisibleRange();
    }

    _onZoom(range) {
      // setData and setVisibleLogicalRange report range changes synchronously: ignore ours
      if (range === null || this.symbol === null || this.busy) return;
      const next = rescale(this._data(this.symbol).levels, this.level, range, this.maxCandles());
      if (next === null) return;
      this._draw(next.level);
      this.busy = true;
      this.chart.timeScale().setVisibleLogicalRange(next.range);
      this.busy = false;
    }

    _draw(level) {
      if (level === this.level) return;
      this.busy = true;
      this.level = level;
      const { bars } = this._data(this.symbol);
      this.candles.setData(candleData(level));
      this.volume.setData(volumeData(level));
      this.rangeHigh.setData(rangeData(level, bars.rangeHigh, COLORS.rangeHigh));
      this.rangeLow.setData(rangeData(level, bars.rangeLow, COLORS.rangeLow));
      this._drawMarkers(level);
      this._info(level);
      this.busy = false;
    }

    _drawMarkers(level) {
      const detailed = level.index < DETAILED_LEVELS;
      const markers = [];
      this.tradesAt = new Map();
      const note = (time, text) => {
        if (!this.tradesAt.has(time)) this.tradesAt.set(time, []);
        this.tradesAt.get(time).push(text);
      };
      for (const t of this._data(this.symbol).trades) {
        const entryAt = level.time[snapIndex(level.time, t.entryTime)];
        markers.push({
          time: entryAt, position: "atPriceMiddle", price: t.entryPrice, id: `entry-${t.index}`,
          shape: t.side === "long" ? "arrowUp" : "arrowDown", color: COLORS[t.side] || COLORS.long,
          text: detailed ? `${t.side} @ ${priceText(t.entryPrice)}` : "",
        });
        note(entryAt, entryText(t));
        if (t.exitTime === null) continue;
        const exitAt = level.time[snapIndex(level.time, t.exitTime)];
        markers.push({
          time: exitAt, position: "atPriceMiddle", price: t.exitPrice, id: `exit-${t.index}`,
          shape: "circle", color: outcomeColor(t), text: detailed ? `${t.reason} @ ${priceText(t.exitPrice)}` : "",
        });
        note(exitAt, exitText(t));
      }
      markers.sort((a, b) => a.time - b.time);
      this.markers.setMarkers(markers);
    }

    _info(level) {
      if (this.infoEl === null) return;
      const { bars, levels } = this._data(this.symbol);
      const finest = levels[0].label;
      const merged = level.index === 0 ? "" : ` (merged from ${finest} bars: zoom in for finer candles)`;
      this.infoEl.textContent = `${this.symbol}: ${bars.time.length.toLocaleString("en-US")} bars of ` +
        `${finest}; drawn as ${level.time.length.toLocaleString("en-US")} candles of ${level.label}${merged}.`;
      this.el.dataset.level = level.label;
    }

    _onCrosshair(param) {
      if (this.tooltipEl === null) return;
      const lines = param.time === undefined ? undefined : this.tradesAt.get(param.time);
      if (!lines || !param.point) {
        this.tooltipEl.style.display = "none";
        return;
      }
      this.tooltipEl.textContent = lines.join("\n");
      this.tooltipEl.style.display = "block";
      this.tooltipEl.style.left = `${Math.min(param.point.x + 16, this.el.clientWidth - 320)}px`;
      this.tooltipEl.style.top = `${param.point.y + 16}px`;
    }
  }

  root.VibeCharts = Object.assign(root.VibeCharts || {}, { PriceChart, aggregate });
})(window);
