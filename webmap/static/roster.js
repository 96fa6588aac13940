// The 电子底册 page: saves, retirements and their undo go through the contacts API with the
// row's version, so a stale edit comes back as a 409 and nothing is overwritten. Every
// outcome is reported in the row it concerns, not at the top of the page.
(function () {
  "use strict";
  var token = document.querySelector("meta[name=csrf-token]").content;
  var table = document.querySelector("table.heads");
  if (!table) return;
  var text = function (key) { return table.getAttribute("data-" + key + "-text"); };

  function send(method, url, body) {
    return fetch(url, {method: method, headers: {"Content-Type": "application/json", "X-CSRFToken": token},
                       body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); })
      .catch(function () { return [0, {error: text("failed")}]; });
  }

  table.querySelectorAll("tr[data-id]").forEach(function (row) {
    var id = row.getAttribute("data-id");
    var status = row.querySelector(".status");
    var el = function (sel) { return row.querySelector(sel); };
    function version() { return parseInt(row.getAttribute("data-version"), 10); }
    function report(ok, message) {
      status.textContent = message;
      status.className = "status " + (ok ? "ok" : "error");
      status.setAttribute("role", ok ? "status" : "alert");
    }
    function show(sel, visible) { var e = el(sel); if (e) e.hidden = !visible; }
    function serving(yes) {
      row.classList.toggle("retired", !yes);
      row.querySelectorAll("input").forEach(function (i) { i.disabled = !yes; });
      show(".save", yes); show(".retire", yes); show(".confirm", false); show(".unretire", !yes);
    }
    function done(res, message, after) {
      if (res[0] === 200) {
        row.setAttribute("data-version", res[1].version);
        if (after) after();
        report(true, message);
      } else report(false, res[1].error);
    }
    row.querySelectorAll("input").forEach(function (i) {
      i.addEventListener("input", function () { status.textContent = ""; });
    });
    var save = el(".save");
    if (!save) return;
    save.addEventListener("click", function () {
      save.disabled = true;
      send("PATCH", "/api/contacts/" + id, {
        name: el("input[name=name]").value, phone: el("input[name=phone]").value, version: version()
      }).then(function (res) {
        save.disabled = false;
        done(res, text("saved"), function () { el("input[name=phone]").value = res[1].phone; });
      });
    });
    el(".retire").addEventListener("click", function () {
      show(".save", false); show(".retire", false); show(".confirm", true);
      el(".confirm-retire").focus();
    });
    el(".cancel").addEventListener("click", function () { serving(true); });
    el(".confirm-retire").addEventListener("click", function () {
      send("POST", "/api/contacts/" + id + "/retire", {version: version()}).then(function (res) {
        if (res[0] === 200) done(res, text("retired"), function () { serving(false); });
        else { serving(true); report(false, res[1].error); }
      });
    });
    el(".unretire").addEventListener("click", function () {
      send("POST", "/api/contacts/" + id + "/unretire", {version: version()}).then(function (res) {
        done(res, text("unretired"), function () { serving(true); });
      });
    });
  });
})();
