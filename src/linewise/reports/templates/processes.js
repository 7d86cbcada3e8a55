// Results merged from several processes: a click on a line row that ran shows, under it,
// what each process counted (data "procs" and "bylines" of #lw-data, from html.py); so
// does a link to the line (page.html#f1-L12).
(function () {
  "use strict";
  var data = window.linewiseData || {};
  var procs = data.procs, bylines = data.bylines || {};
  if (!procs) { return; }
  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function entry(tr) {
    var m = /^(f\d+)-L(\d+)$/.exec(tr.id || "");
    return m && bylines[m[1]] && bylines[m[1]][m[2]];
  }
  function mark(root) {
    Array.prototype.forEach.call(root.querySelectorAll("table.lines tr[id]"), function (tr) {
      if (entry(tr)) { tr.classList.add("has-procs"); tr.title = "what each process counted"; }
    });
  }
  function toggle(tr) {
    var next = tr.nextElementSibling;
    if (next && next.classList.contains("procs")) { next.remove(); tr.classList.remove("procs-open"); return; }
    var rows = entry(tr).map(function (e) {
      var p = e[0] >= 0 ? procs[e[0]] : null;
      var who = p ? "pid " + esc(p[0]) + " " + esc(p[1]) + (p[2] ? " of " + esc(p[2]) : "")
        : "(other runs)";
      return "<tr><td class=\"num\">" + e[1] + "</td><td class=\"num\">" + esc(e[2]) +
        "</td><td class=\"left\">" + who + "</td><td class=\"left\"><code>" +
        (p ? esc(p[3]) : "") + "</code></td></tr>";
    }).join("");
    tr.insertAdjacentHTML("afterend", '<tr class="procs"><td></td><td colspan="6">' +
      '<table class="procs"><thead><tr><th>Hits</th><th>Time</th><th class="left">Process' +
      '</th><th class="left">Command</th></tr></thead><tbody>' + rows +
      "</tbody></table></td></tr>");
    tr.classList.add("procs-open");
  }
  mark(document);
  function openTarget() {  // a link to a line shows what each process counted on it
    var tr = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (tr && tr.classList.contains("has-procs") && !tr.classList.contains("procs-open")) {
      toggle(tr);
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  document.addEventListener("lw-rendered", function (event) { mark(event.target); });
  document.addEventListener("click", function (event) {
    var tr = event.target.closest && event.target.closest("table.lines tr.has-procs");
    if (tr) { toggle(tr); }
  });
})();
