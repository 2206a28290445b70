// The console's charts (ipynb_tools/console/pages/dashboard.py): draws the Plotly figures the page
// carries as JSON and, on a real-time view, fetches them again every N seconds while the page is
// visible. GET only (no state changes); same-origin credentials (the hub's cookie) and the page's XSRF
// token, which JupyterHub's service auth asks of every cookie-authenticated fetch.
(function () {
  "use strict";

  // No button that sends a course's data elsewhere: plotly.js 3 shows "Share chart..." (upload to Plotly
  // Cloud) unless showSendToCloud is false; the console works on a campus network, its data stays there.
  var config = {
    displaylogo: false,
    responsive: true,
    showSendToCloud: false,
    modeBarButtonsToRemove: ["sendDataToCloud", "sendChartToCloud"],
  };

  // The page's language for plotly.js (ipynb_tools/console/plotly_locale.py): month and day names, the
  // axis' date patterns and the modebar's words, registered as a plotly.js locale before the first draw.
  function useLocale() {
    var source = document.getElementById("plotly-locale");
    if (!source || config.locale) {
      return;
    }
    var locale = JSON.parse(source.textContent);
    window.Plotly.register(locale);
    config.locale = locale.name;
  }

  function draw(element, view) {
    if (!element || !view) {
      return;
    }
    var figure = view.figure;
    window.Plotly.react(element, figure.data || [], figure.layout || {}, config);
    var paging = view.paging;
    var shown = document.querySelector('[data-paging-for="' + element.id + '"]');
    if (shown && paging) {
      shown.querySelector(".first").textContent = paging.first;
      shown.querySelector(".last").textContent = paging.last;
      shown.querySelector(".total").textContent = paging.total;
    }
  }

  function drawAll(data) {
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var path = element.getAttribute("data-chart").split(".");
      var view = data;
      path.forEach(function (key) {
        view = view ? view[key] : undefined;
      });
      draw(element, view);
    });
    if (data.updated) {
      var updated = document.getElementById("updated");
      if (updated) {
        updated.textContent = data.updated;
      }
    }
  }

  function start() {
    var source = document.getElementById("chart-data");
    if (!source) {
      return;
    }
    useLocale();
    drawAll(JSON.parse(source.textContent));
    var live = document.getElementById("live");
    if (!live || !live.getAttribute("data-url")) {
      return;
    }
    var url = live.getAttribute("data-url");
    var seconds = parseInt(live.getAttribute("data-seconds"), 10) || 10;
    var xsrf = live.getAttribute("data-xsrf") || "";
    var busy = false;
    function refresh() {
      if (busy || document.hidden) {
        return;
      }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json", "X-XSRFToken": xsrf } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (data) {
          drawAll(data);
          live.classList.remove("failed");
        })
        .catch(function () {
          live.classList.add("failed");
        })
        .then(function () {
          busy = false;
        });
    }
    window.setInterval(refresh, seconds * 1000);
    document.addEventListener("visibilitychange", refresh);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
