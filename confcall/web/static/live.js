// The operator's live view: re-read /api/v1/ops/live every 2 s and redraw the tables.
(function () {
  "use strict";
  function cell(text, cls) { var td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
  function fill(id, rows) {
    var table = document.getElementById(id); if (!table) return;
    while (table.rows.length > 1) table.deleteRow(1);
    rows.forEach(function (cells) { var tr = document.createElement("tr"); cells.forEach(function (c) { tr.appendChild(c); }); table.appendChild(tr); });
  }
  function tick() {
    fetch("/api/v1/ops/live", {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
      if (!d) return;
      fill("spans", d.spans.map(function (s) { return [cell(s.span + " " + s.name), cell(s.ok ? "OK" : s.alarms.join("/"), s.ok ? "" : "alarm"), cell(s.map + " (" + s.in_use + ")")]; }));
      fill("calls", d.calls.map(function (c) { return [cell(c.trunk + "/" + c.channo), cell(c.number), cell(c.direction), cell(c.state), cell(String(c.seconds))]; }));
    }).catch(function () {});
  }
  setInterval(tick, 2000);
})();
