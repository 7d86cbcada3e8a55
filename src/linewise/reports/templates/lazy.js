// Collapsed functions of a big profile come without their rows: html.py embeds them once,
// as data (the JSON block #lw-data, "lazy": {function id: [row, ...]}), and this makes a
// function's rows when it is first opened (by a click, the search, "Expand all" or a
// link to one of its lines). Rows are the markup html.py's _report_row writes.
(function () {
  "use strict";
  var block = document.getElementById("lw-data");
  var data = block ? JSON.parse(block.textContent) : {};
  window.linewiseData = data;
  var lazy = data.lazy || {};
  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }
  // An idle row (no hits, no figures) comes as [lineno, source]: see html.py's _row_data.
  function full(r) {
    return r.length === 2 ? [r[0], "idle", "", "", "", "", "", r[1]] : r;
  }
  // The source: its text, or runs, each [class, text] or a text without a class.
  function code(src) {
    if (typeof src === "string") { return esc(src); }
    return src.map(function (t) {
      return typeof t === "string" ? esc(t) : '<span class="' + t[0] + '">' + esc(t[1]) + "</span>";
    }).join("");
  }
  function plain(src) {
    if (typeof src === "string") { return src; }
    return src.map(function (t) { return typeof t === "string" ? t : t[1]; }).join("");
  }
  function bar(width) {
    return width ? '<span class="bar"><i style="width:' + width + '"></i></span>' : "";
  }
  // A cell showing a line's time, or its own time when r[8] has it (report.js switches
  // between the .v-time and .v-own spans).
  function both(a, b, own) {
    return own ? '<span class="v-time">' + a + '</span><span class="v-own">' + b + "</span>" : a;
  }
  function row(fid, r) {
    r = full(r);
    var cls = r[1] ? ' class="' + r[1] + '"' : "";
    var own = r[8];
    var times = [r[3], r[4], r[5]].map(function (c, i) {
      return '<td class="num">' + both(esc(c), own ? esc(own[i]) : "", own) + "</td>";
    }).join("");
    return '<tr id="' + fid + "-L" + r[0] + '"' + cls + '><td class="num">' + r[0] +
      '</td><td class="num">' + esc(r[2]) + "</td>" + times + '<td class="left">' +
      both(bar(r[6]), own ? bar(own[3]) : "", own) + '</td><td class="src">' + code(r[7]) +
      "</td></tr>";
  }
  function render(f) {
    var rows = lazy[f.id];
    if (!rows || !f.hasAttribute("data-lazy")) { return; }
    var body = f.querySelector("table.lines tbody");
    body.insertAdjacentHTML("afterbegin", rows.map(function (r) { return row(f.id, r); }).join(""));
    f.removeAttribute("data-lazy");
    f.dispatchEvent(new CustomEvent("lw-rendered", {bubbles: true}));
  }
  window.linewiseRender = render;
  Array.prototype.forEach.call(document.querySelectorAll("details.func[data-lazy]"), function (f) {
    var rows = lazy[f.id] || [];
    f.lwText = function () {
      if (!f.hasAttribute("data-lazy")) { return f.textContent; }
      return f.textContent + "\n" + rows.map(function (r) { return plain(full(r)[7]); }).join("\n");
    };
    f.addEventListener("toggle", function () { if (f.open) { render(f); } });
  });
  function renderTarget() {  // before report.js looks the target up
    var id = decodeURIComponent(location.hash.slice(1));
    var m = /^(f\d+)-/.exec(id);
    var f = m && document.getElementById(m[1]);
    if (f && f.tagName === "DETAILS") { render(f); }
  }
  window.addEventListener("hashchange", renderTarget);
  renderTarget();
})();
