/*
 * Sortable tables: VibeCharts.makeSortable(table) makes every header cell of `table`
 * sort its body rows on click (ascending first, click again for descending). A cell's
 * data-v attribute is its sort key (numbers sort as numbers; an empty data-v, e.g. a
 * figure that is n/a, sorts last either way); without data-v the cell's text is used.
 */
(function (root) {
  "use strict";

  function keyOf(cell) {
    const raw = cell.dataset.v;
    if (raw === undefined) return { empty: false, number: false, value: cell.textContent.trim() };
    if (raw === "") return { empty: true };
    const number = Number(raw);
    return Number.isNaN(number) ? { empty: false, number: false, value: raw } : { empty: false, number: true, value: number };
  }

  function compare(a, b) {
    if (a.number && b.number) return a.value - b.value;
    return String(a.value).localeCompare(String(b.value), "en", { numeric: true });
  }

  function sortBy(table, column, ascending) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).map((row, position) => ({ row, position, key: keyOf(row.cells[column]) }));
    rows.sort((x, y) => {
      if (x.key.empty || y.key.empty) return (x.key.empty - y.key.empty) || (x.position - y.position);
      return (ascending ? compare(x.key, y.key) : compare(y.key, x.key)) || (x.position - y.position);
    });
    for (const { row } of rows) body.appendChild(row);
    for (const th of table.tHead.rows[0].cells) th.removeAttribute("aria-sort");
    table.tHead.rows[0].cells[column].setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function makeSortable(table) {
    Array.from(table.tHead.rows[0].cells).forEach((th, column) => {
      th.classList.add("sortable");
      th.title = "Click to sort";
      th.addEventListener("click", () => {
        sortBy(table, column, th.getAttribute("aria-sort") !== "ascending");
      });
    });
  }

  root.VibeCharts = Object.assign(root.VibeCharts || {}, { makeSortable, sortBy });
})(window);
