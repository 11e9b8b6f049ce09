// A stand-in, written for this project, for the little of jQuery, Bootstrap and bootstrap-table that Great
// Expectations' Data Docs pages call from their inline scripts: the pages' links to those libraries point at CDNs
// and are removed (expectations/data_docs.py), so the pages work from disk with no network.
(function () {
  var handlers = {};  // "element id + event" -> callbacks, for the index table's row clicks

  function Selection(nodes) { this.nodes = nodes; }
  Selection.prototype.each = function (callback) {
    this.nodes.forEach(function (node, index) { callback(index, node); });
    return this;
  };
  Selection.prototype.parent = function () {
    return new Selection(this.nodes.map(function (n) { return n.parentElement; }).filter(Boolean));
  };
  Selection.prototype.fadeIn = function () { this.nodes.forEach(function (n) { n.style.display = ""; }); return this; };
  Selection.prototype.fadeOut = function () { this.nodes.forEach(function (n) { n.style.display = "none"; }); return this; };
  Selection.prototype.modal = function () { return this; };  // the walkthrough dialog stays closed
  Selection.prototype.removeClass = function (name) {
    this.nodes.forEach(function (n) { n.classList.remove(name); });
    return this;
  };
  Selection.prototype.data = function (key) { return this.nodes.length ? this.nodes[0].getAttribute("data-" + key) : undefined; };
  Selection.prototype.ready = function (callback) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", callback); } else { callback(); }
    return this;
  };
  Selection.prototype.on = function (event, callback) {
    this.nodes.forEach(function (n) { (handlers[n.id + " " + event] = handlers[n.id + " " + event] || []).push(callback); });
    return this;
  };
  // The index page's table of validation results: one row per result, newest first, a click opens its page.
  Selection.prototype.bootstrapTable = function (options) {
    if (typeof options !== "object") { return this; }  // filters and search are not offered offline
    this.nodes.forEach(function (table) {
      var columns = options.columns, rows = options.data.slice();
      var key = options.sortName === "run_time" ? "_run_time_sort" : options.sortName;
      if (key) { rows.sort(function (a, b) { return a[key] < b[key] ? 1 : a[key] > b[key] ? -1 : 0; }); }
      var head = "<thead><tr>" + columns.map(function (c) { return "<th>" + c.title + "</th>"; }).join("") + "</tr></thead>";
      table.innerHTML = head + "<tbody></tbody>";
      rows.forEach(function (row) {
        var tr = document.createElement("tr");
        tr.className = "clickable-row";
        tr.setAttribute("data-href", row._table_row_link_path);
        tr.innerHTML = columns.map(function (c) { return "<td>" + (row[c.field] == null ? "" : row[c.field]) + "</td>"; }).join("");
        tr.addEventListener("click", function (event) {
          (handlers[table.id + " click-row.bs.table"] || []).forEach(function (h) { h(event, row, new Selection([tr])); });
        });
        table.tBodies[0].appendChild(tr);
      });
    });
    return this;
  };

  window.$ = window.jQuery = function (target) {
    if (typeof target !== "string") { return new Selection([target]); }
    try { return new Selection(Array.prototype.slice.call(document.querySelectorAll(target))); }
    catch (error) { return new Selection([]); }  // a selector the browser's engine does not take
  };

  // Bootstrap's collapse toggles ("Show more info..."), through their data attributes.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest('[data-toggle="collapse"]');
    if (!toggle) { return; }
    event.preventDefault();
    var target = document.querySelector(toggle.getAttribute("data-target") || toggle.getAttribute("href"));
    if (target) { target.classList.toggle("show"); }
  });
})();
