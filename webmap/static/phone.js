// The map on a phone (a screen at most 600 px wide). The map's controls fold into one menu,
// the main actions (my area, record an issue, patrol, the menu) sit in a bar at the bottom
// within thumb reach, and every card and form (Leaflet's popups) opens in a full-width sheet
// at the bottom of the screen, never under a control. On a wider screen nothing changes.
//
// A popup keeps working as Leaflet's: its content node is only lent to the sheet while it is
// open, so setContent() and forms inside it work as on a desk, and it goes back on close.
var Phone = (function () {
  "use strict";
  var NARROW = "(max-width: 600px)";
  var cfg = null, map = null, sheet = null, body = null, title = null, bar = null, menu = null;
  var shown = null;   // what the sheet holds: {node, home, next, popup, kind}
  var esc = MapKit.esc;
  function S(k) { return (cfg && cfg.strings[k]) || k; }
  function narrow() { return window.matchMedia(NARROW).matches; }
  function active() { return !!sheet; }

  function buildSheet() {
    sheet = L.DomUtil.create("section", "gm-sheet", document.body);
    sheet.setAttribute("role", "dialog");
    sheet.setAttribute("aria-modal", "false");
    sheet.hidden = true;
    sheet.innerHTML = "<header><b class='gm-sheet-title'></b><button type='button' class='gm-sheet-close' aria-label='" +
      esc(S("close")) + "' title='" + esc(S("close")) + "'>×</button></header><div class='gm-sheet-body'></div>";
    body = sheet.querySelector(".gm-sheet-body");
    title = sheet.querySelector(".gm-sheet-title");
    sheet.querySelector(".gm-sheet-close").addEventListener("click", hide);
    document.addEventListener("keydown", function (e) { if (e.key === "Escape" && shown) hide(); });
  }

  // The node goes back where it came from (a popup's content into its popup, a panel into its
  // control) before the sheet takes another.
  function release() {
    if (!shown) return null;
    var s = shown;
    shown = null;
    if (s.home) s.home.insertBefore(s.node, s.next && s.next.parentNode === s.home ? s.next : null);
    else s.node.remove();
    return s;
  }

  function show(node, opts) {
    opts = opts || {};
    var before = release();
    if (before && before.popup && before.popup !== opts.popup && map.hasLayer(before.popup)) map.closePopup(before.popup);
    shown = L.extend({node: node, home: node.parentNode, next: node.nextSibling}, opts);
    body.appendChild(node);
    title.textContent = opts.title || "";
    sheet.setAttribute("data-kind", opts.kind || "card");
    sheet.hidden = false;
    body.scrollTop = 0;
    markBar(opts.kind);
    if (opts.latlng) keepInView(opts.latlng);
  }

  function hide() {
    if (!sheet) return;
    var s = release();
    sheet.hidden = true;
    markBar(null);
    if (s && s.popup && map.hasLayer(s.popup)) map.closePopup(s.popup);
  }

  // The tapped point stays in sight above the sheet, even once the sheet has grown to its
  // full height (a card's actions arrive after it opens).
  function keepInView(latlng) {
    var box = map.getContainer().getBoundingClientRect(), sheetBox = sheet.getBoundingClientRect();
    var tallest = parseFloat(window.getComputedStyle(sheet).maxHeight) || 0;
    var covered = Math.max(0, box.bottom - Math.min(sheetBox.top, sheetBox.bottom - tallest));
    if (covered < box.height - 80) map.panInside(latlng, {paddingTopLeft: [20, 70], paddingBottomRight: [20, covered + 20], animate: false});
  }

  function onPopupOpen(e) {
    if (!narrow()) return;
    var el = e.popup.getElement(), content = el && el.querySelector(".leaflet-popup-content");
    if (!content) return;
    L.DomUtil.addClass(el, "gm-sheeted");
    show(content, {popup: e.popup, latlng: e.popup.getLatLng(), kind: "card"});
  }

  function onPopupClose(e) {
    if (shown && shown.popup === e.popup) hide();
  }

  // The bar at the bottom: a slot per action, filled as the page's parts arrive (adopt).
  function buildBar() {
    bar = L.DomUtil.create("nav", "gm-bottombar");
    bar.setAttribute("aria-label", S("mapMenu"));
    bar.innerHTML = "<div class='gm-slot' data-slot='myarea'></div><div class='gm-slot' data-slot='record'></div>" +
      "<div class='gm-slot' data-slot='patrol'></div><div class='gm-slot' data-slot='menu'>" +
      "<button type='button' class='gm-menu-toggle'>☰ " + esc(S("menu")) + "</button></div>";
    var container = map.getContainer();
    container.parentNode.insertBefore(bar, container.nextSibling);
    bar.querySelector(".gm-menu-toggle").addEventListener("click", function () { toggle(menu, {kind: "menu", title: S("mapMenu")}); });
    map.invalidateSize();
  }

  function markBar(kind) {
    Array.prototype.forEach.call(bar.querySelectorAll(".gm-slot"), function (slot) {
      slot.classList.toggle("on", slot.getAttribute("data-slot") === kind);
    });
  }

  function toggle(node, opts) {
    if (shown && shown.node === node) hide();
    else show(node, opts);
  }

  // The menu: the color mode and date, the layers, the legend and the place trail, moved out
  // of the map's corners into one panel.
  function buildMenu() {
    menu = L.DomUtil.create("div", "gm-menu-panel");
    var home = L.DomUtil.create("div", "gm-menu-home", document.body);
    home.hidden = true;
    home.appendChild(menu);
    [".gm-toolbar", ".leaflet-control-layers", ".gm-legend", ".gm-badge"].forEach(function (sel) {
      var el = map.getContainer().querySelector(sel);
      if (el) menu.appendChild(el);
    });
    var details = menu.querySelector(".legend-symbols");
    if (details) details.open = true;
  }

  // A part of the page (the record button, 我的范围) takes its place in the bar.
  function adopt(control, slot) {
    if (!active()) return;
    var target = bar.querySelector("[data-slot='" + slot + "']");
    control.className = "gm-slot-item " + control.className.replace(/\b(leaflet-control|gm-control)\b/g, "").trim();
    target.appendChild(control);
  }

  // 我的范围: its toggle in the bar, its list in the sheet; ?panel=myarea opens it (the
  // home-screen icon's start URL).
  function myArea(toggleButton, panelBody, opened) {
    if (!active()) return false;
    var slot = bar.querySelector("[data-slot='myarea']");
    slot.appendChild(toggleButton);
    var open = function () { toggle(panelBody, {kind: "myarea", title: S("myArea")}); };
    toggleButton.addEventListener("click", open);
    if (window.Patrol && Patrol.can()) {
      var patrol = L.DomUtil.create("button", "gm-patrol-toggle", bar.querySelector("[data-slot='patrol']"));
      patrol.type = "button";
      patrol.textContent = S("patrol");
      patrol.addEventListener("click", function () {
        show(panelBody, {kind: "patrol", title: S("patrol")});
        var list = panelBody.querySelector(".gm-compounds");
        if (list) list.scrollIntoView({block: "start"});
      });
    }
    if (opened) show(panelBody, {kind: "myarea", title: S("myArea")});
    return true;
  }

  function start(config, leafletMap) {
    cfg = config; map = leafletMap;
    if (!narrow()) return;
    document.documentElement.classList.add("gm-phone");
    L.Popup.prototype.options.autoPan = false;   // the sheet keeps the point in view instead
    buildSheet();
    buildBar();
    map.on("popupopen", onPopupOpen);
    map.on("popupclose", onPopupClose);
  }

  // Once the page's controls exist: fold them into the menu.
  function fold() { if (active()) buildMenu(); }

  return {start: start, fold: fold, narrow: narrow, adopt: adopt, myArea: myArea, show: show, hide: hide,
          active: active};
})();
