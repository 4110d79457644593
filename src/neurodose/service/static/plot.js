/* Draws every chart of the page: each <script type="application/json" id="X-data">
   holds a Plotly figure for the element with id X (served from a file: the clinic's
   Content-Security-Policy allows no inline script). */
document.querySelectorAll("script[id$='-data']").forEach(function (s) {
  var f = JSON.parse(s.textContent);
  Plotly.newPlot(s.id.slice(0, -5), f.data, f.layout, {responsive: true, displaylogo: false});
});
