// The dashboard's charts (ECharts, served by the app): drawn from /api/dashboard.json (with the
// page's own query string, so the same extent); a bar with an issue count links to the issue
// list behind it, the name of a child area to its own dashboard (drilling down).
(function () {
  "use strict";
  var FONT = 'system-ui, "Noto Sans CJK SC", "Noto Sans SC", sans-serif';
  var INK = "#1f2937", MUTED = "#6b7280", GRID = "#e5e1d8";
  var S = JSON.parse(document.querySelector(".charts").getAttribute("data-strings"));
  var charts = [];

  // Text scales with the screen: 1920 px wide is the wall screen; never below 12 px (a phone).
  function px(size) { return Math.max(12, Math.round(size * window.innerWidth / 1920)); }

  // The width of a chart's box: what its labels have to share (a third of a wall, a phone).
  function widthOf(id) { return document.getElementById(id).clientWidth || window.innerWidth; }

  // Of n category labels side by side, every how many there is room to show one; text of
  // ``chars`` characters at the axis' size (a digit about .6 em) and a gap.
  function every(id, n, chars) {
    var slot = (widthOf(id) - 3 * px(15)) / Math.max(1, n);
    return Math.max(1, Math.ceil((chars * 0.6 * px(14) + 8) / slot));
  }

  function base(extra) {
    var option = {
      textStyle: {fontFamily: FONT, color: INK, fontSize: px(16)},
      // room at the top for the legend and the value over the highest bar, at the right for
      // the last axis label (100%) and the value beside the longest bar
      grid: {left: px(12), right: Math.max(px(24), 32), top: Math.max(px(36), 2 * px(16) + 16), bottom: px(8),
             containLabel: true},
      // Tooltips drawn in the canvas (richText), not as HTML: names are data, and the page's
      // CSP refuses the inline styles of ECharts' HTML tooltips.
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, renderMode: "richText", textStyle: {fontSize: px(16)}},
      legend: {top: 0, right: px(12), textStyle: {fontSize: px(16), color: INK}},
      animation: false
    };
    Object.keys(extra).forEach(function (k) { option[k] = extra[k]; });
    return option;
  }

  // The labels name their font: ECharts makes room for them (containLabel) by measuring them
  // in their own font, not the chart's, and a long name in another font is drawn cut off.
  function axis(type, data, extra) {
    var a = {type: type, axisLabel: {fontSize: px(15), color: INK}, axisLine: {lineStyle: {color: MUTED}},
      splitLine: {lineStyle: {color: GRID}}};
    if (data) a.data = data;
    Object.keys(extra || {}).forEach(function (k) { a[k] = extra[k]; });
    a.axisLabel.fontFamily = FONT;
    return a;
  }

  // A name as plain text in a richText tooltip, where {style|text} and braces are markup.
  function plain(text) { return String(text).replace(/[{}|]/g, " "); }

  function item(value, href) { return {value: value, href: href}; }

  function label(position, formatter) {
    return {show: true, position: position, fontSize: px(15), color: INK, formatter: formatter || "{c}"};
  }

  function draw(id, option, labelLinks) {
    var el = document.getElementById(id);
    var chart = echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(option);
    chart.on("click", function (p) {
      var href = p.componentType === "yAxis" ? (labelLinks || {})[p.value] : p.data && p.data.href;
      if (href) window.location.href = href;
    });
    charts.push(chart);
    el.setAttribute("data-drawn", "1");
  }

  function render(d) {
    // Month numbers (every one on a wall, every second or third on a phone), with the year under
    // the first and under the first shown of each year; the counts over the bars when there is
    // room for them (else a tap on a bar tells its count).
    var step = every("chart-months", d.months.length, 2), counts = every("chart-months", d.months.length, 3) === 1;
    draw("chart-months", base({
      legend: {show: false},
      xAxis: axis("category", d.months.map(function (m) { return m.month; }), {axisLabel: {fontSize: px(14), color: INK,
        interval: step - 1, formatter: function (v, i) {
          return v.slice(5) + (i === 0 || +v.slice(5) <= step ? "\n" + v.slice(0, 4) : "");
        }}}),
      yAxis: axis("value", null, {minInterval: 1}),
      series: [{type: "bar", name: S.issues, itemStyle: {color: "#b45309"}, label: counts ? label("top") : {show: false},
        data: d.months.map(function (m) { return item(m.count, m.href); })}]
    }));

    var categories = d.categories.slice().reverse();
    draw("chart-categories", base({
      legend: {show: false},
      xAxis: axis("value", null, {minInterval: 1, axisLabel: {show: false}}),   // each bar tells its count
      // each name on one line: a name broken in two is taller than a row and runs into the next
      yAxis: axis("category", categories.map(function (c) { return c.name; }),
        {axisLabel: {fontSize: px(15), color: INK, interval: 0}}),
      series: [{type: "bar", name: S.issues, itemStyle: {color: "#2563eb"}, label: label("right"),
        data: categories.map(function (c) { return item(c.count, c.href); })}]
    }));

    var children = d.children.slice().reverse();
    var names = children.map(function (c) { return c.name; });
    var drill = {};
    children.forEach(function (c) { drill[c.name] = c.href; });
    var childAxis = axis("category", names, {axisLabel: {fontSize: px(15), color: "#1e40af", interval: 0},
      triggerEvent: true});
    draw("chart-communities", base({
      xAxis: axis("value", null, {minInterval: 1}),
      yAxis: childAxis,
      series: [
        {type: "bar", stack: "n", name: S.open, itemStyle: {color: "#dc2626"},
          data: children.map(function (c) { return item(c.open, c.open_href); })},
        {type: "bar", stack: "n", name: S.closed, itemStyle: {color: "#16a34a"},
          data: children.map(function (c) { return item(c.closed, c.closed_href); })}
      ]
    }), drill);

    draw("chart-on-time", base({
      legend: {show: false},
      tooltip: {trigger: "item", renderMode: "richText", textStyle: {fontSize: px(16)}, formatter: function (p) {
        var c = children[p.dataIndex];
        return plain(c.name) + "\n" + S.rate + " " + (c.on_time_rate === null ? "—" : c.on_time_rate + "%") +
          "\n" + S.late + " " + c.late + " " + S.count;
      }},
      xAxis: axis("value", null, {max: 100, axisLabel: {fontSize: px(15), color: INK, formatter: "{value}%"}}),
      yAxis: childAxis,
      series: [{type: "bar", name: S.rate, label: label("right", "{c}%"),
        itemStyle: {color: "#0f766e"},
        data: children.map(function (c) { return item(c.on_time_rate, c.late_href); })}]
    }), drill);

    // Bars across, like the other charts of names: a platform's name (several words in English)
    // has the room left of its bars, on one line. Each bar tells its count, so no value axis labels.
    var platforms = d.platforms.slice().reverse();
    draw("chart-platforms", base({
      // the legend's two names one under the other: side by side they need more than a third of a desk
      legend: {top: 0, left: px(12), orient: "vertical", itemGap: 4, textStyle: {fontSize: px(16), color: INK}},
      grid: {left: px(12), right: Math.max(px(24), 32), top: 2 * (px(16) + 8) + px(8), bottom: px(8), containLabel: true},
      xAxis: axis("value", null, {minInterval: 1, axisLabel: {show: false}}),
      yAxis: axis("category", platforms.map(function (p) { return p.name; }),
        {axisLabel: {fontSize: px(14), color: INK, interval: 0}}),
      series: [
        {type: "bar", name: S.meetings, itemStyle: {color: "#7c2d12"}, label: label("right"), barGap: "10%",
          data: platforms.map(function (p) { return p.meetings; })},
        {type: "bar", name: S.linked, itemStyle: {color: "#f59e0b"}, label: label("right"),
          data: platforms.map(function (p) { return item(p.issues, p.href); })}
      ]
    }));
    document.documentElement.setAttribute("data-dashboard", "ready");
  }

  function load() {
    return fetch("/api/dashboard.json" + window.location.search, {cache: "no-cache"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }

  function showError() {
    if (document.querySelector(".charts > .error")) return;
    var p = document.createElement("p");
    p.className = "error";
    p.textContent = S.error;
    document.querySelector(".charts").prepend(p);
  }

  // Data only, every REFRESH seconds: the figures are taken from the page as the server renders
  // it now, the charts redrawn from the JSON; nothing else moves.
  var REFRESHED = [".headline", ".stages", ".drill", ".updated"];
  function refresh() {
    Promise.all([fetch(window.location.href, {cache: "no-cache"}).then(function (r) {
      if (!r.ok) throw new Error(r.status); return r.text(); }), load()])
      .then(function (got) {
        var fresh = new DOMParser().parseFromString(got[0], "text/html");
        REFRESHED.forEach(function (selector) {
          var now = document.querySelector(selector), next = fresh.querySelector(selector);
          if (now && next) now.innerHTML = next.innerHTML;
        });
        last = got[1];
        redraw();
        var error = document.querySelector(".charts > .error");
        if (error) error.remove();
        document.documentElement.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(showError);
  }

  // The labels are laid out for the chart's width: a new width (a phone turned) draws anew.
  var last = null, resizing = null;
  function redraw() {
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    render(last);
  }

  function start() {
    load().then(function (d) { last = d; render(d); }).catch(showError);
    window.addEventListener("resize", function () {
      clearTimeout(resizing);
      if (last) resizing = setTimeout(redraw, 150);
    });
    var every = +document.body.getAttribute("data-refresh");
    if (every > 0) setInterval(refresh, every * 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
