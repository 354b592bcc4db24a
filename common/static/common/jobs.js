/* Long jobs (common/jobs.py): every element marked data-job polls its data-job-status-url, moves
   its <progress> and figures, and when the job is done fetches the job's result (an HTML fragment
   from our own server) into its data-job-result element, without reloading the page. A static
   file, so the Content-Security-Policy needs no inline script. */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var RETRY_MS = 3000;

  function watch(box) {
    // Once per element, however many times the script is included on a page.
    if (box.hasAttribute("data-job-watched")) { return; }
    box.setAttribute("data-job-watched", "");
    var url = box.getAttribute("data-job-status-url");
    var bar = box.querySelector("[data-job-progress]");
    var percent = box.querySelector("[data-job-percent]");
    var status = box.querySelector("[data-job-status]");
    var message = box.querySelector("[data-job-message]");
    var error = box.querySelector("[data-job-error]");
    var result = box.querySelector("[data-job-result]");

    function showResult(resultUrl) {
      if (!resultUrl || !result) { box.setAttribute("data-job-state", "done"); return; }
      fetch(resultUrl, {headers: {"Accept": "text/html"}, credentials: "same-origin"})
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.text();
        })
        .then(function (html) {
          // Our own server's fragment, rendered by Django's auto-escaping templates.
          result.innerHTML = html;
          box.setAttribute("data-job-state", "done");
          box.dispatchEvent(new CustomEvent("job:done", {bubbles: true}));
        })
        .catch(function () { setTimeout(function () { showResult(resultUrl); }, RETRY_MS); });
    }

    function update(data) {
      if (bar) { bar.value = data.percent; }
      if (percent) { percent.textContent = data.percent; }
      if (status) { status.textContent = data.status_display; }
      if (message) { message.textContent = data.message || ""; }
      if (error) {
        error.textContent = data.error || "";
        error.hidden = !data.error;
      }
    }

    function poll() {
      fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (data) {
          update(data);
          if (data.status === "done") { showResult(data.result_url); return; }
          if (data.status === "failed") { box.setAttribute("data-job-state", "failed"); return; }
          box.setAttribute("data-job-state", data.status);
          setTimeout(poll, POLL_MS);
        })
        .catch(function () { setTimeout(poll, RETRY_MS); });
    }

    var state = box.getAttribute("data-job-state");
    if (state === "done" || state === "failed") {
      if (state === "done" && result && !result.children.length) { poll(); }
      return;
    }
    poll();
  }

  function start() {
    var boxes = document.querySelectorAll("[data-job]");
    for (var i = 0; i < boxes.length; i++) { watch(boxes[i]); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
