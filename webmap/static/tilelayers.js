// Compounds and open issues drawn from the vector tiles (/tiles/…) for maps too big for
// GeoJSON: Leaflet.VectorGrid on a canvas, with the fills, outlines and stage colors of
// GridMap's live layers. One tile request carries the compounds, the buildings (drawn close
// up) and the issues ("compounds,buildings,issues"), so one canvas per tile draws them in that
// order (a dot is never under a building) and answers the clicks for all three.
var TileLayers = (function () {
  "use strict";

  // VectorGrid 1.3.0 calls L.DomEvent.fakeStop on a canvas click, which Leaflet 1.8 removed;
  // upstream's fix (not yet released) calls stop() instead.
  if (!L.DomEvent.fakeStop) L.DomEvent.fakeStop = L.DomEvent.stop;

  var POINTS_ZOOM = 16;
  var CLUSTER = "#64748b", OVERDUE = "#b91c1c";  // as .marker-cluster in gridmap.css   // below it the issues layer holds cells with counts (layers/tiles.py)
  var HEAT = ["#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];

  function tileUrl(layers, params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) { if (params[k] != null) q.set(k, params[k]); });
    return "/tiles/" + layers + "/{z}/{x}/{y}.pbf?" + q.toString();
  }

  // The extent a replayed date's open-issue classes are computed over: the view when the page
  // opens, at most the half degree a bbox may span.
  function classExtent(map) {
    var c = map.getCenter(), b = map.getBounds(), h = 0.249;
    return [Math.max(b.getWest(), c.lng - h), Math.max(b.getSouth(), c.lat - h),
            Math.min(b.getEast(), c.lng + h), Math.min(b.getNorth(), c.lat + h)]
      .map(function (v) { return v.toFixed(6); }).join(",");
  }

  // Cells are 32 px apart (8 to a tile), 64 px below zoom COARSE_BELOW (layers/tiles.py): a
  // circle stays inside its cell, so the compounds' colors show between them.
  var COARSE_BELOW = 13;
  function cellRadius(count, zoom) {
    return Math.min(zoom < COARSE_BELOW ? 26 : 15, 8 + 1.5 * Math.log(count) / Math.LN2);
  }

  function heatStyle(p) {
    var n = p.count === undefined ? 1 : p.count;
    var f = Math.min(1, Math.log(1 + n) / Math.log(1000));
    return {radius: 10 + 22 * f, stroke: false, fill: true,
            fillColor: HEAT[Math.min(HEAT.length - 1, Math.floor(f * HEAT.length))], fillOpacity: 0.3 + 0.4 * f};
  }

  function issueStyle(cfg) {
    return function (p, zoom) {
      if (p.count !== undefined) {
        // Neutral, as the clusters of the GeoJSON map: a red ring when most of them are overdue.
        var late = 2 * p.overdue > p.count;
        return {radius: cellRadius(p.count, zoom), color: late ? OVERDUE : "#ffffff", weight: late ? 3 : 2, fill: true,
                fillColor: CLUSTER, fillOpacity: 0.8};
      }
      return {radius: 7, color: "#ffffff", weight: 1.5, fill: true,   // as GridMap.issueMarker
              fillColor: cfg.stageColors[p.stage] || "#999", fillOpacity: 0.95};
    };
  }

  // A VectorGrid whose points know where they are: Leaflet takes a small circle for a marker
  // and asks it for its latlng on a click, which VectorGrid's point symbolizers lack. Every
  // decoded tile is also handed to ``onTile`` (to label the issue cells).
  var Grid = L.VectorGrid.Protobuf.extend({
    _getVectorTilePromise: function (coords) {
      var self = this;
      return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords).then(function (tile) {
        var size = self.getTileSize();
        Object.keys(tile.layers).forEach(function (name) {
          var layer = tile.layers[name], scale = size.x / layer.extent;
          layer.features.forEach(function (f) {
            if (f.type !== 1 || !self._map) return;
            var pt = f.geometry[0][0];
            f.latlng = self._map.unproject(L.point(coords.x * size.x + pt.x * scale, coords.y * size.y + pt.y * scale), coords.z);
          });
        });
        if (self.options.onTile) self.options.onTile(coords, tile);
        return tile;
      });
    },
    _createLayer: function (feat, pxPerExtent) {
      var layer = L.VectorGrid.Protobuf.prototype._createLayer.call(this, feat, pxPerExtent);
      if (feat.latlng) layer._latlng = feat.latlng;
      return layer;
    }
  });

  // The counts of the issue cells as labels over their circles, kept per tile.
  function cellLabels(map, grid) {
    var group = L.layerGroup(), byTile = {};
    function drop(key) {
      (byTile[key] || []).forEach(function (m) { group.removeLayer(m); });
      delete byTile[key];
    }
    grid.on("tileunload", function (e) { drop(grid._tileCoordsToKey(e.coords)); });
    grid.on("add", function () { group.addTo(map); });
    grid.on("remove", function () { group.remove(); byTile = {}; group.clearLayers(); });
    // The count centred in a cell of diameter ``d``, styled through the DOM (no inline styles
    // under the CSP); the font shorthand sets the line height too, or the text sits on top.
    function cellLabel(count, d) {
      var span = document.createElement("span");
      span.textContent = count;
      span.style.display = "block";
      span.style.textAlign = "center";
      span.style.color = "#fff";
      span.style.font = "bold 12px/" + d + "px sans-serif";
      return span;
    }

    return function (coords, tile) {
      var key = grid._tileCoordsToKey(coords), layer = tile.layers.issues;
      drop(key);
      if (!layer || coords.z >= POINTS_ZOOM || !grid._tiles[key]) return;
      byTile[key] = layer.features.filter(function (f) { return f.properties.count !== undefined; }).map(function (f) {
        var d = Math.round(2 * cellRadius(f.properties.count, coords.z));
        return L.marker(f.latlng, {interactive: false, keyboard: false, icon: L.divIcon({
          className: "gm-cell-label", iconSize: [d, d],
          // (the font shorthand sets the line height too: both in one, or the text sits on top)
          html: cellLabel(f.properties.count, d)})}).addTo(group);
      });
    };
  }

  // Compounds colored by the page's mode, and (unless a past date is replayed: issues tiles
  // show the present) the open issues. ``on.compound(id, latlng, properties)`` and
  // ``on.issue(id, latlng, properties)`` are called on a click; a click on a cell zooms in.
  // Buildings come in the same tiles, drawn close up (as GridMap's buildings), between the
  // compounds and the issues: one canvas draws them in this order, so a dot stays on top.
  var BUILDINGS_ZOOM = 17;
  function buildingStyle(p, zoom) {
    return zoom >= BUILDINGS_ZOOM ? {color: "#334155", weight: 1, fill: true, fillColor: "#f8fafc", fillOpacity: 0.9} : [];
  }

  function add(map, cfg, on) {
    var version = 0, layers = cfg.asOf ? "compounds,buildings" : "compounds,buildings,issues";
    var params = {mode: cfg.mode, as_of: cfg.asOf || null, crs: cfg.gcj02 ? "gcj02" : null,
                  bbox: cfg.asOf && cfg.mode === "open" ? classExtent(map) : null};
    var grid = new Grid(tileUrl(layers, params), {
      rendererFactory: L.canvas.tile, interactive: true, pane: "overlayPane",
      maxNativeZoom: 22, maxZoom: 22,
      vectorTileLayerStyles: {
        compounds: function (p) {    // as GridMap.compoundStyle (tiles are public: nothing is "mine")
          return {color: "#475569", weight: 1, fill: true, fillColor: p.fill || "#cccccc", fillOpacity: 0.8};
        },
        buildings: buildingStyle,
        issues: issueStyle(cfg)
      }
    });
    grid.options.onTile = cellLabels(map, grid);
    grid.on("click", function (e) {
      var p = e.layer.properties;
      L.DomEvent.stopPropagation(e);   // the map's own click (a lookup) is not for this one
      if (p.count !== undefined) map.setView(e.latlng, Math.min(map.getZoom() + 2, POINTS_ZOOM));
      else if (p.stage !== undefined) on.issue(p.id, e.latlng, p);
      else if (p.floors !== undefined) {
        if (map.getZoom() >= BUILDINGS_ZOOM) on.building(p.id, e.latlng, p);
      }
      else on.compound(p.id, e.latlng, p);
    });
    grid.addTo(map);
    return {
      layer: grid,
      // After a change: the same tiles under a new URL, past the browser's minute of caching
      // (the server answers from its cache unless the data under a tile changed).
      refresh: function () {
        version += 1;
        grid.setUrl(tileUrl(layers, L.extend({}, params, {v: version})));
      }
    };
  }

  // The open issues as a heat-like layer (cells at city scale, points close up), for the
  // layer control; not interactive.
  function heat() {
    var version = 0;
    var grid = new Grid(tileUrl("issues", {}), {
      rendererFactory: L.canvas.tile, pane: "overlayPane", maxNativeZoom: 22, maxZoom: 22,
      vectorTileLayerStyles: {issues: heatStyle}
    });
    return {
      layer: grid,
      refresh: function () { version += 1; grid.setUrl(tileUrl("issues", {v: version})); }
    };
  }

  return {add: add, heat: heat, classExtent: classExtent, POINTS_ZOOM: POINTS_ZOOM};
})();
