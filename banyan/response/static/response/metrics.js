/* The response metrics page: draws each table's chart with ECharts from the data the page holds in
 * the "metrics-charts" json_script (names already in the page's language, shares in percent). The
 * tables under the charts hold the same numbers for screen readers and without JavaScript; a chart's
 * box stays hidden until it is drawn.
 */
(function () {
  "use strict";

  var source = document.getElementById("metrics-charts");
  if (!source || !window.echarts) {
    return;
  }
  var specs = JSON.parse(source.textContent);
  // Distinguishable for the common colour blindnesses (Okabe–Ito), darker shades for text contrast.
  var COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"];
  var elder = document.body.classList.contains("elder");
  var fontSize = elder ? 16 : 12;

  function formatter(unit) {
    return function (value) {
      return value === null || value === undefined ? "—" : value + unit;
    };
  }

  function option(spec, width) {
    // A few categories (grades, bodies, scores): each label wraps within its share of the width
    // rather than being cut; many (the trend's days): labels that would overlap are left out.
    var few = spec.categories.length <= 12;
    var labelWidth = Math.max(40, Math.floor((width - 60) / Math.max(1, spec.categories.length)) - 6);
    var axisLabel = few
      ? { hideOverlap: true, fontSize: fontSize, width: labelWidth, overflow: "break", interval: 0 }
      : { hideOverlap: true, fontSize: fontSize };
    return {
      animation: false,
      color: COLOURS,
      textStyle: { fontSize: fontSize },
      tooltip: { trigger: "axis", confine: true, renderMode: "richText" }, // drawn as text, never HTML
      legend: { top: 0, type: "scroll", textStyle: { fontSize: fontSize } },
      // ECharts leaves too little room under wrapped labels: some more below.
      grid: { left: 8, right: 8, top: elder ? 64 : 52, bottom: few ? (elder ? 36 : 24) : 8, containLabel: true },
      xAxis: {
        type: "category",
        data: spec.categories,
        axisLabel: axisLabel,
      },
      yAxis: spec.axes.map(function (axis) {
        return {
          type: "value",
          name: axis.name,
          min: 0,
          max: axis.max === null ? undefined : axis.max,
          minInterval: 1,
          nameTextStyle: { fontSize: fontSize },
          axisLabel: { fontSize: fontSize, formatter: "{value}" + (axis.unit || "") },
        };
      }),
      series: spec.series.map(function (series) {
        return {
          name: series.name,
          type: series.kind,
          yAxisIndex: series.axis || 0,
          data: series.values,
          connectNulls: false,
          tooltip: { valueFormatter: formatter(series.unit || "") },
        };
      }),
    };
  }

  var drawn = [];
  specs.forEach(function (spec) {
    var node = document.querySelector('[data-chart="' + spec.key + '"]');
    if (!node) {
      return;
    }
    node.hidden = false;
    var chart = window.echarts.init(node, null, { renderer: "svg" });
    chart.setOption(option(spec, node.clientWidth));
    drawn.push({ chart: chart, spec: spec, node: node });
  });

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending === null) {
      pending = window.requestAnimationFrame(function () {
        pending = null;
        drawn.forEach(function (item) {
          item.chart.resize();
          item.chart.setOption(option(item.spec, item.node.clientWidth));
        });
      });
    }
  });
})();
