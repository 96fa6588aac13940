// The page side of the 彩色动态图: live layers, popups, legend, search, mode and date controls.
// Every piece of text that comes from data is escaped before it reaches innerHTML.
var GridMap = (function () {
  "use strict";
  var cfg = null, map = null, legendBox = null, buildings = null, tiles = null, layers = null;
  var live = {};          // the GeoJSON map's issue layer and its clusters (none when tiled)
  var issueLayers = {};   // issue id → its marker, to update or open it in place
  var S = function (key) { return cfg.strings[key] || key; };
  // Names of lookup codes in the page's language (the server's own text is Chinese).
  function named(list, code, fallback) { return (cfg.names[list] || {})[code] || fallback || code; }
  function role(h) { return named("head_role", h.role_code, h.role); }
  // A count with its unit, e.g. "3 个单元" / "3 units" (the server sends the forms per language).
  function count(key, n) { var forms = cfg.plurals[key]; return (n === 1 ? forms[0] : forms[1]).replace("{n}", n); }

  var esc = MapKit.esc;

  function query(params) {
    var q = new URLSearchParams(params || {});
    if (cfg.gcj02) q.set("crs", "gcj02");
    var s = q.toString();
    return s ? "?" + s : "";
  }

  // The browser revalidates with If-None-Match (cache: no-cache): an unchanged layer is a 304
  // and costs the server one sequence read.
  function fetchLayer(layer, params, ok, fail) {
    fetch("/api/layers/" + layer + ".geojson" + query(params), {cache: "no-cache"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        if (data.legend) showLegend(data.legend);
        ok(data);
      })
      .catch(function (e) { if (fail) fail(e); });
  }

  function compoundStyle(feature) {
    var mine = feature.properties.mine;
    return {color: mine ? "#1d4ed8" : "#475569", weight: mine ? 3 : 1,
            fillColor: feature.properties.fill || "#cccccc", fillOpacity: 0.8};
  }

  // A tap on the map goes first to a patrol's hand placement, then to a new issue's location.
  function takeClick(latlng) {
    return (window.Patrol && Patrol.takeClick(latlng)) || Workflow.takeClick(latlng);
  }

  function compoundFeature(feature, layer) {
    var p = feature.properties;
    layer.options.className = "compound compound-" + p.id;
    // (no hover name on a phone: a tap would open it under the controls; the card names it)
    if (!Phone.narrow()) layer.bindTooltip(esc(p.name) + (p.open_issues ? " · " + count("issues", p.open_issues) : ""), {sticky: true});
    layer.on("click", function (e) {
      L.DomEvent.stopPropagation(e);
      if (!takeClick(e.latlng)) openCompound(p.id, e.latlng);
    });
  }

  var element = MapKit.element;   // markup (escaped) as an element, its data colors painted

  function list(items, render) {
    if (!items || !items.length) return "<li class='muted'>" + esc(S("none")) + "</li>";
    return items.map(render).join("");
  }

  function person(h) {
    var text = esc(h.name);
    if (h.phone) text += " <a href='tel:" + esc(h.phone) + "'>" + esc(h.phone) + "</a>";
    return text;
  }

  function openCompound(id, latlng) {
    var popup = L.popup({maxWidth: 320, className: "card-popup"}).setLatLng(latlng)
      .setContent(esc(S("loading"))).openOn(map);
    fetch("/api/compounds/" + id + (cfg.asOf ? "?as_of=" + encodeURIComponent(cfg.asOf) : "")).then(function (r) { return r.json(); }).then(function (c) {
      var html = "<div class='card' data-compound='" + esc(c.id) + "'><h3>" + esc(c.name) + "</h3>" +
        "<p>" + esc(c.community) + " · " + esc(c.grid || "") + "</p>" +
        "<p><b>" + esc(S("gridLeader")) + "</b> " + person({name: c.grid_leader, phone: c.grid_leader_phone}) + "</p>" +
        "<p><b>" + esc(S("heads")) + "</b></p><ul>" +
        list(c.heads, function (h) { return "<li>" + esc(role(h)) + " " + person(h) + "</li>"; }) + "</ul>" +
        (c.orgs ? "<p><b>" + esc(S("orgs")) + "</b> " + c.orgs.map(esc).join(S("listSep")) + "</p>" : "") +
        "<p><b>" + esc(S("openIssues")) + "</b> (" + c.open_issues.length + ")</p><ul class='issues'>" +
        list(c.open_issues, function (i) {
          return "<li><span class='stage' data-color='" + esc(cfg.stageColors[i.stage] || "#999") + "'>" +
            esc(named("stage", i.stage, i.stage_name)) + "</span> " + esc(i.title || S("notTopic")) + "</li>";
        }) + "</ul></div>";
      var content = element(html);
      popup.setContent(content);
      if (window.Patrol && !cfg.asOf) Patrol.decorateCard(content.querySelector(".card"), {id: c.id, name: c.name});
    }).catch(function () { popup.setContent(esc(S("error"))); });
  }

  var OVERDUE = "#b91c1c";  // the ring of an overdue issue

  // Issue markers have a pane of their own above the compounds and buildings (overlayPane,
  // 400), under the clusters and pins (markerPane, 600): a tap on a dot always opens the issue.
  var ISSUE_PANE = "gm-issues";
  function issuePane() {
    var m = map || window[cfg.map];
    if (!m.getPane(ISSUE_PANE)) m.createPane(ISSUE_PANE).style.zIndex = 450;
    return ISSUE_PANE;
  }

  // (larger on a wall screen, html.wall: read from across the room)
  function issueStyle(p) {
    var late = p.sla === 3, wall = document.documentElement.classList.contains("wall");
    return {radius: wall ? 12 : 7, color: late ? OVERDUE : "#ffffff", weight: (late ? 3 : 1.5) * (wall ? 1.6 : 1),
            fillColor: cfg.stageColors[p.stage] || "#999", fillOpacity: 0.95};
  }

  function issueMarker(feature, latlng) {
    return L.circleMarker(latlng, L.extend({pane: issuePane(), className: "gm-issue gm-issue-" + feature.properties.id},
                                           issueStyle(feature.properties)));
  }

  // An issue's card: title, stage, category, day reported, and the actions of the viewer's role.
  // The popup content is a DOM element, not a string: when marker clustering re-adds the marker
  // after a poll, Leaflet keeps this element, so a half-filled step form survives; a poll or an
  // advance rewrites only its head (setCard).
  function issueCard(p) {
    var card = L.DomUtil.create("div", "card gm-issue-card");
    card.setAttribute("data-issue", p.id);
    card.innerHTML = "<h4 class='gm-card-title'></h4><p class='gm-card-stage'></p><p class='gm-card-category'></p>" +
      "<p class='gm-card-date'></p><div class='gm-actions-slot'></div>";
    return setCard(card, p);
  }

  function setCard(card, p) {
    var text = function (sel, value) { card.querySelector(sel).textContent = value; };
    text(".gm-card-title", p.title || S("notTopic"));
    text(".gm-card-stage", S("stage") + S("colon") + named("stage", p.stage, p.stage_name));
    text(".gm-card-category", S("category") + S("colon") + named("category", p.category, p.category_name));
    text(".gm-card-date", S("reportedOn") + S("colon") + (p.reported_on || ""));
    card.setAttribute("data-stage", p.stage);
    return card;
  }

  function fillActions(card, id) {
    var slot = card.querySelector(".gm-actions-slot");
    if (!slot.childElementCount) Workflow.issueActions(id, slot);
  }

  function issueFeature(feature, layer) {
    var p = feature.properties, card = issueCard(p);
    layer.gmCard = card;
    issueLayers[p.id] = layer;
    layer.bindPopup(card, {maxWidth: 300});
    layer.on("popupopen", function () { fillActions(card, p.id); });
  }

  // A poll's answer for an issue already on the map: its place, color and card follow the data
  // (leaflet-realtime would only move it). No marker yet: realtime makes one.
  function updateIssue(feature, old) {
    if (!old) return null;
    old.setLatLng(L.GeoJSON.coordsToLatLng(feature.geometry.coordinates));
    old.setStyle(issueStyle(feature.properties));
    setCard(old.gmCard, feature.properties);
    return old;
  }

  // After an advance on this page: the marker, its color and every card of the issue show the
  // new stage at once; the next poll (asked for now) brings the rest (a closed issue leaves).
  function issueChanged(id, stage) {
    var layer = issueLayers[id];
    if (layer && layer.feature) {
      layer.feature.properties.stage = stage;
      layer.setStyle(issueStyle(layer.feature.properties));
    }
    Array.prototype.forEach.call(document.querySelectorAll(".gm-issue-card[data-issue='" + (+id) + "']"), function (card) {
      card.querySelector(".gm-card-stage").textContent = S("stage") + S("colon") + named("stage", stage);
      card.setAttribute("data-stage", stage);
    });
    refreshIssues();
  }

  function refreshIssues() {
    if (live.issues) live.issues.update();
    if (tiles) tiles.refresh();
  }

  // Opens issue ``id`` on the map with its card and actions: from its marker when it is on
  // the map, else from the issue's OGC item (read with the viewer's own rights).
  function showIssue(id) {
    id = +id;
    var layer = issueLayers[id];
    if (layer && live.cluster && live.cluster.hasLayer(layer)) return openIssue(id, layer.getLatLng(), layer.gmCard);
    return fetch("/ogc/collections/issues/items/" + id + "?f=json").then(function (r) { return r.ok ? r.json() : null; })
      .then(function (f) {
        if (!f || !f.geometry) return;
        var p = f.properties;
        openIssue(id, L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]),
                  issueCard({id: id, title: p.title, stage: p.stage, stage_name: p.stage_name, category: p.category,
                             category_name: p.category_name, reported_on: String(p.reported_at || "").slice(0, 10)}));
      });
  }

  function openIssue(id, latlng, card) {
    map.setView(latlng, Math.max(map.getZoom(), 18), {animate: false});
    L.popup({maxWidth: 300}).setLatLng(latlng).setContent(card).openOn(map);
    fillActions(card, id);
  }

  // Issues at one spot (a cluster that zooming cannot split) open as a list; any other cluster
  // zooms in. Close up only issues a few pixels apart are clustered (clusterRadius).
  var SAME_SPOT_M = 15;
  function clusterRadius(zoom) { return zoom >= 17 ? 6 : 30; }

  // markercluster's own icon, larger on a wall screen (html.wall; gridmap.css sizes its disc).
  function clusterIcon(cluster) {
    var n = cluster.getChildCount(), side = document.documentElement.classList.contains("wall") ? 64 : 40;
    return L.divIcon({html: "<div><span>" + n + "</span></div>", iconSize: L.point(side, side),
                      className: "marker-cluster marker-cluster-" + (n < 10 ? "small" : n < 100 ? "medium" : "large")});
  }

  function clusterClick(e) {
    var c = e.layer, b = c.getBounds();
    if (map.distance(b.getSouthWest(), b.getNorthEast()) > SAME_SPOT_M && map.getZoom() < map.getMaxZoom()) {
      c.zoomToBounds({padding: [40, 40]});
      return;
    }
    var markers = c.getAllChildMarkers().filter(function (m) { return m.feature; });
    var html = "<div class='card gm-issue-list'><h4>" + esc(count("issues", markers.length)) + " · " + esc(S("sameSpot")) +
      "</h4><ul>" + markers.map(function (m) {
        var p = m.feature.properties;
        return "<li><a class='gm-open-issue' href='/?issue=" + esc(p.id) + "' data-issue='" + esc(p.id) + "'>" +
          "<span class='stage' data-color='" + esc(cfg.stageColors[p.stage] || "#999") + "'>" +
          esc(named("stage", p.stage, p.stage_name)) + "</span> " + esc(p.title || S("notTopic")) + "</a></li>";
      }).join("") + "</ul></div>";
    L.popup({maxWidth: 300}).setLatLng(c.getLatLng()).setContent(element(html)).openOn(map);
  }

  // Venues (an awesome-marker per platform) and liaison stations, from their layers, in the
  // layer control: venues hidden until asked for, stations shown.
  function addVenues() {
    var venues = L.layerGroup(), stations = L.layerGroup().addTo(map);
    layers.addOverlay(venues, S("venues"));
    layers.addOverlay(stations, S("stations"));
    var marker = function (latlng, color, icon, p, lines) {
      return L.marker(latlng, {icon: L.AwesomeMarkers.icon({markerColor: color, icon: icon, prefix: "fa", iconColor: "white"})})
        .bindTooltip(esc(p.name)).bindPopup(lines.map(esc).join("<br>"), {maxWidth: 280});
    };
    fetchLayer("venues", {}, function (data) {
      L.geoJSON(data, {pointToLayer: function (f, latlng) {
        var p = f.properties, look = cfg.platformIcons[p.platforms[0]] || ["blue", "users"];
        var lines = [p.name, p.community, p.platforms.map(function (c) { return cfg.names.platform[c] || c; }).join(S("listSep")),
                     S("meetingCount").replace("{n}", p.meetings)]
          .concat((p.recent || []).map(function (r) { return r[0] + " " + r[1]; }));
        return marker(latlng, look[0], look[1], p, lines);
      }}).addTo(venues);
    });
    fetchLayer("deputies", {}, function (data) {
      L.geoJSON(data, {pointToLayer: function (f, latlng) {
        var p = f.properties;
        return marker(latlng, "red", "star", p, [p.name, S("deputyCount").replace("{n}", p.npc_deputies)]);
      }}).addTo(stations);
    });
  }

  // Maps too big for GeoJSON draw areas, compounds and issues from the vector tiles; a click
  // opens the same cards as the GeoJSON layers, and the legend comes from /api/legend.
  function startTiles() {
    L.vectorGrid.protobuf("/tiles/communities,grids/{z}/{x}/{y}.pbf" + (cfg.gcj02 ? "?crs=gcj02" : ""), {
      rendererFactory: L.canvas.tile, interactive: false, maxNativeZoom: 22, maxZoom: 22,
      vectorTileLayerStyles: {
        communities: {color: "#b45309", weight: 2, dashArray: "6 4", fill: false},
        grids: {color: "#2563eb", weight: 1, dashArray: "2 4", fill: false}
      }
    }).addTo(map);
    tiles = TileLayers.add(map, cfg, {
      compound: function (id, latlng) { if (!takeClick(latlng)) openCompound(id, latlng); },
      building: function (id, latlng) { if (!takeClick(latlng)) openBuilding(id, latlng); },
      issue: function (id, latlng, p) {
        var card = issueCard(L.extend({id: id}, p || {}));
        L.popup({maxWidth: 300}).setLatLng(latlng).setContent(card).openOn(map);
        fillActions(card, id);
      }
    });
    var q = {mode: cfg.mode};
    if (cfg.asOf) {   // a replay classes the compounds of the extent the tiles use
      q.as_of = cfg.asOf;
      q.bbox = TileLayers.classExtent(map);
    }
    fetch("/api/legend?" + new URLSearchParams(q).toString()).then(function (r) { return r.json(); })
      .then(function (body) { if (body.legend) showLegend(body.legend); });
  }

  // The legend: the compound fills of the mode (from the layer), then every other symbol on
  // the map, folded on a phone.
  var legendFills = null, legendKey = null;

  function showLegend(entries) {
    var key = JSON.stringify(entries);
    if (!legendBox || key === legendKey) return;
    legendKey = key;
    legendFills.innerHTML = "<h4>" + esc(cfg.modes[cfg.mode]) + "</h4>" + entries.map(function (e) {
      return "<div class='legend-row'><i data-color='" + esc(e.color) + "'></i>" + esc(e.label) + "</div>";
    }).join("") + (cfg.mode === "grid" ? "<p class='legend-note'>" + esc(S("gridNote")) + "</p>" : "");
    MapKit.paint(legendFills);
  }

  function symbol(html, label, kind) {
    return "<div class='legend-sym' data-symbol='" + esc(kind) + "'>" + html + "<span>" + esc(label) + "</span></div>";
  }

  function pin(color, icon) {
    return "<b class='legend-pin' data-color='" + esc(PIN_COLORS[color] || color) + "'><i class='fa fa-" + esc(icon) + "'></i></b>";
  }

  // awesome-markers' pin colors (leaflet.awesome-markers.css sprites), for the legend's pins.
  var PIN_COLORS = {red: "#d63e2a", green: "#72b026", purple: "#d252b9", blue: "#38aadd"};

  function symbols() {
    var dot = function (fill, ring) {
      return "<b class='legend-dot' data-color='" + esc(fill) + "' data-ring='" + esc(ring || "#fff") + "'></b>";
    };
    var line = function (kind) { return "<b class='legend-line legend-line-" + esc(kind) + "'></b>"; };
    var html = "<h5>" + esc(S("legendIssues")) + "</h5>" + Object.keys(cfg.stageColors).map(function (code) {
      return symbol(dot(cfg.stageColors[code]), named("stage", code), "stage-" + code);
    }).join("") +
      symbol(dot("#f3f4f6", OVERDUE), S("legendOverdue"), "overdue") +
      symbol("<b class='legend-cluster'>5</b>", S("legendCluster"), "cluster") +
      "<h5>" + esc(S("legendPlaces")) + "</h5>" +
      Object.keys(cfg.platformIcons).map(function (code) {
        var look = cfg.platformIcons[code];
        return symbol(pin(look[0], look[1]), S("venue") + " · " + named("platform", code), "venue-" + code);
      }).join("") +
      symbol(pin("red", "star"), S("stations"), "station") +
      symbol("<b class='legend-building'></b>", S("legendBuildings"), "building") +
      "<h5>" + esc(S("legendLines")) + "</h5>" +
      symbol(line("subdistrict"), S("legendSubdistrict"), "subdistrict") +
      symbol(line("community"), S("community"), "community") +
      symbol(line("grid"), S("grid"), "grid") +
      (cfg.user && cfg.user.hasArea ? symbol(line("mine"), S("legendMine"), "mine") : "");
    return html;
  }

  function control(position, className, build) { MapKit.control(map, position, className, build); }

  // Today in the browser's own time zone (toISOString would give the UTC date).
  function localDate() {
    var d = new Date();
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }

  function reloadWith(key, value) {
    var q = new URLSearchParams(window.location.search);
    if (value) q.set(key, value); else q.delete(key);
    window.location.search = q.toString();
  }

  function addToolbar() {
    control("topright", "gm-toolbar", function (div) {
      var modeOptions = Object.keys(cfg.modes).map(function (k) {
        return "<option value='" + esc(k) + "'" + (k === cfg.mode ? " selected" : "") + ">" + esc(cfg.modes[k]) + "</option>";
      }).join("");
      div.innerHTML =
        "<label>" + esc(S("mode")) + " <select class='gm-mode'>" + modeOptions + "</select></label>" +
        "<label>" + esc(S("replay")) + " <input type='date' class='gm-asof' value='" + esc(cfg.asOf || "") + "'" +
        " max='" + localDate() + "'></label>";
      div.querySelector(".gm-mode").addEventListener("change", function (e) { reloadWith("mode", e.target.value); });
      div.querySelector(".gm-asof").addEventListener("change", function (e) { reloadWith("as_of", e.target.value); });
    });
  }

  // "My area": the user's compounds with their 三长 (tap to call) and open issues, most overdue first.
  function addMyArea() {
    if (!cfg.user || !cfg.user.hasArea) return;
    control("topleft", "gm-myarea", function (div) {
      div.innerHTML = "<button type='button' class='gm-myarea-toggle'>" + esc(S("myArea")) + "</button><div class='gm-myarea-body'>" + esc(S("loading")) + "</div>";
      var body = div.querySelector(".gm-myarea-body"), toggle = div.querySelector(".gm-myarea-toggle");
      // The home-screen icon opens on this panel (the manifest's start URL: ?panel=myarea).
      var asked = new URLSearchParams(window.location.search).get("panel") === "myarea";
      if (!Phone.myArea(toggle, body, asked)) {   // on a phone: in the bar and the sheet
        toggle.addEventListener("click", function () { div.classList.toggle("closed"); });
      }
      fetch("/api/my-area").then(function (r) { return r.json(); }).then(function (a) {
        body.innerHTML = "<h4>" + esc(S("openIssues")) + " (" + a.issues.length + ")</h4><ul class='gm-issues'>" +
          list(a.issues, function (i) {
            return "<li class='sla-" + i.sla + "'><a class='gm-open-issue' href='/?issue=" + esc(i.id) + "' data-issue='" + esc(i.id) + "'>" +
              "<span class='stage' data-color='" + esc(cfg.stageColors[i.stage] || "#999") + "'>" +
              esc(named("stage", i.stage, i.stage_name)) + "</span> " + esc(i.title) + " <small>" + esc(i.compound || "") +
              (i.sla === 3 ? " · " + esc(count("overdueDays", i.days_over)) : "") + "</small></a></li>";
          }) + "</ul><h4>" + esc(S("compound")) + "</h4><ul class='gm-compounds'>" +
          list(a.compounds, function (c) {
            return "<li data-id='" + esc(c.id) + "'><a href='#'>" + esc(c.name) + "</a> <small>" + esc(c.grid || "") + "</small>" +
              (window.Patrol ? Patrol.myAreaItem(c) : "") +
              (c.heads || []).map(function (h) { return "<br><small>" + esc(role(h)) + " " + person(h) + "</small>"; }).join("") + "</li>";
          }) + "</ul>";
        MapKit.paint(body);
        Array.prototype.forEach.call(body.querySelectorAll(".gm-compounds li[data-id]"), function (li) {
          li.querySelector("a").addEventListener("click", function (e) {
            e.preventDefault();
            var c = a.compounds.filter(function (x) { return String(x.id) === li.getAttribute("data-id"); })[0];
            map.fitBounds([[c.miny, c.minx], [c.maxy, c.maxx]], {maxZoom: 18, animate: false});
            openCompound(c.id, L.latLng((c.miny + c.maxy) / 2, (c.minx + c.maxx) / 2));
          });
        });
        if (window.Patrol) Patrol.bindMyArea(body, a.compounds);
      }).catch(function () { body.textContent = S("error"); });
    });
  }

  // Places are looked up on the server (/api/search), so the page holds no index that grows
  // with the city. An answer that arrives after a newer keystroke is dropped.
  function addSearch() {
    control("topleft", "gm-search", function (div) {
      div.innerHTML = "<input type='search' placeholder='" + esc(S("search")) + "' aria-label='" + esc(S("search")) + "'>" +
        "<ul class='gm-results'></ul>";
      var input = div.querySelector("input"), results = div.querySelector("ul"), asked = 0, timer = null;
      function show(hits) {
        results.innerHTML = hits.map(function (e, i) {
          return "<li data-i='" + i + "'>" + esc(e.name) + " <small>" + esc(e.parent || S(e.kind)) + "</small></li>";
        }).join("");
        Array.prototype.forEach.call(results.children, function (li) {
          li.addEventListener("click", function (e) {
            // The list is emptied below, which detaches this item: Leaflet could then no longer
            // tell that the click began inside a control and would also treat it as a map click.
            L.DomEvent.stopPropagation(e);
            var hit = hits[+li.getAttribute("data-i")];
            map.fitBounds(hit.bounds, {maxZoom: 18});
            results.innerHTML = "";
            input.value = hit.name;
            if (hit.kind === "compound") openCompound(hit.id, L.latLngBounds(hit.bounds).getCenter());
          });
        });
      }
      input.addEventListener("input", function () {
        var term = input.value.trim(), ticket = ++asked;
        clearTimeout(timer);
        if (!term) { results.innerHTML = ""; return; }
        timer = setTimeout(function () {
          fetch("/api/search?q=" + encodeURIComponent(term)).then(function (r) { return r.ok ? r.json() : {results: []}; })
            .then(function (body) { if (ticket === asked) show((Array.isArray(body) ? body : body.results || []).slice(0, 8)); })
            .catch(function () { if (ticket === asked) results.innerHTML = ""; });
        }, 150);
      });
    });
  }

  // The heat layer is filled for the area in view only, from cells binned on the server.
  function refreshHeat() {
    var heat = window[cfg.heat];
    if (!heat || !map.hasLayer(heat)) return;
    var b = map.getBounds();
    var params = {bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(","),
                  zoom: Math.round(map.getZoom())};
    if (cfg.asOf) params.as_of = cfg.asOf;
    fetch("/api/heat" + query(params)).then(function (r) { return r.json(); }).then(function (body) {
      var cells = body.cells || [], top = 1;
      cells.forEach(function (c) { if (c[2] > top) top = c[2]; });
      heat.setOptions({max: top});
      heat.setLatLngs(cells);
    });
  }

  function addLegend() {
    control("bottomright", "gm-legend", function (div) {
      legendBox = div;
      div.innerHTML = "<div class='legend-fills'>" + esc(S("loading")) + "</div>" +
        "<details class='legend-symbols'><summary>" + esc(S("legendMore")) + "</summary>" + symbols() + "</details>";
      legendFills = div.querySelector(".legend-fills");
      MapKit.paint(div);
      // Open on a tall (wall) screen; folded elsewhere, where it would cover the map and the
      // layer control.
      if (window.innerHeight >= 1000) div.querySelector("details").open = true;
    });
  }

  function addBadge() {
    control("bottomleft", "gm-badge", function (div) {
      div.innerHTML = "<b>" + esc(S("title")) + "</b>" +
        (cfg.asOf ? " <span class='gm-asof-note'>" + esc(cfg.asOf) + "</span>" : "") +
        (cfg.sample ? " <span class='gm-sample'>" + esc(S("sample")) + "</span>" : "") +
        "<nav class='gm-areas' aria-label='" + esc(S("area")) + "'></nav>";
      showArea(div.querySelector(".gm-areas"), new URLSearchParams(window.location.search).get("area"), false);
    });
  }

  // The drill-down city → district → subdistrict → community: the breadcrumb of the area in
  // view and a list of its children; choosing one fits the map to it and keeps it in the URL.
  function showArea(nav, area, fit) {
    fetch("/api/areas" + (area ? "?area=" + encodeURIComponent(area) : "")).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (a) {
        if (!a) return;
        if (fit) {
          map.fitBounds(a.bounds);
          var q = new URLSearchParams(window.location.search);
          q.set("area", area);
          history.replaceState(null, "", "?" + q.toString());
        }
        nav.innerHTML = a.trail.map(function (t, i) {
          return i === a.trail.length - 1 || !t.area ? "<span>" + esc(t.name) + "</span>"
            : "<a href='#' data-area='" + esc(t.area) + "'>" + esc(t.name) + "</a>";
        }).join(" › ") + (a.children.length ? " <select aria-label='" + esc(S("drillDown")) + "'><option value=''>" +
          esc(S("drillDown")) + "</option>" + a.children.map(function (c) {
            return "<option value='" + esc(c.area) + "'>" + esc(c.name) + "</option>";
          }).join("") + "</select>" : "");
        Array.prototype.forEach.call(nav.querySelectorAll("a[data-area]"), function (link) {
          link.addEventListener("click", function (e) { e.preventDefault(); showArea(nav, link.getAttribute("data-area"), true); });
        });
        var pick = nav.querySelector("select");
        if (pick) pick.addEventListener("change", function () { if (pick.value) showArea(nav, pick.value, true); });
      });
  }

  function lookup(latlng) {
    var params = {lon: latlng.lng.toFixed(6), lat: latlng.lat.toFixed(6)};
    fetch("/api/lookup" + query(params)).then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); })
      .then(function (res) {
        var b = res[1], html;
        if (res[0] !== 200) html = esc(b.error || S("outside"));
        else html = "<div class='card lookup'><h4>" + esc(S("youAreIn")) + "</h4>" +
          "<p>" + esc(b.community) + " · " + esc(b.grid || "") + (b.compound ? " · " + esc(b.compound) : "") + "</p>" +
          "<p><b>" + esc(S("gridLeader")) + "</b> " + person({name: b.grid_leader, phone: b.grid_leader_phone}) + "</p>" +
          (b.heads ? "<ul>" + b.heads.map(function (h) { return "<li>" + esc(role(h)) + " " + person(h) + "</li>"; }).join("") + "</ul>" : "") +
          "<p>" + esc(S("openIssues")) + S("colon") + esc(b.compound ? b.compound_open_issues : b.grid_open_issues) + "</p></div>";
        L.popup().setLatLng(latlng).setContent(html).openOn(map);
      });
  }

  function buildingCard(p) {
    return "<div class='card' data-building='" + esc(p.id) + "'><h4>" + esc(p.compound) + " " + esc(p.name) + "</h4>" +
      "<p>" + esc(count("floors", p.floors)) + " · " + esc(count("units", p.units)) + "</p><ul>" +
      list(p.heads, function (h) { return "<li>" + esc(role(h)) + (h.unit ? " (" + esc(h.unit) + ")" : "") + " " + person(h) + "</li>"; }) +
      "</ul></div>";
  }

  // A building tapped on the tiles: its card (with the 三长 the viewer may see) from the
  // buildings layer, asked for a few metres around the tap.
  function openBuilding(id, latlng) {
    var d = 0.0005, popup = L.popup({maxWidth: 320}).setLatLng(latlng).setContent(esc(S("loading"))).openOn(map);
    fetchLayer("buildings", {bbox: [latlng.lng - d, latlng.lat - d, latlng.lng + d, latlng.lat + d].map(function (v) { return v.toFixed(6); }).join(",")},
      function (data) {
        var f = (data.features || []).filter(function (x) { return x.properties.id === id; })[0];
        popup.setContent(f ? buildingCard(f.properties) : esc(S("error")));
      }, function () { popup.setContent(esc(S("error"))); });
  }

  // Buildings are only drawn at street level, fetched for the visible area (on a tiled map
  // they come in the tiles).
  function refreshBuildings() {
    if (cfg.tiled) return;
    if (map.getZoom() < 17) {
      if (buildings) { map.removeLayer(buildings); buildings = null; }
      return;
    }
    var b = map.getBounds();
    var params = {bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",")};
    fetchLayer("buildings", params, function (data) {
      if (buildings) map.removeLayer(buildings);
      buildings = L.geoJSON(data, {
        style: {color: "#334155", weight: 1, fillColor: "#f8fafc", fillOpacity: 0.9},
        onEachFeature: function (f, layer) {
          layer.bindPopup(buildingCard(f.properties));
          layer.on("click", function (e) { L.DomEvent.stopPropagation(e); });
        }
      }).addTo(map);
    });
  }

  // /?issue=<id> (the issue list's and dashboard's links): open at the issue with its card.
  // Inside the page every such link (我的范围, the confirmation of a record, a list of issues
  // at one spot) opens it in place, without a reload.
  function openLinkedIssue() {
    var id = parseInt(new URLSearchParams(window.location.search).get("issue"), 10);
    if (id) showIssue(id);
    document.addEventListener("click", function (e) {
      var link = e.target.closest && e.target.closest("a.gm-open-issue[data-issue]");
      if (!link || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      showIssue(link.getAttribute("data-issue"));
    });
  }

  // A wall screen may cycle through the color modes: ?rotate=N moves to the next every N s.
  function rotateModes() {
    var every = +new URLSearchParams(window.location.search).get("rotate");
    if (!(every > 0)) return;
    var keys = Object.keys(cfg.modes);
    setTimeout(function () { reloadWith("mode", keys[(keys.indexOf(cfg.mode) + 1) % keys.length]); },
               Math.max(10, every) * 1000);
  }

  function start(layerControl, liveLayers) {
    layers = layerControl;
    live = liveLayers || {};
    map = window[cfg.map];
    issuePane();
    if (live.cluster) live.cluster.on("clusterclick", clusterClick);
    Phone.start(cfg, map);
    if (window.Patrol) Patrol.start(cfg, map);
    addToolbar();
    addSearch();
    addMyArea();
    addLegend();
    addBadge();
    Phone.fold();
    map.on("click", function (e) { if (!takeClick(e.latlng)) lookup(e.latlng); });
    map.on("locationfound", function (e) { lookup(e.latlng); });
    map.on("moveend", refreshBuildings);
    map.on("moveend", refreshHeat);
    map.on("overlayadd", refreshHeat);
    Workflow.start(cfg, map);
    Outbox.start(cfg, map);
    Offline.start(cfg);
    openLinkedIssue();
    if (cfg.tiled) startTiles(); else addVenues();
    rotateModes();
    document.documentElement.setAttribute("data-gridmap", "ready");
  }

  return {
    configure: function (c) { cfg = c; },
    mapName: function () { return cfg.map; },
    refreshIssues: refreshIssues,
    start: start, fetchLayer: fetchLayer, compoundStyle: compoundStyle, compoundFeature: compoundFeature,
    issueMarker: issueMarker, issueFeature: issueFeature, updateIssue: updateIssue, clusterRadius: clusterRadius, clusterIcon: clusterIcon,
    issueChanged: issueChanged, showIssue: showIssue, openCompound: openCompound, esc: esc
  };
})();
