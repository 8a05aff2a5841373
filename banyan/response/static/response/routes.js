/* The responder's route maps: each element with data-route-map="ID" draws, with Leaflet, the walk
 * held under that ID in the JSON of #task-routes (or #incident-route): the area's boundary, the route
 * from the responder's last known position along the community's paths, and the place, named in a
 * tooltip (as text: Banyan.textTooltip). No tile server: Banyan's own data only. The map is a picture
 * (role="img" with its label; the walk is also said in words beside it), so it takes no keyboard focus.
 * Without JavaScript or Leaflet the box stays hidden.
 */
(function () {
  "use strict";

  var BRAND = "#1d5c3a";
  var ROUTE = "#0b5394";
  var PLACE = "#a4161a";

  function draw(box, data) {
    var route = data.route || [];
    var area = data.area
      ? L.geoJSON(data.area, {
          style: { color: BRAND, weight: 2, fill: false, dashArray: "6 4" },
          interactive: false,
        })
      : null;
    var bounds = route.length ? L.latLngBounds(route).pad(0.2) : area ? area.getBounds() : null;
    if (!bounds || !bounds.isValid()) {
      return;
    }
    box.hidden = false;
    // The view first: Leaflet adds layers (and opens tooltips) on a map that has one.
    var map = L.map(box, {
      attributionControl: false,
      zoomControl: false,
      keyboard: false,
      zoomSnap: 0.25,
    });
    map.fitBounds(bounds, { padding: [8, 8] });
    window.banyanBasemap(map); // the offline basemap, when one is configured (basemap.js)
    if (area) {
      area.addTo(map);
    }
    if (!route.length) {
      return;
    }
    L.polyline(route, { color: ROUTE, weight: 5, opacity: 0.85, interactive: false }).addTo(map);
    L.circleMarker(route[0], {
      radius: 7,
      color: ROUTE,
      weight: 3,
      fillColor: "#ffffff",
      fillOpacity: 1,
      interactive: false,
    }).addTo(map);
    var place = L.circleMarker(route[route.length - 1], {
      radius: 9,
      color: PLACE,
      weight: 4,
      fillOpacity: 0.35,
      interactive: false,
    }).addTo(map);
    Banyan.textTooltip(place, data.place || "");
    place.openTooltip();
  }

  function start() {
    if (typeof window.L === "undefined") {
      return;
    }
    document.removeEventListener("banyan:lists-refreshed", start);
    document.addEventListener("banyan:lists-refreshed", start); // the task list, refreshed live
    var source = document.getElementById("task-routes") || document.getElementById("incident-route");
    if (!source) {
      return;
    }
    var routes = JSON.parse(source.textContent);
    var boxes = document.querySelectorAll("[data-route-map]");
    for (var i = 0; i < boxes.length; i++) {
      var data = routes[boxes[i].getAttribute("data-route-map")];
      if (data && !boxes[i].classList.contains("leaflet-container")) {
        draw(boxes[i], data);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
