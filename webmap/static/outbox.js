// The outbox: records made on the phone (issues, patrols) are sent exactly once, network or not.
//
//   Outbox.send({url, method, body, kind, label}) → Promise of the server's JSON answer,
//   {queued: true, key} when it could not be sent now (key: the record's idempotency key), or {error, status} when the server refused.
//
// Each record goes into IndexedDB first, with an idempotency key made here on the device;
// every send of it carries that key (header Idempotency-Key), so the server stores it once
// however often it arrives. Queued records go out when the network returns (the online event)
// and when a page loads. A refusal of a queued record (4xx: outside the subdistrict, session
// ended, photo too big) stays on it with the server's message, listed under the "待同步 N"
// badge, to be corrected and retried or deleted; a 5xx or no network keeps it for later.
var Outbox = (function () {
  "use strict";
  var DB = "gridmap-outbox", STORE = "items";
  var cfg = null, map = null, opened = null, syncing = null, badge = null, panel = null;
  var esc = MapKit.esc;
  var S = function (k) { return (cfg && cfg.strings[k]) || k; };

  function database() {
    opened = opened || new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, {keyPath: "key"}); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
    return opened;
  }

  function store(mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), req = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(req.result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function items() {
    return store("readonly", function (s) { return s.getAll(); }).then(function (all) {
      return all.sort(function (a, b) { return a.created - b.created; });
    });
  }
  function put(item) { return store("readwrite", function (s) { return s.put(item); }).then(changed); }
  function remove(key) { return store("readwrite", function (s) { return s.delete(key); }).then(changed); }


  function user() { return cfg && cfg.user ? cfg.user.name : null; }

  // One try. 2xx: sent, gone from the queue. 4xx: refused; from a form the message goes back
  // to the form (which still holds the record), a queued record keeps it. Else: kept.
  function deliver(item, fromForm) {
    var headers = {"Idempotency-Key": item.key, "Accept": "application/json"};
    if (cfg && cfg.user) headers["X-CSRFToken"] = cfg.user.csrf;
    var body;
    if (item.form) {
      body = new FormData();
      item.form.forEach(function (pair) { body.append(pair[0], pair[1]); });
    } else {
      body = JSON.stringify(item.json || {});
      headers["Content-Type"] = "application/json";
    }
    return fetch(item.url, {method: item.method, headers: headers, body: body, credentials: "same-origin"})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) { return {status: r.status, body: b}; });
      })
      .then(function (res) {
        if (res.status < 300) return remove(item.key).then(function () { return res.body; });
        if (res.status >= 500) return {queued: true};
        var refusal = {error: res.body.error || ("HTTP " + res.status), status: res.status};
        if (res.status === 401 && window.Offline) Offline.wipe();
        if (fromForm) return remove(item.key).then(function () { return refusal; });
        item.state = "refused";
        item.error = refusal.error;
        item.status = res.status;
        return put(item).then(function () { return refusal; });
      }, function () { return {queued: true}; });
  }

  function send(request) {
    var item = {key: MapKit.newKey(), url: request.url, method: request.method || "POST", kind: request.kind,
                label: request.label || "", user: user(), created: Date.now(), state: "queued", error: null};
    if (request.body instanceof FormData) {
      item.form = [];
      request.body.forEach(function (value, name) { item.form.push([name, value]); });   // a File is kept as a Blob
    } else {
      item.json = request.body || {};
    }
    return put(item).then(function () {
      if (!navigator.onLine) return {queued: true, key: item.key};
      return older(item).then(function (clear) {
        if (!clear) return {queued: true, key: item.key};
        return deliver(item, true).then(function (res) { if (res && res.queued) res.key = item.key; return res; });
      });
    });
  }

  // Before a new record goes out, the user's records still waiting go, oldest first: a patrol
  // names the issues recorded during it by their keys, and they must be stored first.
  // Resolves false when one of them cannot get through (the new one then waits too).
  function older(item) {
    return items().then(function (all) {
      var waiting = all.filter(function (i) {
        return i.state === "queued" && i.user === item.user && i.created < item.created;
      });
      return waiting.reduce(function (previous, one) {
        return previous.then(function (clear) {
          return clear && deliver(one, false).then(function (res) { return !res.queued; });
        });
      }, Promise.resolve(true));
    });
  }

  // Send the queued records of the signed-in user, oldest first; stop at the first that
  // cannot get through (the network is gone again).
  function sync() {
    if (syncing) return syncing;
    syncing = items().then(function (all) {
      var queued = all.filter(function (i) { return i.state === "queued" && i.user === user(); });
      return queued.reduce(function (previous, item) {
        return previous.then(function (stopped) {
          return stopped ? true : deliver(item, false).then(function (res) { return !!res.queued; });
        });
      }, Promise.resolve(false));
    }).then(function () { syncing = null; return items(); }, function (e) { syncing = null; throw e; });
    return syncing;
  }

  function retry(key) {
    return items().then(function (all) {
      var item = all.filter(function (i) { return i.key === key; })[0];
      if (!item) return null;
      item.state = "queued";
      item.error = null;
      return put(item).then(function () { return deliver(item, false); });
    });
  }

  // Correct the text fields of a refused record (its key stays: the server stored nothing).
  function correct(key, fields) {
    return items().then(function (all) {
      var item = all.filter(function (i) { return i.key === key; })[0];
      if (!item) return null;
      if (item.form) item.form = item.form.map(function (p) { return p[0] in fields ? [p[0], fields[p[0]]] : p; });
      else Object.keys(fields).forEach(function (k) { item.json[k] = fields[k]; });
      item.state = "queued";
      item.error = null;
      return put(item).then(function () { return deliver(item, false); });
    });
  }

  function fieldsOf(item) {
    var pairs = item.form || Object.keys(item.json || {}).map(function (k) { return [k, item.json[k]]; });
    return pairs.filter(function (p) { return typeof p[1] === "string" && ["lon", "lat", "crs"].indexOf(p[0]) < 0; });
  }

  function row(item) {
    var refused = item.state === "refused";
    return "<li data-key='" + esc(item.key) + "' class='" + (refused ? "refused" : "queued") + "'>" +
      "<b>" + esc(S(item.kind === "patrol" ? "outboxPatrol" : "outboxIssue")) + "</b> " + esc(item.label) +
      " <small>" + esc(new Date(item.created).toLocaleString()) + "</small>" +
      (refused ? "<p class='gm-error' role='alert'>" + esc(item.error) + "</p>" +
        "<details><summary>" + esc(S("outboxCorrect")) + "</summary><form class='gm-outbox-fix'>" +
        fieldsOf(item).map(function (p) {
          return "<label>" + esc(p[0]) + " <input name='" + esc(p[0]) + "' value='" + esc(p[1]) + "'></label>";
        }).join("") + "<button type='submit'>" + esc(S("outboxSave")) + "</button></form></details>" : "") +
      "<button type='button' class='gm-outbox-retry'>" + esc(S("outboxRetry")) + "</button> " +
      "<button type='button' class='gm-outbox-delete'>" + esc(S("outboxDelete")) + "</button></li>";
  }

  function render(all) {
    if (!badge) return;
    var mine = all.filter(function (i) { return i.user === user(); });
    badge.hidden = !mine.length;
    badge.querySelector(".gm-outbox-count").textContent = S("outboxBadge").replace("{n}", mine.length);
    badge.classList.toggle("has-refused", mine.some(function (i) { return i.state === "refused"; }));
    panel.innerHTML = "<ul>" + mine.map(row).join("") + "</ul>";
    Array.prototype.forEach.call(panel.querySelectorAll("li[data-key]"), function (li) {
      var key = li.getAttribute("data-key");
      li.querySelector(".gm-outbox-retry").addEventListener("click", function () { retry(key); });
      li.querySelector(".gm-outbox-delete").addEventListener("click", function () {
        if (window.confirm(S("outboxDeleteAsk"))) remove(key);
      });
      var fix = li.querySelector(".gm-outbox-fix");
      if (fix) fix.addEventListener("submit", function (e) {
        e.preventDefault();
        var fields = {};
        Array.prototype.forEach.call(fix.elements, function (el) { if (el.name) fields[el.name] = el.value; });
        correct(key, fields);
      });
    });
  }

  function changed() { return items().then(function (all) { render(all); return all; }); }

  function addBadge() {
    MapKit.control(map, "bottomleft", "gm-outbox", function (div) {
      badge = div;
      div.hidden = true;
      div.innerHTML = "<button type='button' class='gm-outbox-count'></button><div class='gm-outbox-list' hidden></div>";
      panel = div.querySelector(".gm-outbox-list");
      div.querySelector(".gm-outbox-count").addEventListener("click", function () { panel.hidden = !panel.hidden; });
    });
  }

  // Signing out clears the site's storage (the queue too): ask first when records are waiting.
  function guardSignOut() {
    var form = document.querySelector("form[action='/logout']");
    if (form) form.addEventListener("submit", function (e) {
      var waiting = badge && !badge.hidden;
      if (waiting && !window.confirm(S("outboxSignOut"))) e.preventDefault();
    });
  }

  function start(config, leafletMap) {
    cfg = config;
    map = leafletMap;
    if (!window.indexedDB || !cfg.user) return;
    addBadge();
    guardSignOut();
    window.addEventListener("online", function () { sync(); });
    changed().then(function () { if (navigator.onLine) return sync(); })
      .then(function () { document.documentElement.setAttribute("data-outbox", "ready"); });
  }

  return {start: start, send: send, sync: sync, items: items, retry: retry, correct: correct, remove: remove};
})();
