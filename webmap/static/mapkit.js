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
    new C({position: position}).addTo(map);
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

  return {esc: esc, control: control, paint: paint};
})();
