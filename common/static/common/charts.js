/* Charts, drawn the same way on every page.

   Markup (templates/components/chart.html):
     <div class="chart" data-chart="<id of a json_script element>" data-testid="chart-<name>"></div>
   The json_script element holds {"option": <an ECharts option>, "format": {"value": "yuan" |
   "percent" | "share" | "number"}, "height": <px>}. Amounts arrive as yuan strings
   ("1234.50"); the formatters below only display them (¥1,234.50). Once drawn, the div gets
   data-rendered="1". No inline script: the page's Content-Security-Policy forbids it. */
(function () {
  "use strict";
  if (window.xiaodaiCharts) {
    return;
  }

  function grouped(value, decimals) {
    var number = Number(value);
    if (!isFinite(number)) {
      return String(value);
    }
    return Math.abs(number).toLocaleString("en-US", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
  }

  var FORMATS = {
    yuan: function (value) {
      return (Number(value) < 0 ? "-¥" : "¥") + grouped(value, 2);
    },
    percent: function (value) {
      return (Number(value) < 0 ? "-" : "") + grouped(value, 2) + " %";
    },
    share: function (value) {
      return Number(value).toFixed(3);
    },
    number: function (value) {
      return (Number(value) < 0 ? "-" : "") + grouped(value, 0);
    },
  };

  function formatter(name) {
    return FORMATS[name] || null;
  }

  function asList(value) {
    if (!value) {
      return [];
    }
    return Array.isArray(value) ? value : [value];
  }

  function applyFormats(option, format) {
    var value = formatter(format && format.value);
    if (!value) {
      return option;
    }
    option.tooltip = option.tooltip || {};
    if (!option.tooltip.valueFormatter) {
      option.tooltip.valueFormatter = function (v) {
        return Array.isArray(v) ? v.map(value).join(" / ") : value(v);
      };
    }
    asList(option.xAxis)
      .concat(asList(option.yAxis))
      .forEach(function (axis) {
        if (axis.type === "value") {
          axis.axisLabel = axis.axisLabel || {};
          axis.axisLabel.formatter = value;
          axis.axisLabel.hideOverlap = true;
        }
      });
    asList(option.visualMap).forEach(function (map) {
      map.formatter = value;
    });
    return option;
  }

  var drawn = [];

  function draw(element) {
    if (element.getAttribute("data-rendered") === "1" || typeof window.echarts === "undefined") {
      return;
    }
    var source = document.getElementById(element.getAttribute("data-chart") || "");
    if (!source) {
      return;
    }
    var spec;
    try {
      spec = JSON.parse(source.textContent);
    } catch (error) {
      return; // the table under the chart still holds the numbers
    }
    element.style.width = "100%";
    element.style.height = (spec.height || 320) + "px";
    var option = applyFormats(spec.option || {}, spec.format || {});
    option.animation = false;
    var chart = window.echarts.init(element, null, { renderer: spec.renderer || "svg" });
    chart.setOption(option);
    drawn.push(chart);
    element.setAttribute("data-rendered", "1");
  }

  function drawAll() {
    var elements = document.querySelectorAll("div.chart[data-chart]");
    for (var i = 0; i < elements.length; i += 1) {
      draw(elements[i]);
    }
  }

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) {
      window.clearTimeout(pending);
    }
    pending = window.setTimeout(function () {
      drawn.forEach(function (chart) {
        chart.resize();
      });
    }, 100);
  });

  window.xiaodaiCharts = { drawAll: drawAll, formats: FORMATS };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
