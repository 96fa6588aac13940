// The 电子底册 page: saves and retirements go through the contacts API with the row's
// version, so a stale edit comes back as a 409 and nothing is overwritten.
(function () {
  "use strict";
  var token = document.querySelector("meta[name=csrf-token]").content;
  var message = document.getElementById("message");

  function send(method, url, body) {
    return fetch(url, {method: method, headers: {"Content-Type": "application/json", "X-CSRFToken": token},
                       body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); });
  }

  document.querySelectorAll("tr[data-id]").forEach(function (row) {
    var id = row.getAttribute("data-id");
    function version() { return parseInt(row.getAttribute("data-version"), 10); }
    var save = row.querySelector(".save"), retire = row.querySelector(".retire");
    if (save) save.addEventListener("click", function () {
      send("PATCH", "/api/contacts/" + id, {
        name: row.querySelector("input[name=name]").value,
        phone: row.querySelector("input[name=phone]").value,
        version: version()
      }).then(function (res) {
        if (res[0] === 200) { row.setAttribute("data-version", res[1].version); message.textContent = ""; row.classList.add("saved"); }
        else message.textContent = res[1].error;
      });
    });
    if (retire) retire.addEventListener("click", function () {
      send("POST", "/api/contacts/" + id + "/retire", {version: version()}).then(function (res) {
        if (res[0] === 200) row.remove(); else message.textContent = res[1].error;
      });
    });
  });
})();
