// The vibe dashboard: reads /api/v1, follows /api/v1/events, drives /api/v1/control.
// Plain JS, no build step; charts by TradingView Lightweight Charts (vendored, v5 API).
"use strict";

const LC = window.LightweightCharts;
const API = "/api/v1";
const NY = "America/New_York";
const TOKEN_KEY = "vibe.api_token";
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  tokenRequired: false,
  status: null,
  trades: new Map(),
  charts: new Map(),
  lastEventId: "",
  pending: null,
  refreshTimer: null,
};
const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ helpers
const usd = (x) => (x === null || x === undefined ? "–" : x.toLocaleString("en-US", {
  minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const nyTime = (iso) => (iso ? new Date(iso).toLocaleTimeString("en-US", {
  timeZone: NY, hour12: false, hour: "2-digit", minute: "2-digit" }) : "–");
const nyDate = (iso) => new Date(iso).toLocaleDateString("en-CA", { timeZone: NY });
const epoch = (iso) => Math.floor(Date.parse(iso) / 1000);
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const reply = await fetch(API + path, { ...options, headers });
  const body = await reply.json().catch(() => ({}));
  if (reply.status === 401) askToken("The token was refused: enter the daemon's API_TOKEN.");
  if (!reply.ok) throw new Error(body.detail || reply.status + " " + reply.statusText);
  return body;
}

// -------------------------------------------------------------------- token
function askToken(why, then) {
  state.pending = then || null;
  $("control-note").textContent = why;
  $("token-form").hidden = false;
  $("token").focus();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  $("token-form").hidden = true;
  $("control-note").textContent = "";
  const then = state.pending;
  state.pending = null;
  if (then) then();
});

// ---------------------------------------------------------------- controls
async function command(path, body) {
  const run = async () => {
    try {
      const answer = await api("/control/" + path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      });
      $("control-note").textContent = answer.message;
      refreshSoon();
    } catch (error) {
      $("control-note").textContent = String(error.message || error);
    }
  };
  if (!state.token) askToken("Enter the daemon's API_TOKEN to " + path.replace("-", " ") + ".", run);
  else run();
}

$("pause").addEventListener("click", () => command("pause-entries"));
$("resume").addEventListener("click", () => command("resume-entries"));
$("flatten-all").addEventListener("click", () => command("flatten"));

function renderControls(status) {
  const off = !status.control_enabled;
  const why = "Disabled: the daemon has no API_TOKEN. Set API_TOKEN in its environment " +
    "and restart it to pause, resume or flatten from here.";
  for (const id of ["pause", "resume", "flatten-all"]) {
    $(id).disabled = off;
    $(id).title = off ? why : "";
  }
  if (off) $("control-note").textContent = why;
  else {
    $("pause").disabled = status.entries_paused;
    $("resume").disabled = !status.entries_paused;
  }
}

// ------------------------------------------------------------------ status
function renderStatus(status) {
  state.status = status;
  $("mode").textContent = status.mode;
  $("overall").textContent = status.status;
  $("overall").className = "badge " + status.status;
  const session = status.session;
  $("session").textContent = session.open
    ? "session open, closes " + nyTime(session.session_close) + " ET"
    : "market closed, opens " + nyDate(session.next_open) + " " + nyTime(session.next_open) + " ET";
  $("clock").textContent = nyDate(status.now) + " " + nyTime(status.now) + " ET";
  $("equity").textContent = usd(status.equity_usd);
  $("pnl-net").textContent = usd(status.day_pnl_net_usd);
  $("pnl-gross").textContent = usd(status.day_pnl_gross_usd);
  $("open-count").textContent = status.open_positions;
  $("entries").textContent = status.entries_paused ? "paused" : "taken";
  $("badges").replaceChildren(...status.components.map((c) => {
    const badge = document.createElement("span");
    badge.className = "badge " + c.state;
    badge.textContent = c.name + ": " + c.state;
    badge.title = c.reason;
    return badge;
  }));
  renderControls(status);
}

function renderPositions(positions) {
  const body = $("positions").tBodies[0];
  body.replaceChildren();
  for (const p of positions) {
    const row = body.insertRow();
    row.dataset.symbol = p.symbol;
    cell(row, p.symbol);
    cell(row, p.side);
    cell(row, p.quantity);
    cell(row, p.average_price.toFixed(2));
    cell(row, p.last_price === null ? "–" : p.last_price.toFixed(2));
    cell(row, usd(p.market_value_usd));
    cell(row, usd(p.unrealized_pnl_usd), p.unrealized_pnl_usd >= 0 ? "win" : "loss");
    const button = document.createElement("button");
    button.textContent = "Flatten";
    button.disabled = !(state.status && state.status.control_enabled);
    button.addEventListener("click", () => command("flatten", { symbol: p.symbol }));
    row.insertCell().append(button);
  }
}

