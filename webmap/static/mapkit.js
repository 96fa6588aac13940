// What every map page of the app shares: escaping data for innerHTML, and a Leaflet control
// built by a function (clicks and scrolls inside it stay out of the map).
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

  return {esc: esc, control: control};
})();
