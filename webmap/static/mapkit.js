// What every map page of the app shares: escaping data for innerHTML, painting colors from
// data, and a Leaflet control built by a function (clicks and scrolls inside it stay out of the map).
var MapKit = (function () {
  "use strict";

  function esc(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function control(map, position, className, build) {
    var C = L.Control.extend({
      onAdd: function () {
        var div = L.DomUtil.create("div", "gm-control " + className);
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        build(div);
        return div;
      }
    });
    return new C({position: position}).addTo(map).getContainer();
  }

  // Colors from data are set through the DOM, not in style attributes (the CSP refuses inline
  // styles): markup says data-color='#hex' and this paints every such element under ``root``.
  function paint(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-color]"), function (el) {
      el.style.background = el.getAttribute("data-color");
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-ring]"), function (el) {
      el.style.borderColor = el.getAttribute("data-ring");
    });
    return root;
  }

  // Markup (escaped by the caller) as an element, its data colors painted.
  function element(html) {
    var div = document.createElement("div");
    div.innerHTML = html;
    return paint(div);
  }

  // A UUID v4, for idempotency keys made on the device; crypto.randomUUID exists only in
  // secure contexts (HTTPS, localhost).
  function newKey() {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  return {esc: esc, control: control, paint: paint, element: element, newKey: newKey};
})();
