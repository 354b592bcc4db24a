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

  /* Laid out for the width it is drawn at, the same way for every chart, so that no label covers
     another or is cut off, on a 375 px phone as on a desktop:
     - legends scroll (one line, arrows) rather than wrap over the plot;
     - an axis's name sits beside the axis, in the middle, beyond its labels (ECharts leaves an
       axis name at the end of the axis, over the last label, and outside containLabel's room);
     - category labels that all must show (interval 0) turn just enough to clear one another;
     - labels that may be thinned hide where they would overlap. */
  var FONT = "12px sans-serif";
  var LINE = 16; // the height a 12 px label takes
  var measure = null;

  function textWidth(text) {
    if (!measure) {
      measure = document.createElement("canvas").getContext("2d");
      measure.font = FONT;
    }
    return measure.measureText(String(text)).width;
  }

  function widest(labels, format) {
    return (labels || []).reduce(function (most, label) {
      var text = format ? format(label) : label;
      return Math.max(most, textWidth(text));
    }, 0);
  }

  // ECharts' legend: 5 px padding, entries 14 px high with a 25 px symbol and 5 px before the
  // words, 10 px between entries and between lines.
  var LEGEND_PADDING = 5;
  var LEGEND_ITEM = 14;
  var LEGEND_SYMBOL = 30;
  var LEGEND_GAP = 10;
  var LEGEND_ROWS = 3;

  function legendNames(option, legend) {
    if (legend.data) {
      return legend.data.map(function (item) {
        return typeof item === "string" ? item : item.name;
      });
    }
    var names = [];
    asList(option.series).forEach(function (series) {
      if (series.type === "pie" || series.type === "funnel") {
        (series.data || []).forEach(function (item) {
          if (item && item.name !== undefined) names.push(item.name);
        });
      } else if (series.name !== undefined) {
        names.push(series.name);
      }
    });
    return names.filter(function (name, index) {
      return names.indexOf(name) === index;
    });
  }

  function legendRows(names, width, legend) {
    var room = width - (legend.left || 0) - (legend.right || 0) - 2 * LEGEND_PADDING;
    var gap = legend.itemGap || LEGEND_GAP;
    var rows = names.length ? 1 : 0;
    var used = 0;
    names.forEach(function (name) {
      var entry = LEGEND_SYMBOL + textWidth(name);
      if (used > 0 && used + gap + entry > room) {
        rows += 1;
        used = entry;
      } else {
        used += (used > 0 ? gap : 0) + entry;
      }
    });
    return rows;
  }

  function layOut(option, width) {
    var grid = (option.grid = option.grid || {});
    ["left", "right", "top", "bottom"].forEach(function (side) {
      grid[side] = typeof grid[side] === "number" ? grid[side] : 8;
    });
    grid.containLabel = true;
    asList(option.legend).forEach(function (legend) {
      legend.left = legend.left === undefined ? 0 : legend.left;
      legend.right = legend.right === undefined ? 0 : legend.right;
      // Every entry shows: on as many lines as it takes, up to LEGEND_ROWS, the plot moved down
      // below them; more entries than that scroll (one line, arrows) rather than push the plot
      // off. A scrolling legend of a few entries hid the last ones on a phone.
      var rows = legendRows(legendNames(option, legend), width, legend);
      if (rows <= LEGEND_ROWS) {
        legend.type = "plain";
        var top = typeof legend.top === "number" ? legend.top : 0;
        var height = 2 * LEGEND_PADDING + rows * LEGEND_ITEM + (rows - 1) * (legend.itemGap || LEGEND_GAP);
        grid.top = Math.max(grid.top, top + height + LINE / 2 + 4);
      } else {
        legend.type = "scroll";
      }
    });
    var plot = Math.max(80, width - grid.left - grid.right - 48);
    asList(option.xAxis).forEach(function (axis) {
      var label = (axis.axisLabel = axis.axisLabel || {});
      var labels = axis.type === "category" ? axis.data || [] : [];
      var extent = LINE; // how far the labels reach below the axis line
      if (labels.length) {
        var slot = plot / labels.length;
        var longest = widest(labels);
        if (label.interval === 0) {
          if (longest + 8 <= slot) {
            label.rotate = 0;
          } else {
            // Turned labels stand slot × sin(angle) apart: at least a line.
            var angle = (Math.asin(Math.min(1, LINE / slot)) * 180) / Math.PI;
            label.rotate = Math.min(90, Math.max(label.rotate || 0, Math.ceil(angle)));
          }
        } else {
          label.hideOverlap = true;
        }
        // Clear of the value axis's lowest amount, which sits on the axis line beside the first
        // category's label (CJK fonts draw taller boxes than Latin ones).
        label.margin = Math.max(label.margin || 8, 12);
        var turned = ((label.rotate || 0) * Math.PI) / 180;
        extent = longest * Math.sin(turned) + LINE * Math.cos(turned);
      }
      if (axis.name) {
        axis.nameLocation = "middle";
        axis.nameGap = Math.ceil(extent) + 12;
        grid.bottom = Math.max(grid.bottom, LINE + 12);
      }
    });
    asList(option.xAxis).forEach(function (axis) {
      if (axis.type === "value") {
        // The first and last amounts along the bottom end inside the chart, not across its edge.
        axis.axisLabel.alignMinLabel = "left";
        axis.axisLabel.alignMaxLabel = "right";
      }
    });
    asList(option.yAxis).forEach(function (axis) {
      var label = (axis.axisLabel = axis.axisLabel || {});
      if (axis.type !== "category") {
        label.hideOverlap = true;
      }
      if (axis.name) {
        var labels = axis.type === "category" ? axis.data : [axis.max === undefined ? 100 : axis.max];
        axis.nameLocation = "middle";
        axis.nameRotate = 90;
        axis.nameGap = Math.ceil(widest(labels, label.formatter)) + 12;
        grid.left = Math.max(grid.left, LINE + 8);
      }
    });
    return option;
  }

  var drawn = [];

  function optionFor(spec, width) {
    var option = applyFormats(JSON.parse(JSON.stringify(spec.option || {})), spec.format || {});
    option.animation = false;
    return layOut(option, width);
  }

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
    var chart = window.echarts.init(element, null, { renderer: spec.renderer || "svg" });
    chart.setOption(optionFor(spec, element.clientWidth));
    drawn.push({ chart: chart, spec: spec, element: element });
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
      drawn.forEach(function (one) {
        one.chart.resize();
        one.chart.setOption(optionFor(one.spec, one.element.clientWidth), true);
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
