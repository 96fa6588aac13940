// The issue workflow on the map, for signed-in users: record an issue where you tap, and move
// an issue through the six steps from its popup. It uses the same JSON API as any client;
// every text from data is escaped (GridMap.esc) before it reaches innerHTML.
var Workflow = (function () {
  "use strict";
  var cfg, map, choices = null, recording = false, banner = null;
  var RECORDERS = ["grid_leader", "community_staff", "deputy", "admin"];
  var ADVANCERS = ["grid_leader", "community_staff", "admin"];
  var esc = MapKit.esc;
  var S = function (k) { return cfg.strings[k] || k; };

  function api(method, url, body, headers) {
    var options = {method: method, headers: Object.assign({"X-CSRFToken": cfg.user.csrf}, headers || {})};
    if (body instanceof FormData) options.body = body;
    else if (body) { options.body = JSON.stringify(body); options.headers["Content-Type"] = "application/json"; }
    return fetch(url, options).then(function (r) {
      return r.json().then(function (b) { return {status: r.status, body: b}; });
    });
  }

  function options(list, selected) {
    return list.map(function (x) {
      return "<option value='" + esc(x.code) + "'" + (x.code === selected ? " selected" : "") + ">" +
        esc(cfg.lang === "en" ? x.name_en : x.name_zh) + "</option>";
    }).join("");
  }

  function stageName(code) {
    var s = choices.stages.filter(function (x) { return x.code === code; })[0];
    return s ? (cfg.lang === "en" ? s.name_en : s.name_zh) : code;
  }

  // Record: a banner says to tap the map (with a cancel); the next tap opens the form there.
  function startRecording() {
    recording = true;
    map.closePopup();
    if (window.Phone) Phone.hide();
    L.DomUtil.addClass(map.getContainer(), "gm-recording");
    if (!banner) {
      banner = L.DomUtil.create("div", "gm-banner", map.getContainer());
      banner.setAttribute("role", "status");
      banner.innerHTML = "<span>" + esc(S("pickPoint")) + "</span> · <button type='button' class='gm-banner-cancel'>" +
        esc(S("cancel")) + "</button>";
      L.DomEvent.disableClickPropagation(banner);
      banner.querySelector("button").addEventListener("click", stopRecording);
    }
    banner.hidden = false;
  }

  function stopRecording() {
    recording = false;
    L.DomUtil.removeClass(map.getContainer(), "gm-recording");
    if (banner) banner.hidden = true;
  }

  function recordForm(latlng) {
    stopRecording();
    var html = "<form class='card gm-record'><h4>" + esc(S("newIssue")) + "</h4>" +
      "<label>" + esc(S("category")) + " <select name='category'>" + options(choices.categories) + "</select></label>" +
      "<label>" + esc(S("channel")) + " <select name='channel'>" + options(choices.channels) + "</select></label>" +
      "<label>" + esc(S("issueTitle")) + " <input name='title' required maxlength='100'></label>" +
      "<label>" + esc(S("description")) + " <textarea name='description' rows='2' maxlength='2000'></textarea></label>" +
      "<label>" + esc(S("reporter")) + " <input name='reporter_name' maxlength='30'></label>" +
      "<label>" + esc(S("phone")) + " <input name='reporter_phone' type='tel'></label>" +
      "<label>" + esc(S("photo")) + " <input name='photo' type='file' accept='image/jpeg,image/png'></label>" +
      "<input type='hidden' name='lon' value='" + latlng.lng.toFixed(6) + "'>" +
      "<input type='hidden' name='lat' value='" + latlng.lat.toFixed(6) + "'>" +
      (cfg.gcj02 ? "<input type='hidden' name='crs' value='gcj02'>" : "") +
      "<p class='gm-error' role='alert'></p><button type='submit'>" + esc(S("submit")) + "</button></form>";
    var form = MapKit.element(html).firstChild;
    // (on a desk: wide enough for its fields, and panned clear of the controls at both sides)
    var popup = L.popup({maxWidth: 320, minWidth: 260, autoPanPaddingTopLeft: [280, 60], autoPanPaddingBottomRight: [280, 40]})
      .setLatLng(latlng).setContent(form).openOn(map);
    L.DomEvent.disableClickPropagation(form);
    // The outbox gives the record its idempotency key and keeps it when the network is gone.
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = new FormData(form), button = form.querySelector("button[type=submit]");
      if (!form.photo.files.length) data.delete("photo");
      button.disabled = true;
      Outbox.send({url: "/api/issues", method: "POST", body: data, kind: "issue", label: data.get("title")}).then(function (res) {
        button.disabled = false;
        if (res.queued) popup.setContent("<p class='gm-queued' data-key='" + esc(res.key) + "'>" + esc(S("queued")) + "</p>");
        else if (res.error) form.querySelector(".gm-error").textContent = res.error;
        else {
          GridMap.refreshIssues();
          popup.setContent(MapKit.element("<p class='gm-done' data-issue='" + esc(res.id) + "'>" + esc(S("recorded")) + " #" + esc(res.id) +
            "</p><p><a class='gm-open-issue' href='/?issue=" + esc(res.id) + "' data-issue='" + esc(res.id) + "'>" +
            esc(S("showIssue")) + "</a></p>"));
        }
      });
    });
  }

  // The step form: what the next stage needs (a meeting, the result, the satisfaction).
  // The consult step links a meeting: one of the community's recent meetings, or its number.
  function meetingField(issue) {
    var recent = issue.recent_meetings || [];
    if (!recent.length) return "<label>" + esc(S("meetingId")) + " <input name='meeting_id' type='number' required></label>";
    return "<label>" + esc(S("meetingId")) + " <select name='meeting_id' required>" + recent.map(function (m) {
      return "<option value='" + esc(m.id) + "'>" + esc(m.held_on) + " " + esc(m.title) + " (" + esc(m.venue) + ")</option>";
    }).join("") + "</select></label>";
  }

  function stepFields(next, issue) {
    if (next === "consult") return meetingField(issue);
    if (next === "publish") return "<label>" + esc(S("result")) + " <textarea name='result' rows='2' required></textarea></label>";
    if (next === "feedback") return "<label>" + esc(S("satisfaction")) + " <select name='satisfaction'>" +
      ["satisfied", "mostly_satisfied", "unsatisfied"].map(function (code) {
        return "<option value='" + code + "'>" + esc(S(code)) + "</option>";
      }).join("") + "</select></label>";
    return "";
  }

  var ORDER = ["reported", "topic", "notice", "consult", "implement", "publish", "feedback", "closed"];

  function issueActions(issueId, container, done) {
    api("GET", "/api/issues/" + issueId).then(function (res) {
      if (res.status !== 200) return;  // outside the user's area: nothing to do here
      var i = res.body, next = ORDER[ORDER.indexOf(i.stage) + 1];
      var open = ORDER.indexOf(i.stage) >= 0 && i.stage !== "closed";
      var html = "<div class='gm-actions' data-issue='" + esc(i.id) + "' data-version='" + esc(i.version) + "'>" +
        "<p>" + esc(i.description) + "</p>" +
        (i.reporter_name ? "<p>" + esc(S("reporter")) + S("colon") + esc(i.reporter_name) + " " +
         (i.reporter_phone ? "<a href='tel:" + esc(i.reporter_phone) + "'>" + esc(i.reporter_phone) + "</a>" : "") + "</p>" : "");
      if (open && ADVANCERS.indexOf(cfg.user.role) >= 0) {
        html += "<form class='gm-step'>" + stepFields(next, i) +
          "<label>" + esc(S("note")) + " <input name='note'></label>" +
          "<button type='submit' name='to' value='" + esc(next) + "'>→ " + esc(stageName(next)) + "</button>" +
          "<details><summary>" + esc(S("endIssue")) + "</summary>" +
          "<label>" + esc(S("reason")) + " <input name='reason'></label>" +
          "<button type='button' class='gm-reject'>" + esc(stageName("rejected")) + "</button></details>" +
          "<p class='gm-error' role='alert'></p></form>";
      }
      if (open && cfg.user.role === "deputy") html += "<button type='button' class='gm-claim'>" + esc(S("claim")) + "</button>";
      container.innerHTML = (done || "") + html + "</div>";
      var form = container.querySelector(".gm-step");
      if (form) {
        L.DomEvent.disableClickPropagation(form);
        var send = function (to) {
          var body = {to: to, version: i.version, note: form.note.value};
          if (form.meeting_id) body.meeting_id = parseInt(form.meeting_id.value, 10);
          if (form.result) body.result = form.result.value;
          if (form.satisfaction) body.satisfaction = form.satisfaction.value;
          if (to === "rejected") body.reason = form.reason.value;
          api("POST", "/api/issues/" + i.id + "/advance", body).then(function (r) {
            if (r.status === 200) {
              GridMap.issueChanged(i.id, r.body.stage);
              issueActions(issueId, container, "<p class='gm-done' data-stage='" + esc(r.body.stage) + "'>" +
                esc(S("nowAt")) + " " + esc(stageName(r.body.stage)) + "</p>");
            } else form.querySelector(".gm-error").textContent = r.body.error;
          });
        };
        form.addEventListener("submit", function (e) { e.preventDefault(); send(next); });
        form.querySelector(".gm-reject").addEventListener("click", function () { send("rejected"); });
      }
      var claim = container.querySelector(".gm-claim");
      if (claim) claim.addEventListener("click", function () {
        api("POST", "/api/issues/" + i.id + "/claim", {}).then(function (r) {
          claim.replaceWith(document.createTextNode(r.status === 201 ? S("claimed") : r.body.error));
        });
      });
    });
  }

  function addRecordButton() {
    if (RECORDERS.indexOf(cfg.user.role) < 0) return;
    var control = MapKit.control(map, "topleft", "gm-record-control", function (div) {
      div.innerHTML = "<button type='button'>+ " + esc(S("newIssue")) + "</button>";
      div.querySelector("button").addEventListener("click", startRecording);
    });
    if (window.Phone) Phone.adopt(control, "record");   // on a phone: in the bar at the bottom
  }

  return {
    start: function (config, leafletMap) {
      cfg = config; map = leafletMap;
      if (!cfg.user) return;
      fetch("/api/choices").then(function (r) { return r.json(); }).then(function (c) {
        choices = c;
        addRecordButton();
        document.documentElement.setAttribute("data-workflow", "ready");
      });
    },
    // The map's click handler asks first: is this tap the location of a new issue?
    takeClick: function (latlng) {
      if (!recording || !choices) return false;
      recordForm(latlng);
      return true;
    },
    issueActions: function (issueId, container) { if (cfg.user && choices) issueActions(issueId, container); },
    startRecording: startRecording, stopRecording: stopRecording
  };
})();
