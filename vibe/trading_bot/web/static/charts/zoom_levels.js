/*
 * Zoom levels: the same series at several resolutions, and the choice of which to draw
 * for a time range (VibeCharts.levelForTimes) or after a zoom (VibeCharts.rescale). A
 * level is an object with a `time` array (ascending UTC epoch seconds) and an `index`
 * (0: finest).
 *
 * VibeCharts.envelopeIndices(times, seriesList, size): for buckets of `size` seconds,
 * the indices of each bucket's first and last point and of the lowest and highest value
 * of every series in the bucket, ascending (the "M4" reduction of Jugel et al., VLDB
 * 2014): the drawn line keeps every extreme and every bucket's ends, so zoomed out it
 * looks as the full line would, from a few points per bucket.
 */
(function (root) {
  "use strict";
  const FINER_FILL = 0.8; // a switch picks a level that fills <= 80 % of the limit

  function lowerBound(values, x) {
    let lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Number of times t with from <= t <= to. */
  function countIn(times, from, to) {
    return lowerBound(times, to + 1) - lowerBound(times, from);
  }

  /** Index of the last time <= t (0 when t is before the first). */
  function snapIndex(times, t) {
    return Math.max(0, lowerBound(times, t + 1) - 1);
  }

  /**
   * The level to draw with at most `limit` points, where countOf(level) is how many of its
   * points the view holds: `current` while it fits and is finer than needed, else the
   * finest level filling <= FINER_FILL of the limit (so a small zoom or pan does not
   * switch back and forth); the coarsest if none does.
   */
  function chooseLevel(levels, current, countOf, limit) {
    const comfortable = levels.find((l) => countOf(l) <= limit * FINER_FILL);
    const pick = comfortable || levels[levels.length - 1];
    if (current && current.index < pick.index && countOf(current) <= limit) return current;
    return pick;
  }

  /** chooseLevel for the time range [from, to] (UTC epoch seconds). */
  function levelForTimes(levels, current, from, to, limit) {
    return chooseLevel(levels, current, (l) => countIn(l.time, from, to), limit);
  }

  /**
   * After a zoom: the chart shows the logical range `range` (indices of `current`'s points,
   * blank space beyond the data included). Returns null when `current` still fits, else
   * {level, range}: the level to draw and the logical range that shows the same span
   * around the same centre time (other levels' point counts estimated by their density).
   */
  function rescale(levels, current, range, limit) {
    const n = current.time.length;
    const width = range.to - range.from;
    const level = chooseLevel(levels, current, (l) => (width * l.time.length) / n, limit);
    if (level === current) return null;
    const ratio = level.time.length / n;
    const middle = (range.from + range.to) / 2;
    const nearest = Math.min(n - 1, Math.max(0, Math.round(middle)));
    const centre = snapIndex(level.time, current.time[nearest]) + (middle - nearest) * ratio;
    const half = (width * ratio) / 2;
    return { level, range: { from: centre - half, to: centre + half } };
  }

  function envelopeIndices(times, seriesList, size) {
    const keep = new Uint8Array(times.length);
    let start = 0;
    while (start < times.length) {
      const bucket = Math.floor(times[start] / size);
      let end = start;
      while (end + 1 < times.length && Math.floor(times[end + 1] / size) === bucket) end++;
      keep[start] = 1;
      keep[end] = 1;
      for (const values of seriesList) {
        let lo = -1;
        let hi = -1;
        for (let i = start; i <= end; i++) {
          const v = values[i];
          if (v === null || Number.isNaN(v)) continue;
          if (lo < 0 || v < values[lo]) lo = i;
          if (hi < 0 || v > values[hi]) hi = i;
        }
        if (lo >= 0) keep[lo] = keep[hi] = 1;
      }
      start = end + 1;
    }
    const out = [];
    for (let i = 0; i < keep.length; i++) if (keep[i]) out.push(i);
    return out;
  }

  root.VibeCharts = Object.assign(root.VibeCharts || {}, {
    lowerBound, countIn, snapIndex, chooseLevel, levelForTimes, rescale, envelopeIndices,
  });
})(window);
