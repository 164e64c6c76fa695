/*
 * Zoom levels: the same series at several resolutions, and the choice of which to draw
 * for a visible time range (VibeCharts.chooseLevel). A level is an object with a
 * `time` array (ascending UTC epoch seconds) and an `index` (0: finest).
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
   * The level to draw [from, to] with at most `limit` points: `current` while it fits
   * and is finer than needed, else the finest level filling <= FINER_FILL of the limit
   * (so a small zoom or pan does not switch back and forth); the coarsest if none does.
   */
  function chooseLevel(levels, current, from, to, limit) {
    const comfortable = levels.find((l) => countIn(l.time, from, to) <= limit * FINER_FILL);
    const pick = comfortable || levels[levels.length - 1];
    if (current && current.index < pick.index && countIn(current.time, from, to) <= limit) {
      return current;
    }
    return pick;
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
    lowerBound, countIn, snapIndex, chooseLevel, envelopeIndices,
  });
})(window);