function renderTrades() {
  const today = state.status ? nyDate(state.status.now) : null;
  const rows = [...state.trades.values()]
    .filter((t) => !today || nyDate(t.entry_time) === today)
    .sort((a, b) => b.entry_time.localeCompare(a.entry_time) || b.id - a.id);
  const body = $("trades").tBodies[0];
  body.replaceChildren();
  for (const t of rows) {
    const row = body.insertRow();
    row.dataset.tradeId = t.id;
    cell(row, t.id);
    cell(row, t.symbol);
    cell(row, t.side);
    cell(row, t.quantity);
    cell(row, nyTime(t.entry_time));
    cell(row, t.entry_price.toFixed(2));
    cell(row, nyTime(t.exit_time));
    cell(row, t.exit_price === null ? "–" : t.exit_price.toFixed(2));
    cell(row, usd(t.pnl_usd), t.pnl_usd === null ? "" : t.pnl_usd >= 0 ? "win" : "loss");
    cell(row, t.exit_reason || (t.status === "open" ? "open" : ""));
  }
}

// ------------------------------------------------------------------ charts
const chartOptions = {
  height: 240,
  layout: { background: { color: "#ffffff" }, textColor: "#1d2330" },
  timeScale: {
    timeVisible: true,
    secondsVisible: false,
    tickMarkFormatter: (t) => new Date(t * 1000).toLocaleTimeString("en-US", {
      timeZone: NY, hour12: false, hour: "2-digit", minute: "2-digit" }),
  },
  localization: {
    timeFormatter: (t) => new Date(t * 1000).toLocaleString("en-US", { timeZone: NY, hour12: false }),
  },
};
const equityChart = LC.createChart($("equity-chart"), chartOptions);
const equityLine = equityChart.addSeries(LC.AreaSeries, {
  lineColor: "#2962ff", topColor: "rgba(41,98,255,.25)", bottomColor: "rgba(41,98,255,0)",
});

function symbolChart(symbol) {
  let chart = state.charts.get(symbol);
  if (chart) return chart;
  const box = document.createElement("div");
  box.className = "symbol";
  box.dataset.symbol = symbol;
  const title = document.createElement("h3");
  title.textContent = symbol;
  const area = document.createElement("div");
  area.className = "chart";
  box.append(title, area);
  $("charts").append(box);
  const lc = LC.createChart(area, chartOptions);
  const line = { lineWidth: 1, lineStyle: 2, priceLineVisible: false, lastValueVisible: false,
    crosshairMarkerVisible: false };
  chart = {
    lc,
    candles: lc.addSeries(LC.CandlestickSeries, {}),
    high: lc.addSeries(LC.LineSeries, { ...line, color: "#137333" }),
    low: lc.addSeries(LC.LineSeries, { ...line, color: "#b3261e" }),
    times: [],
    markers: null,
    marks: new Map(),
  };
  chart.markers = LC.createSeriesMarkers(chart.candles, []);
  lc.subscribeCrosshairMove((param) => showTip(chart, param));
  state.charts.set(symbol, chart);
  return chart;
}

function rangePoints(bars, ranges) {
  const high = [];
  const low = [];
  for (const bar of bars) {
    const t = epoch(bar.time);
    const range = ranges.find((r) => nyDate(r.start) === nyDate(bar.time) && t >= epoch(r.start));
    if (range) {
      high.push({ time: t, value: range.high });
      low.push({ time: t, value: range.low });
    } else {
      high.push({ time: t });
      low.push({ time: t });
    }
  }
  return [high, low];
}

async function loadBars(symbol) {
  const data = await api("/bars/" + encodeURIComponent(symbol) + "?limit=2000");
  const chart = symbolChart(symbol);
  if (!data.bars.length) return;
  const candles = data.bars.map((b) => ({ time: epoch(b.time), open: b.open, high: b.high,
    low: b.low, close: b.close }));
  chart.candles.setData(candles);
  chart.times = candles.map((c) => c.time);
  const [high, low] = rangePoints(data.bars, data.opening_ranges);
  chart.high.setData(high);
  chart.low.setData(low);
  const last = data.opening_ranges[data.opening_ranges.length - 1];
  if (last) {
    chart.lc.timeScale().setVisibleRange({ from: epoch(last.start), to: chart.times.at(-1) });
  }
  drawMarkers(symbol);
}

function onBar(bar) {
  const chart = symbolChart(bar.symbol);
  const t = epoch(bar.time);
  if (chart.times.length && t < chart.times.at(-1)) return;
  chart.candles.update({ time: t, open: bar.open, high: bar.high, low: bar.low, close: bar.close });
  if (!chart.times.length || t > chart.times.at(-1)) chart.times.push(t);
  const range = bar.opening_range;
  chart.high.update(range ? { time: t, value: range.high } : { time: t });
  chart.low.update(range ? { time: t, value: range.low } : { time: t });
}

