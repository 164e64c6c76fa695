"""The CSS and the chart script of the ``optimize`` page (see :mod:`.html`)."""

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}
td.na{color:#999}
table.heat td{min-width:5rem;text-align:center}
caption{caption-side:bottom;font-size:.85rem;color:#666}
.chart{width:100%;max-width:900px;height:260px}
"""

PAGE_SCRIPT = """
(function () {
  const data = JSON.parse(document.getElementById('data').textContent);
  const LC = window.LightweightCharts;
  for (const spec of data.charts) {
    const chart = LC.createOptionsChart(document.getElementById(spec.id), {autoSize: true});
    chart.addSeries(LC.LineSeries, {color: '#2962ff', title: 'best'}).setData(spec.best);
    chart.addSeries(LC.LineSeries, {color: '#999999', title: 'mean'}).setData(spec.mean);
    chart.timeScale().fitContent();
  }
  const box = document.getElementById('equity');
  let equity = 0;
  if (data.equity.length === 0) {
    box.outerHTML = '<p>No out-of-sample equity (run with --walk-forward K).</p>';
  } else {
    const chart = LC.createChart(box, {autoSize: true, timeScale: {timeVisible: true}});
    const line = chart.addSeries(LC.LineSeries, {color: '#2962ff', title: 'equity'});
    line.setData(data.equity);
    chart.timeScale().fitContent();
    equity = line.data().length;
  }
  window.optimizeDrawn = {parameterCharts: data.charts.length, equityPoints: equity};
})();
"""
