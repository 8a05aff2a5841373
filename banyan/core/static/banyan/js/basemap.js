/* The offline basemap under a Leaflet map: window.banyanBasemap(map), called once by each map's script.
 *
 * When the page's <body> carries data-basemap="/tiles/{z}/{x}/{y}" (a basemap file is configured:
 * banyan/places/tiles.py, README "Offline basemap"), the file's raster tiles are added beneath the map's
 * own drawing as an L.tileLayer, within the file's bounds and zooms from /tiles/meta.json (read once per
 * page; beyond the file's deepest zoom its tiles are enlarged, above its shallowest they are shrunk).
 * The file's attribution is shown in the map's corner as text (textContent; Leaflet's own attribution
 * control would insert it as markup). Without the attribute nothing happens: the maps show Banyan's
 * drawing alone. The layer, once added, is map.banyanBasemap.
 */
(function () {
  "use strict";

  var metaRequest = null;

  function loadMeta(template) {
    if (!metaRequest) {
      metaRequest = fetch(template.replace("{z}/{x}/{y}", "meta.json"), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .catch(function () {
          return null;
        });
    }
    return metaRequest;
  }

  function addAttribution(map, text) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "leaflet-control-attribution basemap-attribution");
      box.textContent = text;
      return box;
    };
    control.addTo(map);
  }

  window.banyanBasemap = function (map) {
    var template = document.body ? document.body.getAttribute("data-basemap") : null;
    if (!template || !map || !window.L) {
      return;
    }
    loadMeta(template).then(function (meta) {
      if (!meta || typeof meta.minzoom !== "number" || typeof meta.maxzoom !== "number") {
        return;
      }
      var options = {
        minNativeZoom: meta.minzoom,
        maxNativeZoom: meta.maxzoom,
        maxZoom: Math.max(22, meta.maxzoom),
        className: "basemap-tiles",
      };
      if (Array.isArray(meta.bounds) && meta.bounds.length === 4) {
        options.bounds = L.latLngBounds([meta.bounds[1], meta.bounds[0]], [meta.bounds[3], meta.bounds[2]]);
      }
      map.banyanBasemap = L.tileLayer(template, options).addTo(map);
      if (meta.attribution) {
        addAttribution(map, meta.attribution);
      }
    });
  };
})();
