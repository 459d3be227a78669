/* The results dashboards' charts: Apache ECharts (static/vendor/echarts), SVG renderer.
   Each <div class="chart" data-chart="ID"> is drawn from the JSON in <script id="ID">
   (Django's json_script): {kind, horizontal, stacked, percent, categories, series, summary}.
   The chart is a picture of the data table beside it (aria-hidden); the summary sentence and
   the table carry the figures for screen readers and print. Okabe–Ito colours, with
   patterns (decals) and value labels where several series share a chart. */
(function () {
  "use strict";
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
  var lang = document.documentElement.lang || undefined;
  var numbers = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  var percents = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  var charts = [];

  function format(value, percent) {
    if (value === null || value === undefined) { return "—"; }
    return percent ? percents.format(value / 100) : numbers.format(value);
  }

  function option(data) {
    var several = data.series.length > 1;
    var valueAxis = {
      type: "value",
      max: data.percent ? 100 : null,
      minInterval: data.percent ? 0 : 1,
      axisLabel: { formatter: function (v) { return format(v, data.percent); }, hideOverlap: true }
    };
    var categoryAxis = {
      type: "category",
      data: data.categories,
      inverse: data.horizontal,
      axisLabel: { width: 120, overflow: "break", hideOverlap: !data.horizontal }
    };
    return {
      animation: false,
      color: PALETTE,
      aria: { enabled: true, label: { enabled: false }, decal: { show: several } },
      textStyle: { fontFamily: "inherit", fontSize: 12 },
      legend: several ? { top: 0, itemWidth: 24, itemHeight: 14 } : undefined,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true,
                 valueFormatter: function (v) { return format(v, data.percent); } },
      grid: { left: 4, right: 36, top: several ? 34 : 10, bottom: 4, containLabel: true },
      xAxis: data.horizontal ? valueAxis : categoryAxis,
      yAxis: data.horizontal ? categoryAxis : valueAxis,
      series: data.series.map(function (s) {
        return {
          type: "bar",
          name: s.name,
          data: s.values,
          stack: data.stacked ? "all" : undefined,
          barMaxWidth: 36,
          label: {
            show: true,
            position: data.stacked ? "inside" : (data.horizontal ? "right" : "top"),
            color: data.stacked ? "#fff" : "#1b1f2a",
            textBorderColor: data.stacked ? "#1b1f2a" : "transparent",
            textBorderWidth: data.stacked ? 2 : 0,
            formatter: function (p) { return p.value ? format(p.value, data.percent) : ""; }
          }
        };
      })
    };
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    if (data.horizontal) {
      var rows = data.categories.length * (data.stacked ? 1 : data.series.length);
      element.style.height = Math.max(160, rows * 34 + (data.series.length > 1 ? 60 : 30)) + "px";
    }
    var chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption(option(data));
    charts.push(chart);
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () { chart.resize(); }).observe(element);
    }
  }

  // Print: the data tables open, the charts fit the paper's width.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.chart-data:not([open])").forEach(function (d) {
      d.open = true; opened.push(d);
    });
    charts.forEach(function (c) { c.resize(); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
    charts.forEach(function (c) { c.resize(); });
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".chart[data-chart]").forEach(draw);
  });
}());
