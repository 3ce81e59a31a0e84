// Draw the dashboard's charts from the JSON the page carries (no inline script: a strict CSP can stay on).
(function () {
  "use strict";

  function draw(spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas || typeof Chart === "undefined") {
      return;
    }
    var axis = { stacked: !!spec.stacked, beginAtZero: true };
    if (spec.percent) {
      axis.max = 100;
    }
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        responsive: true,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { x: { stacked: !!spec.stacked }, y: axis },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("dashboard-charts");
    if (source) {
      JSON.parse(source.textContent).forEach(draw);
    }
  });
})();