function barTime(chart, iso) {
  // a fill's time -> the start of the bar it happened in (markers sit on bars)
  const t = epoch(iso);
  let lo = 0;
  let hi = chart.times.length - 1;
  if (hi < 0 || t < chart.times[0]) return null;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (chart.times[mid] <= t) lo = mid; else hi = mid - 1;
  }
  return chart.times[lo];
}

function drawMarkers(symbol) {
  const chart = state.charts.get(symbol);
  if (!chart) return;
  const markers = [];
  chart.marks = new Map();
  const note = (time, text) => chart.marks.set(time, [...(chart.marks.get(time) || []), text]);
  for (const t of state.trades.values()) {
    if (t.symbol !== symbol) continue;
    const long = t.side === "long";
    const entry = barTime(chart, t.entry_time);
    if (entry !== null) {
      markers.push({ time: entry, position: long ? "belowBar" : "aboveBar",
        shape: long ? "arrowUp" : "arrowDown", color: long ? "#137333" : "#b3261e",
        text: long ? "L" : "S" });
      note(entry, `entry ${t.side} ${t.quantity} @ ${t.entry_price.toFixed(2)} (${t.strategy})`);
    }
    const exit = t.exit_time ? barTime(chart, t.exit_time) : null;
    if (exit !== null) {
      markers.push({ time: exit, position: long ? "aboveBar" : "belowBar", shape: "circle",
        color: "#1d2330", text: t.exit_reason || "exit" });
      note(exit, `exit ${t.side} @ ${t.exit_price.toFixed(2)} ${t.exit_reason}, ` +
        `P&L ${usd(t.pnl_usd)} USD`);
    }
  }
  markers.sort((a, b) => a.time - b.time);
  chart.markers.setMarkers(markers);
}

function showTip(chart, param) {
  const tip = $("tip");
  const lines = param.time !== undefined ? chart.marks.get(param.time) : null;
  if (!lines || !param.point) {
    tip.hidden = true;
    return;
  }
  const box = chart.lc.chartElement().getBoundingClientRect();
  tip.textContent = lines.join("\n");
  tip.style.left = box.left + param.point.x + 12 + "px";
  tip.style.top = box.top + param.point.y + 12 + "px";
  tip.hidden = false;
}

// ------------------------------------------------------------------ loading
async function loadTrades() {
  for (const t of await api("/trades?limit=1000")) state.trades.set(t.id, t);
  renderTrades();
  for (const symbol of state.charts.keys()) drawMarkers(symbol);
}

async function loadEquity() {
  const points = await api("/equity");
  equityLine.setData(points.map((p) => ({ time: epoch(p.time), value: p.equity_usd })));
}

async function refresh() {
  renderStatus(await api("/status"));
  renderPositions(await api("/positions"));
  await loadTrades();
  await loadEquity();
}

function refreshSoon(delay = 250) {
  // at most one refresh in flight; bars ask for one a second, fills and commands sooner
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(async () => {
    try {
      await refresh();
    } catch (error) {
      $("control-note").textContent = String(error.message || error);
    }
    state.refreshTimer = null;
  }, delay);
}

async function loadAll() {
  await refresh();
  for (const symbol of state.status.symbols) await loadBars(symbol);
}

// ------------------------------------------------------------------ events
function onEvent(kind, data) {
  if (kind === "hello") {
    loadAll().catch((error) => { $("control-note").textContent = String(error.message || error); });
  } else if (kind === "bar") {
    onBar(data);
    refreshSoon(1000);
  } else if (kind === "trade") {
    state.trades.set(data.id, data);
    renderTrades();
    drawMarkers(data.symbol);
    refreshSoon();
  } else if (kind === "fill" || kind === "health") {
    refreshSoon();
  }
}

function parseBlock(block) {
  let kind = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") kind = value;
    else if (field === "data") data.push(value);
    else if (field === "id") state.lastEventId = value;
  }
  if (data.length) onEvent(kind, JSON.parse(data.join("\n")));
}

async function follow() {
  // EventSource cannot send an Authorization header: read the stream with fetch instead
  for (;;) {
    try {
      const headers = {};
      if (state.token) headers.Authorization = "Bearer " + state.token;
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const reply = await fetch(API + "/events", { headers });
      if (!reply.ok) throw new Error("events: " + reply.status);
      const reader = reply.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
          parseBlock(block);
        }
      }
    } catch (error) {
      $("overall").textContent = "reconnecting";
    }
    await sleep(1000);
  }
}

async function start() {
  const settings = await (await fetch("/dashboard.json")).json();
  state.tokenRequired = settings.token_required;
  if (state.tokenRequired && !state.token) {
    askToken("This daemon has an API_TOKEN: enter it to see the dashboard.", follow);
    return;
  }
  follow();
}

start();
