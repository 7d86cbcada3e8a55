(function () {
  "use strict";
  var root = document.documentElement;
  window.addEventListener("error", function (event) {
    root.setAttribute("data-js-error", String(event.message || event));
  });
  var funcs = Array.prototype.slice.call(document.querySelectorAll("details.func"));
  var rows = {};
  Array.prototype.forEach.call(document.querySelectorAll("[data-func]"), function (row) {
    (rows[row.getAttribute("data-func")] = rows[row.getAttribute("data-func")] || []).push(row);
  });
  var search = document.getElementById("search");
  var count = document.getElementById("match-count");
  var noMatch = document.getElementById("no-match");
  var texts = funcs.map(function (f) {
    // a collapsed function's rows may not exist yet: lazy.js gives their text
    return (f.getAttribute("data-search") + "\n" + (f.lwText ? f.lwText() : f.textContent))
      .toLowerCase();
  });
  var more = document.getElementById("more-funcs");  // the function list past its top rows
  var showAll = document.getElementById("show-all-funcs");
  function showMore() {
    if (more) { more.hidden = false; }
    if (showAll) { showAll.parentNode.hidden = true; }
  }
  if (showAll) { showAll.addEventListener("click", showMore); }
  function filter() {
    var q = search.value.trim().toLowerCase();
    var shown = 0;
    if (q) { showMore(); }
    funcs.forEach(function (f, i) {
      var hit = !q || texts[i].indexOf(q) !== -1;
      f.hidden = !hit;
      (rows[f.id] || []).forEach(function (r) { r.hidden = !hit; });
      if (hit) { shown += 1; if (q) { f.open = true; } }
    });
    count.textContent = q ? shown + " of " + funcs.length + " functions" : "";
    noMatch.hidden = shown !== 0;
  }
  search.addEventListener("input", filter);
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && document.activeElement !== search) {
      event.preventDefault();
      search.focus();
    } else if (event.key === "Escape" && document.activeElement === search) {
      search.value = "";
      filter();
    }
  });
  function setAll(open) {
    funcs.forEach(function (f) { if (!f.hidden) { f.open = open; } });
  }
  document.getElementById("expand-all").addEventListener("click", function () { setAll(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { setAll(false); });
  var ownSwitch = document.getElementById("own-switch");  // time <-> own time
  if (ownSwitch) {
    ownSwitch.addEventListener("click", function () {
      var on = document.body.classList.toggle("show-own");
      ownSwitch.setAttribute("aria-pressed", on ? "true" : "false");
      ownSwitch.textContent = on ? "Show time" : "Show own time";
    });
  }
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    var f = target.closest("details.func");
    if (f) { f.hidden = false; f.open = true; target.scrollIntoView(); }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  var given = new URLSearchParams(location.search).get("q");  // page.html?q=text filters
  if (given) { search.value = given; }
  filter();
  root.setAttribute("data-js-ready", "1");
})();
