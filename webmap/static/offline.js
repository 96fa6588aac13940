// The map page's offline side: registers the service worker (/sw.js), keeps the signed-in
// user's area on the device (the caches that sw.js answers from) and shows a banner when the
// network is gone: "离线 · 数据更新于 …".
//
// What is kept is only what the server answers for the user's own area (/api/offline/area)
// and the map page as the user sees it. It is deleted when an API call answers 401 (signed
// out, password changed, account disabled; sw.js does the same), when a signed-out page
// loads, and when it is older than 7 days; signing out clears the site's storage as well
// (the Clear-Site-Data header of /logout).
var Offline = (function () {
  "use strict";
  var AREA = "gridmap-area-v1", BUNDLE = "/api/offline/area";
  var MAX_AGE_MS = 7 * 24 * 3600 * 1000;   // webmap/offline.py OFFLINE_DAYS
  var cfg = null, banner = null;
  var S = function (k) { return cfg.strings[k] || k; };

  function supported() { return "serviceWorker" in navigator && "caches" in window; }

  function wipe() { return window.caches ? caches.delete(AREA) : Promise.resolve(); }

  function keptBundle() {
    return caches.match(BUNDLE, {cacheName: AREA})   // never creates the cache, unlike caches.open
      .then(function (r) { return r ? r.json() : null; })
      .then(function (b) {
        if (b && !(Date.now() - Date.parse(b.synced_at) < MAX_AGE_MS)) return wipe().then(function () { return null; });
        return b;
      });
  }

  // The scripts, styles, fonts and images this page loaded from the app.
  function shellUrls() {
    var urls = [];
    var add = function (u) {
      var url = new URL(u, location.href);
      if (url.origin === location.origin && /^\/(static|vendor|icons)\//.test(url.pathname) && urls.indexOf(url.href) < 0) urls.push(url.href);
    };
    Array.prototype.forEach.call(document.querySelectorAll("script[src]"), function (s) { add(s.src); });
    Array.prototype.forEach.call(document.querySelectorAll("link[rel=stylesheet], link[rel=apple-touch-icon]"), function (l) { add(l.href); });
    performance.getEntriesByType("resource").forEach(function (e) { add(e.name); });
    return urls;
  }

  // The service worker fetches and keeps the area, the page and the shell (sw.js "keep"): its
  // requests outlive this page, so leaving the map at once interrupts nothing.
  function sync() {
    return navigator.serviceWorker.ready.then(function (registration) {
      return new Promise(function (resolve) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function (e) { resolve(e.data); };
        registration.active.postMessage({type: "keep", urls: shellUrls()}, [channel.port2]);
      });
    }).then(function (answer) {
      if (answer === "kept") document.documentElement.setAttribute("data-offline", "kept");
      return answer;
    });
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function when(iso) {
    var d = new Date(iso);
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function showBanner() {
    if (navigator.onLine) { banner.hidden = true; return; }
    keptBundle().then(function (b) {
      banner.textContent = b ? S("offlineSince").replace("{t}", when(b.synced_at)) : S("offlineNone");
      banner.hidden = false;
    });
  }

  function start(config) {
    cfg = config;
    if (!supported()) return;
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () {});
    banner = document.createElement("div");
    banner.className = "gm-offline-banner";
    banner.setAttribute("role", "status");
    banner.hidden = true;
    document.body.appendChild(banner);
    window.addEventListener("online", showBanner);
    window.addEventListener("offline", showBanner);
    showBanner();
    if (!cfg.user) { wipe(); return; }   // a signed-out page: nothing personal stays
    if (cfg.user.hasArea && navigator.onLine) sync();
  }

  return {start: start, sync: sync, wipe: wipe};
})();
