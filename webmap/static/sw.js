// The service worker of the 彩色动态图 (served as /sw.js, scope /): the map of a signed-in
// user's own area opens without a network.
//
// Two caches. SHELL holds the page scripts, styles, vendor files and lookup lists: nothing
// personal. AREA holds the signed-in map page and the area bundle (/api/offline/area: the
// user's compounds, buildings, 三长 and open issues); the page script (offline.js) fills it.
// Every request goes to the network first; only when the network fails does an answer come
// from the caches, and the layer requests of the map are then answered from the bundle.
// An API answer 401 (signed out, password changed, account disabled) deletes AREA, and so does
// a bundle older than MAX_AGE_MS.
"use strict";

var SHELL = "gridmap-shell-v1";
var AREA = "gridmap-area-v1";
var BUNDLE = "/api/offline/area";
var MAX_AGE_MS = 7 * 24 * 3600 * 1000;   // webmap/offline.py OFFLINE_DAYS
var SHELL_API = ["/api/choices", "/api/legend"];
var NOTHING_KEPT = "/offline";

self.addEventListener("install", function (e) {
  self.skipWaiting();
  e.waitUntil(caches.open(SHELL).then(function (c) { return c.add(NOTHING_KEPT); }).catch(function () {}));
});
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });

function wipe() { return caches.delete(AREA); }

// The bundle, or null when there is none or it is too old (then it is deleted).
function bundle() {
  // caches.match with a cacheName never creates the cache (caches.open would, left empty).
  return caches.match(BUNDLE, {cacheName: AREA}).then(function (r) {
    if (!r) return null;
    return r.json().then(function (b) {
      if (!(Date.now() - Date.parse(b.synced_at) < MAX_AGE_MS)) return wipe().then(function () { return null; });
      return b;
    });
  });
}

function json(body, status) {
  return new Response(JSON.stringify(body), {status: status || 200,
    headers: {"Content-Type": "application/json", "X-Gridmap-Offline": "1"}});
}

// A compound card as /api/compounds/<id> gives it, from the my-area compounds and the issues.
function card(b, id) {
  var c = b.my_area.compounds.filter(function (x) { return x.id === id; })[0];
  if (!c) return json({error: b.strings.notKept}, 404);
  var open = b.issues.features.filter(function (f) { return f.properties.compound_id === id; })
    .map(function (f) { var p = f.properties; return {id: p.id, title: p.title, stage: p.stage, stage_name: p.stage_name}; });
  return json({id: c.id, name: c.name, community: c.community, grid: c.grid, grid_leader: c.grid_leader,
               grid_leader_phone: c.grid_leader_phone, heads: c.heads || [], orgs: null, open_issues: open});
}

function fromBundle(path) {
  return bundle().then(function (b) {
    if (!b) return null;
    var empty = {type: "FeatureCollection", features: []};
    var answers = {
      "/api/offline/area": b, "/api/my-area": b.my_area,
      "/api/layers/compounds.geojson": b.compounds, "/api/layers/issues.geojson": b.issues,
      "/api/layers/buildings.geojson": b.buildings,   // the whole area: it is small
      "/api/layers/venues.geojson": empty, "/api/layers/deputies.geojson": empty
    };
    if (answers[path]) return json(answers[path]);
    var m = path.match(/^\/api\/compounds\/(\d+)$/);
    if (m) return card(b, +m[1]);
    return json({error: b.strings.notKept}, 503);
  });
}

function network(request) {
  return fetch(request).then(function (r) {
    return r.status === 401 ? wipe().then(function () { return r; }) : r;
  });
}

function api(request, path) {
  return network(request).then(function (r) {
    if (r.ok && SHELL_API.indexOf(path) >= 0) {
      var copy = r.clone();
      caches.open(SHELL).then(function (c) { c.put(request, copy); });
    }
    return r;
  }).catch(function () {
    if (SHELL_API.indexOf(path) >= 0) {
      return caches.open(SHELL).then(function (c) { return c.match(request, {ignoreSearch: true}); })
        .then(function (r) { return r || json({error: "offline"}, 503); });
    }
    return fromBundle(path).then(function (r) { return r || json({error: "offline"}, 503); });
  });
}

function asset(request) {
  return fetch(request).then(function (r) {
    if (r.ok) {
      var copy = r.clone();
      caches.open(SHELL).then(function (c) { c.put(request, copy); });
    }
    return r;
  }).catch(function () {
    return caches.open(SHELL).then(function (c) { return c.match(request); })
      .then(function (r) { return r || Response.error(); });
  });
}

// The map page: from the network; offline the signed-in page kept with the bundle, else the
// page saying that nothing is kept (/offline, kept at install).
function page(request) {
  return network(request).catch(function () {
    return bundle().then(function (b) {
      return b ? caches.match("/", {cacheName: AREA}) : null;
    }).then(function (r) {
      return r || caches.match(NOTHING_KEPT, {cacheName: SHELL}).then(function (page) { return page || Response.error(); });
    });
  });
}

// The map page to keep: the kept one while younger than PAGE_MS (rendering the map costs the
// server more than the bundle does), else a fresh one.
var PAGE_MS = 3600 * 1000;

function pageToKeep() {
  return caches.match("/", {cacheName: AREA}).then(function (kept) {
    if (kept && Date.now() - Date.parse(kept.headers.get("Date")) < PAGE_MS) return kept;
    return fetch("/", {cache: "no-store", credentials: "same-origin"});
  });
}

// Keep the signed-in user's area, the map page and the shell ``urls`` (sent by offline.js);
// answers "kept", "wiped" (401: signed out), "refused" or "offline".
function keep(urls) {
  return fetch(BUNDLE, {cache: "no-store", credentials: "same-origin"}).then(function (area) {
    if (area.status === 401) return wipe().then(function () { return "wiped"; });
    if (!area.ok) return "refused";
    return pageToKeep().then(function (page) {
      if (!page.ok) return "refused";
      return caches.open(AREA).then(function (c) {
        return Promise.all([c.put(BUNDLE, area), c.put("/", page)]);
      }).then(function () { return caches.open(SHELL); }).then(function (c) {
        return Promise.all(urls.concat(["/api/choices", "/manifest.webmanifest", NOTHING_KEPT]).map(function (u) {
          return c.add(u).catch(function () {});
        }));
      }).then(function () { return "kept"; });
    });
  }).catch(function () { return "offline"; });
}

self.addEventListener("message", function (e) {
  if (!e.data || e.data.type !== "keep") return;
  var port = e.ports[0];
  e.waitUntil(keep(e.data.urls || []).then(function (answer) { if (port) port.postMessage(answer); }));
});

self.addEventListener("fetch", function (e) {
  var request = e.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  var path = url.pathname;
  if (request.mode === "navigate") {
    if (path === "/") e.respondWith(page(request));
  } else if (/^\/(static|vendor|icons)\//.test(path) || path === "/manifest.webmanifest") {
    e.respondWith(asset(request));
  } else if (path.indexOf("/api/") === 0) {
    e.respondWith(api(request, path));
  }
});
