/* Figures kept whole: a date (with its time), an amount, a rate or a per cent and a loan's or
   application's reference never break across two lines on a narrow screen ("2026-" / "12-20").
   Every such figure in the page's text is wrapped in <span class="fig">, which the page's
   stylesheet keeps on one line (white-space: nowrap). Loaded on the portal's and the workbench's
   pages alike (templates/base.html, templates/admin/base_site.html); the text itself is not
   changed (copying a reference copies the reference). Form fields, scripts and charts are left
   alone. */
(function () {
  "use strict";
  if (window.xiaodaiFigures) {
    return;
  }
  var FIGURE = new RegExp(
    [
      "\\d{4}-\\d\\d-\\d\\d(?: \\d\\d:\\d\\d(?::\\d\\d)?)?",
      "-?¥?\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?",
      "-?¥\\d+(?:\\.\\d+)?",
      "\\d+(?:\\.\\d+)? ?%(?:/(?:day|year|日|年))?",
      "\\b[A-Z]\\d{8}-\\d+",
    ].join("|"),
    "g"
  );
  var SKIPPED = "script, style, textarea, select, option, noscript, template, svg, .fig, [contenteditable]";

  function accept(node) {
    var parent = node.parentElement;
    if (!parent || parent.closest(SKIPPED)) {
      return NodeFilter.FILTER_REJECT;
    }
    FIGURE.lastIndex = 0;
    return FIGURE.test(node.data) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
  }

  function wrap(node) {
    var text = node.data;
    var fragment = document.createDocumentFragment();
    var last = 0;
    FIGURE.lastIndex = 0;
    for (var match = FIGURE.exec(text); match; match = FIGURE.exec(text)) {
      if (match.index > last) {
        fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
      }
      var figure = document.createElement("span");
      figure.className = "fig";
      figure.textContent = match[0];
      fragment.appendChild(figure);
      last = match.index + match[0].length;
    }
    if (last < text.length) {
      fragment.appendChild(document.createTextNode(text.slice(last)));
    }
    node.parentNode.replaceChild(fragment, node);
  }

  function keepWhole(root) {
    var walker = document.createTreeWalker(root || document.body, NodeFilter.SHOW_TEXT, { acceptNode: accept });
    var found = [];
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      found.push(node);
    }
    found.forEach(wrap);
  }

  window.xiaodaiFigures = { keepWhole: keepWhole };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      keepWhole(document.body);
    });
  } else {
    keepWhole(document.body);
  }
})();
