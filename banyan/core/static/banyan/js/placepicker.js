/* The report form's map: tap the spot where the problem is, or use where you are now.
 *
 * Draws the resident's community from Banyan's own data (grid boundaries, building footprints; no
 * tile server, no internet) with Leaflet, and writes the chosen spot into the form's latitude and
 * longitude fields, choosing the "spot on the map" place. Without JavaScript (or Leaflet) the two
 * fields are typed in by hand; typing in them moves the mark on the map.
 */
(function () {
  "use strict";

  var BRAND = "#1d5c3a";
  var MARK = "#a4161a";

  // Leaflet inserts a string tooltip as HTML: a building's name reaches it only as text in a node.

  function drawCommunity(map, data) {
    var bounds = L.latLngBounds([]);
    data.areas.forEach(function (area) {
      var layer = L.geoJSON(area.boundary, {
        style: { color: BRAND, weight: 2, fill: false, dashArray: "6 4" },
        interactive: false,
      }).addTo(map);
      bounds.extend(layer.getBounds());
    });
    data.buildings.forEach(function (building) {
      var layer;
      if (building.footprint) {
        layer = L.geoJSON(building.footprint, {
          style: { color: "#4a524e", weight: 1, fillColor: "#c9d2cd", fillOpacity: 0.8 },
        });
        bounds.extend(layer.getBounds());
      } else {
        layer = L.circleMarker([building.latitude, building.longitude], {
          radius: 6,
          color: "#4a524e",
          fillColor: "#c9d2cd",
          fillOpacity: 0.8,
        });
        bounds.extend([building.latitude, building.longitude]);
      }
      Banyan.textTooltip(layer, building.name);
      layer.addTo(map);
    });
    return bounds;
  }

  function start() {
    var box = document.querySelector("[data-place-map]");
    if (!box || typeof window.L === "undefined") {
      return;
    }
    var source = document.getElementById(box.getAttribute("data-place-map"));
    var form = box.closest("form");
    if (!source || !form || !form.elements.latitude || !form.elements.longitude) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var latitude = form.elements.latitude;
    var longitude = form.elements.longitude;
    var mapChoice = form.querySelector("input[name=place][value=map]");
    box.hidden = false;
    var map = L.map(box, { attributionControl: false, zoomSnap: 0.25 });
    window.banyanBasemap(map); // the offline basemap, when one is configured (basemap.js)
    var bounds = drawCommunity(map, data);
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [12, 12] });
    } else {
      map.setView([30.25, 120.16], 16);
    }
    var mark = null;

    function show(point) {
      if (mark) {
        mark.setLatLng(point);
      } else {
        mark = L.circleMarker(point, { radius: 11, color: MARK, weight: 4, fillOpacity: 0.3 }).addTo(map);
      }
    }

    function choose(point) {
      latitude.value = point.lat.toFixed(6);
      longitude.value = point.lng.toFixed(6);
      if (mapChoice) {
        mapChoice.checked = true;
      }
      show(point);
    }

    map.on("click", function (event) {
      choose(event.latlng);
    });

    function typed() {
      var lat = parseFloat(latitude.value);
      var lng = parseFloat(longitude.value);
      if (isFinite(lat) && isFinite(lng) && Math.abs(lat) <= 90 && Math.abs(lng) <= 180) {
        show(L.latLng(lat, lng));
      }
    }
    latitude.addEventListener("change", typed);
    longitude.addEventListener("change", typed);
    typed(); // a form shown again with its errors keeps the spot chosen

    var here = form.querySelector("[data-place-here]");
    var message = form.querySelector("[data-place-here-message]");
    if (here && navigator.geolocation) {
      here.hidden = false;
      here.addEventListener("click", function () {
        message.textContent = here.getAttribute("data-place-here-status");
        navigator.geolocation.getCurrentPosition(
          function (position) {
            var point = L.latLng(position.coords.latitude, position.coords.longitude);
            choose(point);
            map.setView(point, Math.max(map.getZoom(), 17));
            message.textContent = "";
          },
          function () {
            message.textContent = here.getAttribute("data-place-here-failed");
          },
          { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 }
        );
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
