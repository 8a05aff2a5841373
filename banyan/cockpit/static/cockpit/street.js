/* The street view: every community the user may see, on one map coloured by its most severe active
 * alert, with its figures in a table (the map's text equivalent). From GET /api/v1/federation/summary,
 * every 15 s. Each community links to its own cockpit. */
(function () {
  "use strict";

  var COLOURS = { red: "#e03131", orange: "#f08c00", yellow: "#f5d90a", blue: "#4dabf7", calm: "#5c6b73" };
  var root = document.getElementById("street");
  if (!root || typeof window.L === "undefined") {
    return;
  }
  var texts = {};
  Array.prototype.forEach.call(document.getElementById("street-text").content.querySelectorAll("[data-text]"), function (node) {
    texts[node.getAttribute("data-text")] = node.textContent;
  });
  var map = L.map("street-map", { attributionControl: false, zoomSnap: 0.25 });
  var shapes = {};
  var fitted = false;

  function cockpitUrl(code) {
    return root.getAttribute("data-cockpit-url") + "?community=" + encodeURIComponent(code);
  }

  // Leaflet inserts a string tooltip as HTML: a community's name reaches it only as text in a node.

  function cell(value) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "–" : String(value);
    return td;
  }

  function render(data) {
    var bounds = L.latLngBounds([]);
    var rows = [];
    data.communities.forEach(function (community) {
      var colour = COLOURS[community.state] || COLOURS.calm;
      if (community.boundary) {
        if (!shapes[community.code]) {
          shapes[community.code] = L.geoJSON(community.boundary).addTo(map);
          shapes[community.code].on("click", function () {
            window.location.href = cockpitUrl(community.code);
          });
        }
        shapes[community.code].setStyle({ color: "#dee2e6", weight: 2, fillColor: colour, fillOpacity: 0.6 });
        Banyan.textTooltip(shapes[community.code], community.name + " · " + (texts[community.state] || community.state));
        bounds.extend(shapes[community.code].getBounds());
      }
      var row = document.createElement("tr");
      row.setAttribute("data-community", community.code);
      var name = document.createElement("td");
      var link = document.createElement("a");
      link.href = cockpitUrl(community.code);
      link.textContent = community.name;
      name.appendChild(link);
      row.appendChild(name);
      var state = cell(texts[community.state] || community.state);
      state.className = "state state--" + community.state;
      row.appendChild(state);
      row.appendChild(cell(community.alerts_active));
      row.appendChild(cell(community.incidents_open));
      row.appendChild(cell(community.incidents_missed));
      var share = community.sla_7_days.arrive_met_share;
      row.appendChild(cell(share === null ? null : Math.round(share * 100) + "%"));
      row.appendChild(cell(community.devices.offline + " / " + community.devices.total));
      row.appendChild(cell(community.vulnerable ? community.vulnerable.overdue : null));
      rows.push(row);
    });
    var body = root.querySelector("[data-communities] tbody");
    body.replaceChildren.apply(body, rows);
    Object.keys(data.totals).forEach(function (key) {
      var node = root.querySelector("[data-total=" + key + "] .kpi-value");
      if (node) {
        node.textContent = String(data.totals[key]);
      }
    });
    if (!fitted && bounds.isValid()) {
      map.fitBounds(bounds, { padding: [10, 10] });
      fitted = true;
    }
    var updated = root.querySelector("[data-updated]");
    updated.textContent = updated.getAttribute("data-text") + " " + new Date(data.generated_at).toLocaleTimeString();
    root.setAttribute("data-ready", "1");
  }

  function refresh() {
    fetch(root.getAttribute("data-summary-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : Promise.reject(response.status);
      })
      .then(render)
      .catch(function () {});
  }

  refresh();
  window.setInterval(refresh, 15000);
})();
