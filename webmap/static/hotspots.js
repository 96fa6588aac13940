// The hotspot page: Gi* cells and DBSCAN clusters from /api/hotspots.geojson (with the page's
// own query string), the filter form (with the area to drill up or down), the legend and the
// compound ranking.
// Every piece of text that comes from data is escaped before it reaches innerHTML.
var HotspotMap = (function () {
  "use strict";
  var cfg = null, map = null;
  var S = function (key) { return cfg.strings[key] || key; };

  var esc = MapKit.esc;

  function control(position, className, build) { MapKit.control(map, position, className, build); }

  function options(name, pairs, selected, extra) {
    var html = "<option value=''>" + esc(S("any")) + "</option>" + (extra || "");
    return html + pairs.map(function (p) {
      return "<option value='" + esc(p[0]) + "'" + (String(p[0]) === String(selected) ? " selected" : "") + ">" +
        esc(p[1]) + "</option>";
    }).join("");
  }

  function addFilters() {
    var f = cfg.filters, c = cfg.choices;
    control("topleft", "hs-filters", function (div) {
      div.innerHTML = "<form method='get' action='/hotspots'>" +
        "<h3>" + esc(S("title")) + "</h3>" +
        "<label>" + esc(S("from")) + " <input type='date' name='from' value='" + esc(f.from) + "'></label>" +
        "<label>" + esc(S("to")) + " <input type='date' name='to' value='" + esc(f.to) + "'></label>" +
        "<label>" + esc(S("category")) + " <select name='category'>" + options("category", c.category, f.category) + "</select></label>" +
        "<label>" + esc(S("channel")) + " <select name='channel'>" + options("channel", c.channel, f.channel) + "</select></label>" +
        "<label>" + esc(S("stage")) + " <select name='stage'>" + options("stage", c.stage, f.stage,
          "<option value='open'" + (f.stage === "open" ? " selected" : "") + ">" + esc(S("open")) + "</option>") + "</select></label>" +
        "<label>" + esc(S("area")) + " <select name='area'>" + cfg.areas.map(function (a) {
          return "<option value='" + esc(a[0]) + "'" + (a[0] === f.area ? " selected" : "") + ">" + esc(a[1]) + "</option>";
        }).join("") + "</select></label>" +
        "<label>" + esc(S("cell")) + " <select name='cell'>" + cfg.sizes.map(function (r) {
          return "<option" + (r === f.cell ? " selected" : "") + ">" + r + "</option>";
        }).join("") + "</select></label>" +
        "<div class='hs-buttons'><button type='submit'>" + esc(S("apply")) + "</button> " +
        "<a href='/hotspots" + (f.area ? "?area=" + encodeURIComponent(f.area) : "") + "'>" + esc(S("reset")) + "</a></div>" +
        "<p class='hs-summary'>" + esc(S("loading")) + "</p>" +
        "</form>";
      // Unset filters stay out of the URL, so a shared link says only what was chosen; a new
      // area gets the cell size that suits it.
      div.querySelector("form").addEventListener("submit", function () {
        var form = this;
        if (form.elements.area.value !== f.area) form.elements.cell.disabled = true;
        Array.prototype.forEach.call(form.elements, function (el) { if (el.name && !el.value) el.disabled = true; });
      });
    });
  }

  function addLegend(legend) {
    control("bottomright", "gm-legend hs-legend", function (div) {
      div.innerHTML = "<h4>" + esc(S("legend")) + "</h4>" + legend.map(function (e) {
        return "<div class='legend-row'><i data-color='" + esc(e.color) + "'></i>" + esc(e.label) + "</div>";
      }).join("") + "<div class='legend-row'><i class='hs-cluster-key'></i>" + esc(S("cluster")) + "</div>";
      MapKit.paint(div);
    });
  }

  function addRanking() {
    control("topright", "hs-ranking", function (div) {
      var tabs = [["open", S("byOpen")], ["overdue", S("byOverdue")]];
      div.innerHTML = "<h3>" + esc(S("ranking")) + "</h3><div class='hs-tabs'>" + tabs.map(function (t, i) {
        return "<button type='button' data-tab='" + t[0] + "'" + (i === 0 ? " class='active'" : "") + ">" + esc(t[1]) + "</button>";
      }).join("") + "</div><ol class='hs-rank'></ol>";
      var list = div.querySelector("ol");
      function show(key) {
        var rows = cfg.ranking[key];
        Array.prototype.forEach.call(div.querySelectorAll(".hs-tabs button"), function (b) {
          b.classList.toggle("active", b.getAttribute("data-tab") === key);
        });
        list.innerHTML = rows.length ? rows.map(function (r, i) {
          var query = (key === "open" ? "stage=open" : "overdue=1") +
            (cfg.areaQuery.area ? "&area=" + encodeURIComponent(cfg.areaQuery.area) : "");
          return "<li data-i='" + i + "' data-bounds='" + esc(JSON.stringify([[r.miny, r.minx], [r.maxy, r.maxx]])) + "'>" +
            "<span class='hs-name'>" + esc(r.name) + "</span>" +
            "<small>" + esc(r.community) + "</small>" +
            "<a class='hs-count' href='" + esc(cfg.issuesUrl) + "?compound=" + esc(r.id) + "&" + query + "' title='" + esc(S("list")) + "'>" +
            esc(key === "open" ? r.open : r.overdue) + "</a></li>";
        }).join("") : "<li class='muted'>" + esc(S("none")) + "</li>";
        Array.prototype.forEach.call(list.querySelectorAll("li[data-i]"), function (li) {
          li.addEventListener("click", function (e) {
            if (e.target.tagName === "A") return;
            var r = rows[+li.getAttribute("data-i")];
            map.fitBounds([[r.miny, r.minx], [r.maxy, r.maxx]], {maxZoom: 17, padding: [40, 40]});
            Array.prototype.forEach.call(list.children, function (x) { x.classList.remove("active"); });
            li.classList.add("active");
          });
        });
      }
      Array.prototype.forEach.call(div.querySelectorAll(".hs-tabs button"), function (b) {
        b.addEventListener("click", function () { show(b.getAttribute("data-tab")); });
      });
      show("open");
    });
  }

  function addBadge() {
    control("bottomleft", "gm-badge", function (div) {
      div.innerHTML = "<b>" + esc(S("title")) + "</b>" + (cfg.sample ? " <span class='gm-sample'>" + esc(S("sample")) + "</span>" : "");
    });
  }

  // The cells go beneath the outlines (which take no clicks), so both show and hovering a
  // cell still tells its figures.
  function drawCells(data) {
    L.geoJSON(data, {
      style: function (f) {
        var ns = f.properties["class"] === "ns";
        return {color: ns ? "#9ca3af" : f.properties.color, weight: ns ? 0.5 : 1,
          fillColor: f.properties.color, fillOpacity: ns ? 0.12 : 0.6, className: "hs-cell hs-" + f.properties["class"]};
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindTooltip(esc(S("count")) + " " + esc(p.count) + " · " + esc(S("z")) + " " + esc(p.z) +
          " · " + esc(S("p")) + " " + esc(p.p), {sticky: true});
      }
    }).addTo(map).bringToBack();
  }

  function drawClusters(data) {
    var layer = L.geoJSON(data, {
      style: {color: "#111827", weight: 2, dashArray: "5 4", fill: true, fillColor: "#111827", fillOpacity: 0.06,
        className: "hs-cluster"},
      onEachFeature: function (f, shape) {
        var p = f.properties;
        var text = esc(S("clusterIssues")) + " " + esc(p.issues) + (p.compound ? " · " + esc(p.compound) : "");
        shape.bindTooltip(text, {sticky: true});
        L.marker(shape.getBounds().getCenter(), {interactive: false, icon: L.divIcon({
          className: "hs-cluster-label", iconSize: null, html: "<span>" + esc(p.issues) + "</span>"})
        }).addTo(map);
      }
    });
    layer.addTo(map);
  }

  function summarize(s, clusters) {
    document.querySelector(".hs-summary").innerHTML = "<span class='data'>" + esc(s.area) + "</span>\n" + esc(
      s.issues + " " + S("issues") + " · " + s.cells + " " + S("cells") + "\n" +
      S("hot") + " " + s.hot + " · " + S("cold") + " " + s.cold + " · " + S("clusters") + " " + clusters);
  }

  function start() {
    map = window[cfg.map];
    addFilters();
    addRanking();
    addBadge();
    var q = new URLSearchParams(cfg.query);
    if (cfg.gcj02) q.set("crs", "gcj02");
    fetch(cfg.api + "?" + q.toString(), {cache: "no-cache"})
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.error); return b; }); })
      .then(function (data) {
        drawCells(data);
        drawClusters(data.clusters);
        addLegend(data.legend);
        summarize(data.summary, data.clusters.features.length);
        document.documentElement.setAttribute("data-hotspots", "ready");
      })
      .catch(function (e) { document.querySelector(".hs-summary").textContent = S("error") + ": " + e.message; });
  }

  return {configure: function (c) { cfg = c; }, start: start};
})();
