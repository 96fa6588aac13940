// Patrols (巡查打卡) on the map: a form for one compound, opened from its card or from 我的范围.
// It takes the phone's position (or, when location is denied, a point tapped on the map, which
// the server stores flagged as placed by hand), a note, an optional photo, and "nothing found"
// or the issues recorded during the visit (an issue recorded while the form is open is linked).
// Sent through the offline outbox when the page has one, else straight to POST /api/patrols
// with an idempotency key, so a resend never records the visit twice.
var Patrol = (function () {
  "use strict";
  var cfg = null, map = null, sheet = null, visit = null, marker = null, watcher = null;
  var ROLES = ["grid_leader", "community_staff", "admin"];
  var esc = MapKit.esc;
  function S(k) { return (cfg.patrol || {})[k] || k; }
  function can() { return !!(cfg && cfg.user && ROLES.indexOf(cfg.user.role) >= 0); }


  function since(days) {
    if (days === null || days === undefined) return S("never");
    return (days === 1 ? S("daysAgoOne") : S("daysAgo")).replace("{n}", days);
  }

  function q(sel) { return sheet.querySelector(sel); }

  function showPosition() {
    var pos = q(".patrol-pos");
    pos.classList.toggle("manual", visit.manual);
    if (visit.picking) pos.textContent = S("tapMap");
    else if (visit.lat === null) pos.textContent = visit.denied ? S("denied") : S("locating");
    else pos.textContent = (visit.manual ? S("manualAt") : S("gpsAt").replace("{n}", Math.round(visit.accuracy || 0))) +
      " " + visit.lat.toFixed(5) + ", " + visit.lon.toFixed(5);
    q(".patrol-manual").hidden = !visit.denied && !visit.manual;
    q(".patrol-cancel-pick").hidden = !visit.picking;
    sheet.classList.toggle("picking", visit.picking);
  }

  function showIssues() {
    q(".patrol-issues").innerHTML = visit.issueIds.map(function (id) {
      return "<li data-issue='" + esc(id) + "'>#" + esc(id) + "</li>";
    }).join("") + visit.issueKeys.map(function (key) {
      return "<li class='queued' data-key='" + esc(key) + "'>" + esc(S("issueQueued")) + "</li>";
    }).join("");
    var none = q("input[name=nothing_found]"), found = visit.issueIds.length + visit.issueKeys.length;
    if (found) none.checked = false;
    none.disabled = found > 0;
  }

  function locate() {
    if (!navigator.geolocation) { visit.denied = true; showPosition(); return; }
    watcher = navigator.geolocation.watchPosition(function (p) {
      if (!visit || visit.manual) return;
      visit.lat = p.coords.latitude; visit.lon = p.coords.longitude; visit.accuracy = p.coords.accuracy;
      visit.denied = false;
      showPosition();
    }, function () {
      if (!visit || visit.manual) return;
      visit.denied = true;
      showPosition();
    }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 30000});
  }

  function close() {
    if (watcher !== null && navigator.geolocation) navigator.geolocation.clearWatch(watcher);
    watcher = null;
    if (marker) { map.removeLayer(marker); marker = null; }
    if (sheet) sheet.remove();
    sheet = null; visit = null;
  }

  function open(compound) {
    if (!can()) return;
    close();
    map.closePopup();
    visit = {compound: compound, lat: null, lon: null, accuracy: null, manual: false, denied: false,
             picking: false, issueIds: [], issueKeys: [], key: MapKit.newKey(), sent: false};
    sheet = L.DomUtil.create("div", "patrol-sheet", document.body);
    sheet.setAttribute("role", "dialog");
    sheet.setAttribute("data-compound", compound.id);
    sheet.innerHTML =
      "<form class='patrol-form'><h3>" + esc(S("title")) + " · <span class='data'>" + esc(compound.name) + "</span></h3>" +
      "<p class='patrol-pos' aria-live='polite'></p>" +
      "<p><button type='button' class='patrol-manual' hidden>" + esc(S("pickOnMap")) + "</button>" +
      "<button type='button' class='patrol-cancel-pick' hidden>" + esc(S("cancel")) + "</button></p>" +
      "<label>" + esc(S("note")) + "<textarea name='note' rows='2' maxlength='2000'></textarea></label>" +
      "<label>" + esc(S("photo")) + "<input name='photo' type='file' accept='image/jpeg,image/png' capture='environment'></label>" +
      "<label class='patrol-check'><input type='checkbox' name='nothing_found' checked> " + esc(S("nothingFound")) + "</label>" +
      "<p>" + esc(S("issues")) + "</p><ul class='patrol-issues'></ul>" +
      "<p><button type='button' class='patrol-record'>+ " + esc(S("recordIssue")) + "</button></p>" +
      "<p class='patrol-error' role='alert'></p><p class='patrol-done' aria-live='polite'></p>" +
      "<p class='patrol-buttons'><button type='submit' class='patrol-submit'>" + esc(S("submit")) + "</button> " +
      "<button type='button' class='patrol-close'>" + esc(S("close")) + "</button></p></form>";
    var form = q("form");
    q(".patrol-close").addEventListener("click", close);
    q(".patrol-manual").addEventListener("click", function () { visit.picking = true; showPosition(); });
    q(".patrol-cancel-pick").addEventListener("click", function () { visit.picking = false; showPosition(); });
    // An issue recorded while the form is open is one found on this visit: the record
    // control's next tap places it, and its confirmation links it here: by its id (data-issue)
    // when it was stored, by its record's idempotency key (data-key) when it waits offline.
    // Meanwhile the form steps aside (the map and the record form need the screen) and comes
    // back with the confirmation, or when the record is cancelled or its form closed.
    q(".patrol-record").addEventListener("click", function () {
      if (!window.Workflow || !Workflow.startRecording) return;
      Workflow.startRecording();   // (closes the popup open now: not the record form's)
      visit.linking = true;
      sheet.classList.add("waiting");
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); submit(form); });
    showPosition();
    showIssues();
    locate();
  }

  function payload(form) {
    var data = new FormData();
    data.append("compound_id", visit.compound.id);
    if (visit.lat !== null) {
      data.append("lon", visit.lon.toFixed(6));
      data.append("lat", visit.lat.toFixed(6));
      if (visit.manual && cfg.gcj02) data.append("crs", "gcj02");   // tapped on a Gaode basemap
    }
    data.append("placed_manually", visit.manual ? "true" : "false");
    data.append("nothing_found", form.nothing_found.checked ? "true" : "false");
    data.append("issue_ids", visit.issueIds.join(","));
    data.append("issue_keys", visit.issueKeys.join(","));
    data.append("note", form.note.value);
    data.append("visited_at", new Date().toISOString());
    if (form.photo.files.length) data.append("photo", form.photo.files[0]);
    return data;
  }

  function send(data) {
    if (window.Outbox) {
      return Outbox.send({url: "/api/patrols", method: "POST", body: data, kind: "patrol",
                          label: S("title") + " · " + visit.compound.name})
        .then(function (body) {   // the server's JSON, {queued: true}, or {error, status} when refused
          return {status: body && body.queued ? 202 : body && body.error ? (body.status || 400) : 201, body: body};
        });
    }
    return fetch("/api/patrols", {method: "POST", body: data,
                                  headers: {"X-CSRFToken": cfg.user.csrf, "Idempotency-Key": visit.key}})
      .then(function (r) { return r.json().then(function (b) { return {status: r.status, body: b}; }); });
  }

  function submit(form) {
    if (visit.sent) return;
    var error = q(".patrol-error"), done = q(".patrol-done"), button = q(".patrol-submit");
    error.textContent = "";
    if (visit.lat === null && !visit.manual) {
      if (!visit.denied) { error.textContent = S("waitGps"); return; }
      visit.manual = true;   // location denied and no point tapped: recorded without a position, flagged
    }
    button.disabled = true;
    send(payload(form)).then(function (res) {
      button.disabled = false;
      if (res.status === 202) { visit.sent = true; done.textContent = S("queued"); return; }
      if (res.status === 201 || res.status === 200) {
        visit.sent = true;
        sheet.setAttribute("data-patrol", res.body.id);
        done.textContent = S("recorded") + " #" + res.body.id + (res.body.placed_manually ? " · " + S("flagged") : "");
        button.hidden = true;
        if (window.GridMap) GridMap.refreshIssues();
        return;
      }
      // Refused: nothing was stored; the corrected form is a new request with a new key.
      visit.key = MapKit.newKey();
      error.textContent = (res.body && res.body.error) || S("error");
    }).catch(function () {
      button.disabled = false;   // the same key on the resend: stored at most once
      error.textContent = S("error");
    });
  }

  // The map's click handler asks first: is this tap the hand-placed position of the visit?
  function takeClick(latlng) {
    if (!visit || !visit.picking) return false;
    visit.picking = false; visit.manual = true;
    visit.lat = latlng.lat; visit.lon = latlng.lng;
    if (marker) map.removeLayer(marker);
    marker = L.circleMarker(latlng, {radius: 8, color: "#7c3aed", weight: 3, fillOpacity: 0.3}).addTo(map);
    showPosition();
    return true;
  }

  function resume() {
    if (!visit) return;
    visit.linking = false;
    sheet.classList.remove("waiting");
  }

  function watchRecords() {
    // recording cancelled (the banner's cancel): no tap mode and no record form
    new MutationObserver(function () {
      if (visit && visit.linking && !L.DomUtil.hasClass(map.getContainer(), "gm-recording") &&
          !document.querySelector(".gm-record")) resume();
    }).observe(map.getContainer(), {attributes: true, attributeFilter: ["class"]});
    // the record form closed before its confirmation came (which ends the linking)
    map.on("popupclose", function () { if (visit && visit.linking) resume(); });
    new MutationObserver(function (changes) {
      if (!visit || !visit.linking) return;
      changes.forEach(function (change) {
        Array.prototype.forEach.call(change.addedNodes, function (node) {
          var sel = ".gm-done[data-issue], .gm-queued[data-key]";
          var done = node.nodeType === 1 && (node.matches(sel) ? node : node.querySelector(sel));
          if (!done) return;
          if (done.hasAttribute("data-issue")) {
            var id = +done.getAttribute("data-issue");
            if (visit.issueIds.indexOf(id) < 0) visit.issueIds.push(id);
          } else {
            var key = done.getAttribute("data-key");
            if (visit.issueKeys.indexOf(key) < 0) visit.issueKeys.push(key);
          }
          resume();
          showIssues();
        });
      });
    }).observe(document.body, {childList: true, subtree: true});
  }

  // The action on a compound's card (the popup), for those who patrol.
  function decorateCard(card, compound) {
    if (!can() || !card || card.querySelector(".patrol-open")) return;
    var p = L.DomUtil.create("p", "patrol-action", card);
    p.innerHTML = "<button type='button' class='patrol-open'>" + esc(S("title")) + "</button>";
    p.querySelector("button").addEventListener("click", function () { open(compound); });
  }

  // 我的范围: days since the last visit and the action, per compound.
  function myAreaItem(c) {
    return "<br><small class='patrol-since" + (c.days_since_patrol === null ? " never" : "") + "'>" +
      esc(S("lastPatrol")) + esc(since(c.days_since_patrol)) + "</small>" +
      (can() ? " <button type='button' class='patrol-open' data-id='" + esc(c.id) + "'>" + esc(S("title")) + "</button>" : "");
  }

  function bindMyArea(body, compounds) {
    Array.prototype.forEach.call(body.querySelectorAll(".patrol-open[data-id]"), function (button) {
      button.addEventListener("click", function (e) {
        e.preventDefault();
        var c = compounds.filter(function (x) { return String(x.id) === button.getAttribute("data-id"); })[0];
        map.fitBounds([[c.miny, c.minx], [c.maxy, c.maxx]], {maxZoom: 18});
        open({id: c.id, name: c.name});
      });
    });
  }

  return {
    start: function (config, leafletMap) { cfg = config; map = leafletMap; if (can()) watchRecords(); },
    open: open, close: close, takeClick: takeClick, decorateCard: decorateCard, can: can,
    myAreaItem: myAreaItem, bindMyArea: bindMyArea
  };
})();
