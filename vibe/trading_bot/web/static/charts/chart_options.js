/*
 * The options every chart of ours starts from: VibeCharts.chartOptions() -> the
 * lightweight-charts options (sized by its container, light theme, times in New York,
 * the exchange's zone, whatever the reader's); VibeCharts.etText(seconds) ->
 * "2025-06-05 10:35 EDT".
 */
(function (root) {
  "use strict";
  const ZONE = "America/New_York";
  const FORMAT = new Intl.DateTimeFormat("en-US", {
    timeZone: ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  /** {year, month, day, hour, minute, zone} of UTC epoch seconds, in New York. */
  function etParts(seconds) {
    const parts = {};
    for (const part of FORMAT.formatToParts(new Date(seconds * 1000))) {
      parts[part.type] = part.value;
    }
    return parts;
  }

  /** "YYYY-MM-DD HH:MM EDT" of UTC epoch seconds. */
  function etText(seconds) {
    const p = etParts(seconds);
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
  }

  /** Axis labels by lightweight-charts' TickMarkType: 0 year, 1 month, 2 day, 3-4 time. */
  function tickMark(seconds, tickMarkType) {
    const p = etParts(seconds);
    if (tickMarkType === 0) return p.year;
    if (tickMarkType === 1) return `${MONTHS[Number(p.month) - 1]} ${p.year}`;
    if (tickMarkType === 2) return `${p.month}-${p.day}`;
    return `${p.hour}:${p.minute}`;
  }

  /** Fresh options for createChart: autoSize (the container sets the size), New York times. */
  function chartOptions() {
    return {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#222222" },
      grid: { vertLines: { color: "#f0f0f0" }, horzLines: { color: "#f0f0f0" } },
      rightPriceScale: { minimumWidth: 90 },
      localization: { timeFormatter: etText },
      timeScale: { timeVisible: true, secondsVisible: false, tickMarkFormatter: tickMark },
    };
  }

  root.VibeCharts = Object.assign(root.VibeCharts || {}, { etText, chartOptions });
})(window);
