/*
 * The backtest report page (vibe.trading_bot.backtest.html_report): draws the equity,
 * drawdown and price charts from the JSON payload, wires the symbol picker, the
 * sortable tables and the trade rows (a click shows that trade on the price chart).
 * window.vibeReport holds the charts (for readers' consoles and the browser tests).
 */
(function (root) {
  "use strict";
  const VC = root.VibeCharts;
  const payload = JSON.parse(document.getElementById("payload").textContent);
  const report = { payload, equity: null, price: null, ready: false };
  root.vibeReport = report;

  const equityEl = document.getElementById("equity-chart");
  if (equityEl) {
    const bench = payload.equity.benchmark;
    report.equity = new VC.EquityCharts(equityEl, document.getElementById("drawdown-chart"), {
      infoEl: document.getElementById("equity-info"),
      times: VC.unpack(payload.equity.t),
      equity: VC.unpackNullable(payload.equity.v, 100),
      benchmark: bench ? VC.unpackNullable(bench, 100) : null,
      capital: payload.capital,
    });
  }

  const priceEl = document.getElementById("price-chart");
  const picker = document.getElementById("symbol");
  const infoEl = document.getElementById("price-info");
  if (priceEl && picker) {
    report.price = new VC.PriceChart(priceEl, {
      payload,
      infoEl,
      tooltipEl: document.getElementById("price-tooltip"),
      onSymbol: (symbol) => { picker.value = symbol; },
    });
    picker.addEventListener("change", () => report.price.setSymbol(picker.value));
    report.price.setSymbol(picker.value);
  }

  document.querySelectorAll("table.sortable").forEach(VC.makeSortable);
  document.querySelectorAll("tr[data-trade]").forEach((row) => {
    row.addEventListener("click", () => {
      const trade = payload.trades[Number(row.dataset.trade)];
      if (!report.price || !(trade[0] in payload.symbols)) {
        if (infoEl) infoEl.textContent = `No bars of ${trade[0]} in this report.`;
        return;
      }
      document.querySelectorAll("tr.selected").forEach((r) => r.classList.remove("selected"));
      row.classList.add("selected");
      report.price.showTrade(Number(row.dataset.trade));
      priceEl.scrollIntoView({ block: "center" });
    });
  });
  report.readyMs = performance.now(); // since navigation start: parse, decode and first draw
  report.ready = true;
})(window);
