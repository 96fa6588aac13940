// Record a meeting through POST /api/meetings; the platform list follows the chosen venue.
(function () {
  "use strict";
  var form = document.getElementById("meeting");
  var token = document.querySelector("meta[name=csrf-token]").content;
  var message = document.getElementById("message");

  function platforms() {
    var option = form.venue_id.selectedOptions[0];
    var list = option ? JSON.parse(option.getAttribute("data-platforms")) : [];
    form.platform.innerHTML = "";
    list.forEach(function (p) {
      var o = document.createElement("option");
      o.value = p.code; o.textContent = p.name;
      form.platform.appendChild(o);
    });
  }
  form.venue_id.addEventListener("change", platforms);
  platforms();
  var now = new Date();  // today in the browser's time zone, not UTC's
  form.held_on.value = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);

  var saved = new URLSearchParams(window.location.search).get("saved");
  var row = saved && document.querySelector("tr[data-meeting='" + parseInt(saved, 10) + "']");
  if (row) row.classList.add("saved");

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = {
      venue_id: parseInt(form.venue_id.value, 10), platform: form.platform.value,
      held_on: form.held_on.value, title: form.title.value,
      attendee_count: parseInt(form.attendee_count.value, 10), minutes: form.minutes.value,
      attendee_kinds: Array.prototype.map.call(form.querySelectorAll("[name=attendee_kinds]:checked"), function (c) { return c.value; }),
      issue_ids: Array.prototype.map.call(form.issue_ids.selectedOptions, function (o) { return parseInt(o.value, 10); })
    };
    fetch("/api/meetings", {method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": token},
                            body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); })
      .then(function (res) {
        // Reload to list it, saying so beside the form and marking its row.
        if (res[0] === 201) window.location.assign(window.location.pathname + "?saved=" + res[1].id);
        else message.textContent = res[1].error;
      });
  });
})();
