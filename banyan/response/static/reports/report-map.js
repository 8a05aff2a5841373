/* A report's place on a map: the building's outline (or a mark at the spot) from Banyan's own data,
 * with the place in words as its tooltip (as text, Banyan.textTooltip). No tile server, no internet.
 * The page says the place in words above; without JavaScript the map box simply stays hidden. */
(function () {
  "use strict";

  var BRAND = "#1d5c3a";
  var MARK = "#a4161a";

  function start() {
    var box = document.querySelector("[data-report-map]");
    if (!box || typeof window.L === "undefined") {
      return;
    }
    var source = document.getElementById(box.getAttribute("data-report-map"));
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    if (typeof data.latitude !== "number" || typeof data.longitude !== "number") {
      return;
    }
    box.hidden = false;
    var point = L.latLng(data.latitude, data.longitude);
    var map = L.map(box, { attributionControl: false, zoomSnap: 0.25, scrollWheelZoom: false });
    window.banyanBasemap(map); // the offline basemap, when one is configured (basemap.js)
    if (data.footprint) {
      var outline = L.geoJSON(data.footprint, {
        style: { color: BRAND, weight: 3, fillColor: BRAND, fillOpacity: 0.2 },
      }).addTo(map);
      map.fitBounds(outline.getBounds(), { padding: [40, 40], maxZoom: 18 });
    } else {
      map.setView(point, 18);
    }
    var mark = L.circleMarker(point, { radius: 11, color: MARK, weight: 4, fillOpacity: 0.3 }).addTo(map);
    if (data.label) {
      Banyan.textTooltip(mark, data.label);
      mark.openTooltip();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
