/* The street view: every community the user may see, on one map coloured by its most severe active
 * alert and labelled with its name (and, zoomed in, its grids' names), with its figures in a table
 * (the map's text equivalent). From GET /api/v1/cockpit/street, every 15 s. Each community links to
 * its own cockpit.
 *
 * Labels are Leaflet markers whose divIcon is a DOM node holding the name as text, never an HTML
 * string (labels.js); times are shown in the community's time zone (data-time-zone), not the browser's. */
(function () {
  "use strict";

  var COLOURS = { red: "#e03131", orange: "#f08c00", yellow: "#f5d90a", blue: "#4dabf7", calm: "#5c6b73" };
  // A grid is named once it is at least this big on the screen (px) and its name fits inside it.
  var GRID_LABEL_MIN = { width: 90, height: 36, zoom: 0 };
  var root = document.getElementById("street");
  if (!root || typeof window.L === "undefined" || !window.BanyanMapLabels) {
    return;
  }
  var Labels = window.BanyanMapLabels;
  var texts = {};
  Array.prototype.forEach.call(document.getElementById("street-text").content.querySelectorAll("[data-text]"), function (node) {
    texts[node.getAttribute("data-text")] = node.textContent;
  });
  function t(key) {
    return Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key;
  }

  var language = document.documentElement.lang || undefined;
  var clockFormat = zonedFormat({ hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });

  // The community's time zone (settings.TIME_ZONE), whatever the browser's own.
  function zonedFormat(options) {
    var zone = root.getAttribute("data-time-zone");
    try {
      return new Intl.DateTimeFormat(language, Object.assign({ timeZone: zone }, options));
    } catch (error) {
      return new Intl.DateTimeFormat(language, options);
    }
  }

  var map = L.map("street-map", { attributionControl: false, zoomSnap: 0.25 });
  window.banyanBasemap(map); // the offline basemap, when one is configured (basemap.js)
  var streetLayer = L.layerGroup().addTo(map);
  var communityLayer = L.layerGroup().addTo(map);
  var gridLayer = L.layerGroup().addTo(map);
  var labelLayer = L.layerGroup().addTo(map);
  var drawn = {}; // community code -> {shape, label, labelLines, grids: [{bounds, label}], data}
  var streetsDrawn = false;
  var fitted = false;

  function cockpitUrl(code) {
    return root.getAttribute("data-cockpit-url") + "?community=" + encodeURIComponent(code);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function stateText(community) {
    return t(community.state);
  }

  function drawStreets(streets) {
    var names = [];
    streets.forEach(function (street) {
      names.push(street.name);
      if (street.boundary) {
        L.geoJSON(street.boundary, {
          style: { color: "#ced4da", weight: 2, dashArray: "8 6", fill: false },
          interactive: false,
        }).addTo(streetLayer);
      }
    });
    root.querySelector("[data-streets]").textContent = names.length ? " · " + names.join(" · ") : "";
  }

  function drawCommunity(community) {
    var entry = drawn[community.code];
    if (!entry) {
      entry = drawn[community.code] = { grids: [] };
      entry.shape = L.geoJSON(community.boundary).addTo(communityLayer);
      entry.shape.on("click", function () {
        window.location.href = cockpitUrl(community.code);
      });
      community.grids.forEach(function (grid) {
        if (!grid.boundary) {
          return;
        }
        var outline = L.geoJSON(grid.boundary, {
          style: { color: "#f1f3f5", weight: 1, dashArray: "4 4", fill: false },
          interactive: false,
        }).addTo(gridLayer);
        entry.grids.push({
          bounds: outline.getBounds(),
          label: grid.label_point ? Labels.marker(grid.label_point, [grid.name], "grid") : null,
        });
      });
    }
    entry.data = community;
    var colour = COLOURS[community.state] || COLOURS.calm;
    entry.shape.setStyle({ color: "#f8f9fa", weight: 2, fillColor: colour, fillOpacity: 0.45 });
    var detail = stateText(community);
    if (community.alerts_active) {
      detail += " · " + community.alerts_active + " " + t("alerts");
    }
    Banyan.textTooltip(entry.shape, community.name + " · " + detail);
    if (entry.label) {
      labelLayer.removeLayer(entry.label);
    }
    entry.labelLines = [community.name, detail];
    entry.label = null;
    return entry;
  }

  // Zoomed in, a community's grids are named and its own name moves to its top edge, above them; if
  // none of its grids' names fits after all, its name goes back to its middle. Community names are
  // always shown; a grid's only where it fits and covers no other name (labels.js).
  function placeLabels() {
    var centred = {};
    for (var round = 0; round < 2; round += 1) {
      var moved = placeOnce(centred);
      if (!moved) {
        return;
      }
    }
  }

  function placeOnce(centred) {
    var labels = [];
    var grids = [];
    Object.keys(drawn).forEach(function (code) {
      var entry = drawn[code];
      var gridsNamed =
        !centred[code] &&
        entry.grids.some(function (grid) {
          var size = Labels.sizeOnScreen(map, grid.bounds);
          return size.width >= GRID_LABEL_MIN.width && size.height >= GRID_LABEL_MIN.height;
        });
      var bounds = entry.shape.getBounds();
      var point = gridsNamed ? [bounds.getNorth(), bounds.getCenter().lng] : entry.data.label_point || bounds.getCenter();
      var modifier = gridsNamed ? "community map-label--top" : "community";
      if (!entry.label || entry.labelModifier !== modifier) {
        if (entry.label) {
          labelLayer.removeLayer(entry.label);
        }
        entry.label = Labels.marker(point, entry.labelLines, modifier);
        entry.labelModifier = modifier;
      }
      labels.push({ marker: entry.label, bounds: null, always: true });
      entry.grids.forEach(function (grid) {
        if (grid.label) {
          grids.push({ marker: grid.label, bounds: grid.bounds, minimum: GRID_LABEL_MIN, fit: true });
        }
      });
    });
    Labels.place(map, labelLayer, labels.concat(grids));
    var moved = false;
    Object.keys(drawn).forEach(function (code) {
      var entry = drawn[code];
      var named = entry.grids.some(function (grid) {
        return grid.label && labelLayer.hasLayer(grid.label);
      });
      if (entry.labelModifier !== "community" && !named) {
        centred[code] = true;
        moved = true;
      }
    });
    return moved;
  }

  function cell(value, className) {
    var td = el("td", className || "", value === null || value === undefined ? "–" : String(value));
    return td;
  }

  function row(community) {
    var tr = el("tr");
    tr.setAttribute("data-community", community.code);
    var name = el("td");
    var link = el("a", "", community.name);
    link.href = cockpitUrl(community.code);
    name.appendChild(link);
    tr.appendChild(name);
    var state = el("td", "state state--" + community.state);
    state.appendChild(el("span", "swatch swatch--" + (COLOURS[community.state] ? community.state : "calm")));
    state.appendChild(document.createTextNode(" " + stateText(community)));
    tr.appendChild(state);
    tr.appendChild(cell(community.alerts_active, "number"));
    tr.appendChild(cell(community.incidents_open, "number"));
    tr.appendChild(cell(community.incidents_missed, "number"));
    var share = community.sla_7_days.arrive_met_share;
    tr.appendChild(cell(share === null ? null : Math.round(share * 100) + "%", "number"));
    tr.appendChild(cell(community.devices.offline + " / " + community.devices.total, "number"));
    tr.appendChild(
      community.vulnerable ? cell(community.vulnerable.overdue, "number") : cell(t("hidden"), "street-hidden")
    );
    return tr;
  }

  function showUpdated(iso) {
    var status = root.querySelector("[data-updated]");
    var time = el("time", "", clockFormat.format(new Date(iso)));
    time.setAttribute("datetime", iso);
    status.replaceChildren(document.createTextNode(t("updated") + " "), time);
  }

  function render(data) {
    if (!streetsDrawn) {
      drawStreets(data.streets);
      streetsDrawn = true;
    }
    var bounds = L.latLngBounds([]);
    var rows = [];
    data.communities.forEach(function (community) {
      if (community.boundary) {
        bounds.extend(drawCommunity(community).shape.getBounds());
      }
      rows.push(row(community));
    });
    var body = root.querySelector("[data-communities] tbody");
    body.replaceChildren.apply(body, rows);
    Object.keys(data.totals).forEach(function (key) {
      var node = root.querySelector("[data-total=" + key + "] .kpi-value");
      if (node) {
        node.textContent = String(data.totals[key]);
      }
    });
    if (!fitted) {
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [12, 12] });
      } else {
        map.setView([30.25, 120.16], 14);
      }
      map.on("zoomend moveend resize", placeLabels);
      fitted = true;
    }
    placeLabels();
    showUpdated(data.generated_at);
    root.setAttribute("data-ready", "1");
  }

  function refresh() {
    fetch(root.getAttribute("data-summary-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : Promise.reject(response.status);
      })
      .then(render)
      .catch(function () {
        root.querySelector("[data-updated]").textContent = t("failed");
      });
  }

  refresh();
  window.setInterval(refresh, 15000);
})();
