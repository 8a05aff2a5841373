/* The cockpit: a community's live screen.
 *
 * Draws the map from GET /api/v1/cockpit/map (Leaflet, no tiles: Banyan's own GeoJSON), follows
 * /cockpit/stream (Server-Sent Events: a "state" first, then "alert", "incident" and "responder"
 * changes; EventSource reconnects by itself and the server sends a fresh "state", so nothing missed
 * stays missing), keeps the alert and incident lists (the map's text equivalent), colours buildings
 * by state, flashes a new red or orange alert, sounds an optional chime and opens its side panel
 * (place, care needs as counts, nearest responders, one-click dispatch). While an emergency of the
 * community is active (the state's "emergency", then the stream's "emergency" events), its banner and
 * panels lead the screen (renderEmergency); otherwise a small panel lists the hazard register's
 * riskiest hazards (the state's "risks", renderRisks). Figures (ECharts) come from
 * GET /api/v1/cockpit/figures every 30 s and shortly after changes; crowd density per zone from
 * GET /api/v1/cockpit/crowd with a 24-hour slider.
 *
 * Updates are applied once per animation frame, so a burst of events costs one redraw.
 * window.banyanCockpit exposes what tests and `banyan bench cockpit` measure: readyAt (when the first
 * state was drawn, performance.now()), seen[alertId] and seenSubject[deviceCode] (Date.now() when an
 * alert was first drawn), and the map (to find a building's place on the screen); stats() counts what
 * the map draws (buildings, facilities, walking-path segments, island segments).
 *
 * The walking paths (GET /api/v1/cockpit/paths: thousands of segments for a real community) are asked
 * for only when their layer is first turned on, and drawn on a canvas of their own: a few polylines of
 * many parts, one per style — steps dashed, islands (parts no one can walk to) in a warning colour.
 */
(function () {
  "use strict";

  var GRADE_COLOURS = { red: "#e03131", orange: "#f08c00", yellow: "#f5d90a", blue: "#4dabf7" };
  var ACTIVE = { open: true, acknowledged: true };
  var OPEN_INCIDENT = { new: true, assigned: true, accepted: true, on_scene: true };
  // no_consent: the resident it serves withdrew consent (its readings are dropped), not offline.
  var DEVICE_COLOURS = { online: "#51cf66", offline: "#868e96", maintenance: "#845ef7", no_consent: "#fab005" };
  // A grid is named, a building numbered ("3幢"), once it is this big on the screen (px) and its name
  // covers no other; a building without a footprint (a point) from this zoom on.
  var GRID_LABEL_MIN = { width: 90, height: 36, zoom: 0 };
  var BUILDING_LABEL_MIN = { width: 22, height: 0, zoom: 0 };
  var BUILDING_POINT_LABEL_MIN = { width: 0, height: 0, zoom: 17 };
  // A building an import could only name by its map id ("way/123"): its label only close up, where
  // someone correcting the names looks for it.
  var UNNAMED_LABEL_MIN = { width: 22, height: 0, zoom: 18 };
  // The walking paths' lines, by theme (the legend's swatches in cockpit.css match).
  var PATH_COLOURS = {
    dark: { path: "#adb5bd", island: "#ff8787" },
    light: { path: "#495057", island: "#c92a2a" },
  };

  var root = document.getElementById("cockpit");
  if (!root || typeof window.L === "undefined" || !window.BanyanMapLabels) {
    return;
  }
  // The grades, worst first, and which are urgent: defined once on the server (warning/choices.py).
  var GRADES = JSON.parse(document.getElementById("banyan-grades").textContent);
  var GRADE_ORDER = {};
  var URGENT = {};
  GRADES.worst_first.forEach(function (grade, rank) {
    GRADE_ORDER[grade] = rank;
  });
  GRADES.urgent.forEach(function (grade) {
    URGENT[grade] = true;
  });

  var metrics = (window.banyanCockpit = { readyAt: null, seen: {}, seenSubject: {}, states: 0, events: 0 });
  var texts = {};
  var textTemplate = document.getElementById("cockpit-text");
  if (textTemplate) {
    Array.prototype.forEach.call(textTemplate.content.querySelectorAll("[data-text]"), function (node) {
      texts[node.getAttribute("data-text")] = node.textContent;
    });
  }
  function t(key) {
    return texts[key] || key;
  }

  var csrf = (root.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  var state = { alerts: {}, incidents: {}, responders: {}, care: {} };
  var layers = {};
  var buildingLayers = {};
  var buildingKeys = {};
  var alertMarkers = {};
  var responderMarkers = {};
  var mapLabels = [];
  var map;
  var dirty = false;
  var figuresTimer = null;
  var chimeOn = false;
  var audio = null;
  var started = false; // the first state has been drawn: later new alerts flash

  // --- small helpers -----------------------------------------------------------------------

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attributes[name];
      } else {
        node.setAttribute(name, attributes[name]);
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // Leaflet inserts a string given to a tooltip or popup as HTML: server text (a rule's or a building's
  // name) reaches a tooltip only through Banyan.textTooltip (banyan.js), as a node holding the text.
  // ECharts' tooltips would be HTML too (a facility's name, a body's name): they are drawn as text
  // (renderMode "richText").

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (response) {
        if (!response.ok) {
          throw new Error(url + " answered " + response.status);
        }
        return response.json();
      }
    );
  }

  // Times in the community's time zone (data-time-zone, settings.TIME_ZONE), not the browser's.
  function zonedFormat(options) {
    var language = document.documentElement.lang || undefined;
    try {
      return new Intl.DateTimeFormat(language, Object.assign({ timeZone: root.getAttribute("data-time-zone") }, options));
    } catch (error) {
      return new Intl.DateTimeFormat(language, options);
    }
  }
  var dateTimeFormat = zonedFormat({ month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var hourFormat = zonedFormat({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

  function timeText(iso) {
    if (!iso) {
      return t("never");
    }
    return dateTimeFormat.format(new Date(iso));
  }

  function hourText(iso) {
    return hourFormat.format(new Date(iso));
  }

  function urlFor(attribute, id) {
    return root.getAttribute(attribute).replace("/0/", "/" + encodeURIComponent(id) + "/").replace(/\/0$/, "/" + encodeURIComponent(id));
  }

  // --- the map -------------------------------------------------------------------------------

  function buildingStyle(id) {
    var worst = null;
    var hasIncident = false;
    Object.keys(state.alerts).forEach(function (key) {
      var alert = state.alerts[key];
      if (alert.building === id && (worst === null || GRADE_ORDER[alert.grade] < GRADE_ORDER[worst])) {
        worst = alert.grade;
      }
    });
    Object.keys(state.incidents).forEach(function (key) {
      if (state.incidents[key].building === id) {
        hasIncident = true;
      }
    });
    var fill = "#5c6b73";
    if (worst) {
      fill = GRADE_COLOURS[worst];
    } else if (hasIncident) {
      fill = "#d6336c";
    } else if (state.care[id]) {
      fill = "#228be6";
    }
    return { color: "#dee2e6", weight: 1, fillColor: fill, fillOpacity: worst ? 0.85 : 0.6 };
  }

  function drawMap(data) {
    map = L.map("cockpit-map", { attributionControl: false, zoomSnap: 0.25, preferCanvas: true });
    window.banyanBasemap(map); // the offline basemap, when one is configured (basemap.js)
    metrics.map = map;
    var bounds = L.latLngBounds([]);
    if (data.community.boundary) {
      var outline = L.geoJSON(data.community.boundary, {
        style: { color: "#adb5bd", weight: 2, fill: false },
        interactive: false,
      }).addTo(map);
      bounds.extend(outline.getBounds());
    }
    layers.labels = L.layerGroup().addTo(map);
    data.grids.forEach(function (grid) {
      if (grid.boundary) {
        var gridOutline = L.geoJSON(grid.boundary, {
          style: { color: "#868e96", weight: 1, dashArray: "4 4", fill: false },
          interactive: false,
        }).addTo(map);
        if (grid.label_point) {
          addLabel(grid.label_point, grid.name, "grid", gridOutline.getBounds(), GRID_LABEL_MIN);
        }
      }
    });
    layers.paths = L.layerGroup(); // filled when the layer is first turned on (loadPaths)
    var buildings = L.layerGroup().addTo(map);
    var unnamedLabels = []; // an imported building named by its map id: labelled after the named ones
    data.buildings.forEach(function (building) {
      var layer = building.footprint
        ? L.geoJSON(building.footprint, { style: buildingStyle(building.id) })
        : L.circleMarker(building.point, Object.assign({ radius: 7 }, buildingStyle(building.id)));
      Banyan.textTooltip(layer, building.name + " · " + building.residents + " " + t("residents"));
      layer.on("click", function () {
        openBuilding(building.id);
      });
      layer.addTo(buildings);
      buildingLayers[building.id] = layer;
      var label = [
        building.point,
        building.name,
        "building",
        building.footprint ? layer.getBounds() : L.latLngBounds([building.point, building.point]),
        building.footprint ? BUILDING_LABEL_MIN : BUILDING_POINT_LABEL_MIN,
      ];
      if (building.named === false) {
        label[4] = UNNAMED_LABEL_MIN;
        unnamedLabels.push(label);
      } else {
        addLabel.apply(null, label);
      }
      if (building.footprint) {
        bounds.extend(layer.getBounds());
      } else {
        bounds.extend(building.point);
      }
    });
    unnamedLabels.forEach(function (label) {
      addLabel.apply(null, label);
    });
    // Crowd zones under the points, so that a device or facility in a zone can still be clicked.
    layers.crowd = L.layerGroup().addTo(map);
    layers.crowdZones = {};
    data.zones.forEach(function (zone) {
      var polygon = L.geoJSON(zone.area, { style: { color: "#ced4da", weight: 1, fillOpacity: 0.05 } });
      Banyan.textTooltip(polygon, zone.name);
      polygon.addTo(layers.crowd);
      layers.crowdZones[zone.key] = polygon;
    });
    layers.facilities = L.layerGroup(
      data.facilities.map(function (facility) {
        return Banyan.textTooltip(
          L.circleMarker(facility.point, {
            radius: 5,
            color: "#ffd43b",
            weight: 2,
            fillOpacity: 0.2,
          }),
          facility.name + " · " + facility.kind_label
        );
      })
    ).addTo(map);
    layers.devices = L.layerGroup(
      data.devices
        .filter(function (device) {
          return device.point;
        })
        .map(function (device) {
          return Banyan.textTooltip(
            L.circleMarker(device.point, {
              radius: 2.5,
              weight: device.battery_low ? 2 : 0,
              color: "#fa5252",
              fillColor: DEVICE_COLOURS[device.status] || "#868e96",
              fillOpacity: 0.9,
            }),
            device.code + " · " + device.kind + " · " + t(device.status)
          ).on("click", function () {
            openDevice(device.id);
          });
        })
    ).addTo(map);
    layers.responders = L.layerGroup().addTo(map);
    layers.alerts = L.layerGroup().addTo(map);
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [10, 10] });
    } else {
      map.setView([30.25, 120.16], 16);
    }
    map.on("zoomend resize", placeLabels);
    placeLabels();
  }

  // --- the walking paths (asked for when their layer is first turned on) ---------------------------

  var paths = { state: "none", lines: [], segments: 0, islandSegments: 0, stepSegments: 0, islands: 0 };

  function pathStyle(line) {
    var colours = PATH_COLOURS[document.body.getAttribute("data-theme") === "light" ? "light" : "dark"];
    return {
      color: line.island ? colours.island : colours.path,
      weight: line.island ? 3 : 1,
      opacity: line.island ? 0.95 : 0.75,
      dashArray: line.steps ? "3 3" : null,
    };
  }

  function restylePaths() {
    paths.lines.forEach(function (line) {
      line.layer.setStyle(pathStyle(line));
    });
  }

  function showPathsStatus(text) {
    var status = root.querySelector("[data-paths-status]");
    if (status) {
      status.textContent = text;
    }
  }

  function drawPaths(data) {
    var renderer = L.canvas({ padding: 0.2 });
    var groups = {};
    data.segments.forEach(function (segment) {
      var steps = segment[4] === "steps";
      var island = segment[5] === 1;
      var key = (island ? "island" : "main") + (steps ? "-steps" : "");
      if (!groups[key]) {
        groups[key] = { steps: steps, island: island, parts: [] };
      }
      groups[key].parts.push([
        [segment[0], segment[1]],
        [segment[2], segment[3]],
      ]);
      paths.segments += 1;
      paths.islandSegments += island ? 1 : 0;
      paths.stepSegments += steps ? 1 : 0;
    });
    // Islands last, so that they are drawn over the paths they touch.
    ["main", "main-steps", "island", "island-steps"].forEach(function (key) {
      var line = groups[key];
      if (line) {
        line.layer = L.polyline(line.parts, Object.assign({ renderer: renderer, interactive: false }, pathStyle(line)));
        line.layer.addTo(layers.paths);
        paths.lines.push(line);
      }
    });
    data.island_points.forEach(function (point) {
      var line = { island: true, steps: false };
      line.layer = L.circleMarker(point, Object.assign({ renderer: renderer, interactive: false, radius: 3 }, pathStyle(line)));
      line.layer.addTo(layers.paths);
      paths.lines.push(line);
    });
    paths.islands = data.islands;
    showPathsStatus(
      t("paths-count") + " " + paths.segments.toLocaleString(document.documentElement.lang || undefined) +
        " · " + t("islands-count") + " " + data.islands
    );
  }

  function loadPaths() {
    if (paths.state !== "none") {
      return;
    }
    paths.state = "loading";
    root.setAttribute("data-paths", "loading");
    showPathsStatus(t("paths-loading"));
    getJSON(root.getAttribute("data-paths-url"))
      .then(function (data) {
        drawPaths(data);
        paths.state = "drawn";
        root.setAttribute("data-paths", "drawn");
      })
      .catch(function () {
        paths.state = "none"; // turning the layer off and on again asks once more
        root.setAttribute("data-paths", "failed");
        showPathsStatus(t("paths-failed"));
      });
  }

  metrics.stats = function () {
    var footprints = 0;
    var points = 0;
    Object.keys(buildingLayers).forEach(function (id) {
      var layer = buildingLayers[id];
      if (!map.hasLayer(layer)) {
        return;
      }
      if (layer instanceof L.CircleMarker) {
        points += 1;
      } else {
        layer.eachLayer(function () {
          footprints += 1;
        });
      }
    });
    var drawn = 0;
    var islandDrawn = 0;
    paths.lines.forEach(function (line) {
      if (!map.hasLayer(line.layer) || !(line.layer instanceof L.Polyline)) {
        return;
      }
      var parts = line.layer.getLatLngs().length;
      drawn += parts;
      islandDrawn += line.island ? parts : 0;
    });
    return {
      buildings: footprints + points,
      buildingFootprints: footprints,
      facilities: layers.facilities ? layers.facilities.getLayers().length : 0,
      paths: paths.state,
      pathSegments: drawn,
      islandSegments: islandDrawn,
      stepSegments: paths.stepSegments,
      islands: paths.islands,
      islandColour: PATH_COLOURS[document.body.getAttribute("data-theme") === "light" ? "light" : "dark"].island,
      islandStyles: paths.lines
        .filter(function (line) {
          return line.island;
        })
        .map(function (line) {
          return line.layer.options.color;
        }),
    };
  };

  // --- labels: grid names, then building numbers, each where it fits (labels.js) ------------------

  function addLabel(point, text, kind, bounds, minimum) {
    mapLabels.push({
      marker: window.BanyanMapLabels.marker(point, [text], kind),
      bounds: bounds,
      minimum: minimum,
      fit: kind === "grid",
    });
  }

  function placeLabels() {
    window.BanyanMapLabels.place(map, layers.labels, mapLabels);
  }

  function alertIcon(alert, flash) {
    return L.divIcon({
      className: "alert-marker alert-marker--" + alert.grade + (flash ? " alert-marker--flash" : ""),
      html: el("span", { "aria-hidden": "true" }),
      iconSize: [22, 22],
    });
  }

  function placeAlert(alert, flash) {
    var marker = alertMarkers[alert.id];
    if (!alert.point) {
      return;
    }
    if (marker) {
      if (marker.options.icon.options.className !== alertIcon(alert, flash).options.className) {
        marker.setIcon(alertIcon(alert, flash));
      }
    } else {
      marker = L.marker(alert.point, { icon: alertIcon(alert, flash), keyboard: false, zIndexOffset: 1000 });
      Banyan.textTooltip(marker, alert.rule + " · " + alert.place);
      marker.on("click", function () {
        openAlert(alert.id);
      });
      marker.addTo(layers.alerts);
      alertMarkers[alert.id] = marker;
    }
  }

  function removeAlert(id) {
    if (alertMarkers[id]) {
      layers.alerts.removeLayer(alertMarkers[id]);
      delete alertMarkers[id];
    }
    delete state.alerts[id];
  }

  function placeResponder(responder) {
    var marker = responderMarkers[responder.id];
    if (!responder.point) {
      return;
    }
    var style = {
      radius: 6,
      color: "#ffffff",
      weight: 2,
      fillColor: responder.on_duty ? "#20c997" : "#495057",
      fillOpacity: 1,
    };
    var label = responder.name + " · " + responder.load + " " + t("load");
    if (marker) {
      var moved = marker.getLatLng();
      if (moved.lat !== responder.point[0] || moved.lng !== responder.point[1]) {
        marker.setLatLng(responder.point);
      }
      if (marker.options.fillColor !== style.fillColor) {
        marker.setStyle(style);
      }
      Banyan.textTooltip(marker, label);
    } else {
      marker = L.circleMarker(responder.point, style).addTo(layers.responders);
      Banyan.textTooltip(marker, label);
      responderMarkers[responder.id] = marker;
    }
  }

  // --- the lists (the map's text equivalent) --------------------------------------------------

  function sortedValues(collection) {
    return Object.keys(collection)
      .map(function (key) {
        return collection[key];
      })
      .sort(function (a, b) {
        return GRADE_ORDER[a.grade] - GRADE_ORDER[b.grade] || (a.id < b.id ? 1 : -1);
      });
  }

  function renderList(name, items, describe) {
    var list = root.querySelector("[data-list=" + name + "]");
    var fragment = document.createDocumentFragment();
    items.forEach(function (item) {
      fragment.appendChild(describe(item));
    });
    list.replaceChildren(fragment);
    if (!items.length) {
      list.appendChild(el("li", { class: "empty", text: list.getAttribute("data-empty") }));
    }
    root.querySelector("[data-count=" + name + "]").textContent = String(items.length);
  }

  function alertRow(alert) {
    var open = el("button", { type: "button", class: "link-button", text: alert.rule + " · " + alert.place });
    open.addEventListener("click", function () {
      openAlert(alert.id);
    });
    return el("li", { class: "live-row live-row--" + alert.grade, "data-alert": String(alert.id) }, [
      el("span", { class: "grade-dot grade-dot--" + alert.grade, text: t(alert.grade) }),
      " ",
      open,
      " ",
      el("span", { class: "secondary", text: t(alert.status) + " · " + timeText(alert.raised_at) }),
    ]);
  }

  function incidentRow(incident) {
    return el("li", { class: "live-row live-row--" + incident.grade, "data-incident": String(incident.id) }, [
      el("span", { class: "grade-dot grade-dot--" + incident.grade, text: t(incident.grade) }),
      " ",
      el("a", { href: incident.url, text: incident.category + " #" + incident.id }),
      " ",
      el("span", {
        class: "secondary clock clock--" + incident.clock,
        text: t(incident.clock) + " · " + (incident.assignee ? t("assigned") + " " + incident.assignee : t("nobody")),
      }),
    ]);
  }

  function redraw() {
    var started = performance.now();
    dirty = false;
    renderList("alerts", sortedValues(state.alerts), alertRow);
    renderList("incidents", sortedValues(state.incidents), incidentRow);
    // Restyle only the buildings whose colour changed: each restyle makes Leaflet repaint that part
    // of the canvas, and repainting the whole map (1,600 devices) takes a long task on a small machine.
    Object.keys(buildingLayers).forEach(function (id) {
      var style = buildingStyle(Number(id));
      var key = style.fillColor + style.fillOpacity;
      if (buildingKeys[id] !== key) {
        buildingKeys[id] = key;
        buildingLayers[id].setStyle(style);
      }
    });
    var now = Date.now();
    Object.keys(state.alerts).forEach(function (id) {
      if (!metrics.seen[id]) {
        metrics.seen[id] = now;
        metrics.seenSubject[state.alerts[id].subject] = now;
      }
    });
    metrics.longestRedrawMs = Math.max(metrics.longestRedrawMs || 0, performance.now() - started);
  }

  function scheduleRedraw() {
    if (!dirty) {
      dirty = true;
      window.requestAnimationFrame(redraw);
    }
  }

  // --- the emergency mode (the state's "emergency": null, or the active emergency it leads with) ---

  var emergencySection = root.querySelector("[data-emergency-mode]");

  function pick(data, path) {
    return path.split(".").reduce(function (value, key) {
      return value === null || value === undefined ? value : value[key];
    }, data);
  }

  function fillList(selector, items, empty) {
    var list = emergencySection.querySelector(selector);
    if (!items.length && empty) {
      items = [el("li", { class: "empty", text: empty })];
    }
    list.replaceChildren.apply(list, items);
  }

  function renderEmergency(data) {
    data = data || null;
    metrics.emergency = data ? data.id : null;
    root.setAttribute("data-emergency", data ? String(data.id) : "none");
    if (!emergencySection) {
      return;
    }
    emergencySection.hidden = !data;
    if (!data) {
      return;
    }
    Array.prototype.forEach.call(emergencySection.querySelectorAll("[data-em]"), function (node) {
      var value = pick(data, node.getAttribute("data-em"));
      node.textContent = value === null || value === undefined ? "–" : String(value);
    });
    // Late tasks and households that need help stand out only when there are some.
    Array.prototype.forEach.call(emergencySection.querySelectorAll(".emergency-late"), function (node) {
      node.classList.toggle("emergency-late--some", Number(node.querySelector("dd").textContent) > 0);
    });
    emergencySection.querySelector("[data-emergency-banner]").className = "emergency-banner emergency-banner--" + data.grade;
    emergencySection.querySelector("[data-emergency-minutes]").textContent =
      data.minutes_since_activation === null ? "" : t("emergency-minutes").replace("{n}", String(data.minutes_since_activation));
    emergencySection.querySelector("[data-emergency-board]").setAttribute("href", data.url);
    var rollCall = data.roll_call;
    emergencySection.querySelector("[data-emergency-no-rollcall]").hidden = Boolean(rollCall);
    emergencySection.querySelector("[data-emergency-rollcall]").hidden = !rollCall;
    if (rollCall) {
      emergencySection.querySelector("[data-emergency-rollcall-link]").setAttribute("href", rollCall.url);
    }
    fillList(
      "[data-emergency-shelters]",
      data.shelters.items.map(function (shelter) {
        return el("li", { "data-shelter": String(shelter.id), text: shelter.name + " · " + shelter.occupied + " / " + shelter.capacity });
      }),
      t("emergency-no-shelter")
    );
    var low = data.low_stocks.items.map(function (stock) {
      return el("li", { text: stock.kind_label + " · " + stock.place + " · " + stock.quantity + " " + stock.unit_label });
    });
    if (data.low_stocks.count > data.low_stocks.items.length) {
      low.push(el("li", { text: t("emergency-more-low") + " " + (data.low_stocks.count - data.low_stocks.items.length) }));
    }
    fillList("[data-emergency-low-stocks]", low, t("emergency-no-low-stock"));
    var incidents = emergencySection.querySelector("[data-emergency-incidents]");
    incidents.replaceChildren.apply(
      incidents,
      data.incidents.by_status.map(function (row) {
        return el("div", { "data-incident-status": row.status }, [el("dt", { text: row.label }), el("dd", { text: String(row.count) })]);
      })
    );
    fillList(
      "[data-emergency-timeline]",
      data.timeline.map(function (entry) {
        return el("li", { "data-timeline": entry.kind }, [
          el("span", { class: "secondary", text: timeText(entry.at) }),
          " " + entry.label + (entry.detail ? " · " + entry.detail : ""),
        ]);
      })
    );
    emergencySection.querySelector("[data-emergency-others-section]").hidden = !data.others.length;
    fillList(
      "[data-emergency-others]",
      data.others.map(function (other) {
        return el("li", { "data-other-emergency": String(other.id) }, [
          el("span", { class: "grade-dot grade-dot--" + other.grade, text: other.level_name }),
          " ",
          el("a", { href: other.url, text: other.title + " · " + other.hazard_label }),
        ]);
      })
    );
  }

  // --- the risks panel (the state's "risks": null, or the hazard register's riskiest hazards) -------

  var risksSection = root.querySelector("[data-risks]");
  var risksData = null;
  var dayFormat = zonedFormat({ year: "numeric", month: "2-digit", day: "2-digit" });

  function riskCount(label, value) {
    return el("div", {}, [el("dt", { text: label }), el("dd", { text: String(value) })]);
  }

  function renderRisks(data) {
    risksData = data || null;
    metrics.risks = risksData ? risksData.hazards.length : null;
    if (!risksSection) {
      return;
    }
    // Normal mode only: while an emergency leads the screen, its panels take the place.
    risksSection.hidden = !risksData || !risksData.count || Boolean(metrics.emergency);
    if (!risksData) {
      return;
    }
    risksSection.querySelector("[data-risks-count]").textContent = String(risksData.count);
    var list = risksSection.querySelector("[data-risk-list]");
    list.replaceChildren.apply(
      list,
      risksData.hazards.map(function (hazard) {
        return el("li", { class: "risk-item", "data-risk-kind": hazard.kind }, [
          el("span", { class: "grade-dot grade-dot--" + hazard.grade, text: t("risk-" + hazard.band) }),
          " ",
          el("a", { href: hazard.url, text: hazard.label }),
          " ",
          el("span", { class: "secondary", text: t("risk-value").replace("{n}", String(hazard.risk)) }),
          el("dl", { class: "emergency-counts risk-counts" }, [
            riskCount(t("risk-places"), hazard.places),
            riskCount(t("risk-households"), hazard.households),
            riskCount(t("risk-care"), hazard.residents_in_care),
          ]),
        ]);
      })
    );
    var review = risksSection.querySelector("[data-risk-review]");
    var said = risksData.reviewed_at
      ? t("risk-reviewed").replace("{day}", dayFormat.format(new Date(risksData.reviewed_at)))
      : t("risk-never-reviewed");
    review.replaceChildren(document.createTextNode(said));
    if (risksData.review_due) {
      review.appendChild(document.createTextNode(" · "));
      review.appendChild(el("span", { class: "clock--missed", "data-risk-review-due": "1", text: t("risk-review-due") }));
    }
    risksSection.querySelector("[data-risk-link]").setAttribute("href", risksData.url);
  }

  // --- live events -------------------------------------------------------------------------------

  function applyState(data) {
    Object.keys(alertMarkers).forEach(removeAlert);
    state.alerts = {};
    state.incidents = {};
    state.care = {};
    Object.keys(data.buildings).forEach(function (id) {
      state.care[Number(id)] = data.buildings[id].care;
    });
    data.alerts.forEach(function (alert) {
      state.alerts[alert.id] = alert;
      placeAlert(alert, false);
    });
    data.incidents.forEach(function (incident) {
      state.incidents[incident.id] = incident;
    });
    data.responders.forEach(function (responder) {
      state.responders[responder.id] = responder;
      placeResponder(responder);
    });
    metrics.states += 1;
    renderEmergency(data.emergency);
    renderRisks(data.risks);
    redraw();
    if (metrics.readyAt === null) {
      metrics.readyAt = performance.now();
      root.setAttribute("data-ready", "1");
    }
    started = true;
  }

  function onAlert(alert) {
    var known = state.alerts[alert.id];
    if (!ACTIVE[alert.status]) {
      removeAlert(alert.id);
      scheduleRedraw();
      return;
    }
    state.alerts[alert.id] = alert;
    var urgent = !known && started && URGENT[alert.grade] === true;
    placeAlert(alert, urgent);
    scheduleRedraw();
    if (urgent) {
      chime();
      openAlert(alert.id);
    }
  }

  function onIncident(incident) {
    if (OPEN_INCIDENT[incident.status]) {
      state.incidents[incident.id] = incident;
    } else {
      delete state.incidents[incident.id];
    }
    scheduleRedraw();
  }

  function onResponder(responder) {
    state.responders[responder.id] = responder;
    placeResponder(responder);
  }

  function setStatus(name) {
    var status = root.querySelector("[data-live-status]");
    status.textContent = status.getAttribute("data-text-" + name);
    root.setAttribute("data-live-state", name);
  }

  function follow() {
    var source = new EventSource(root.getAttribute("data-stream-url"));
    function handle(kind, apply) {
      source.addEventListener(kind, function (event) {
        var data;
        try {
          data = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        metrics.events += 1;
        apply(data);
        if (kind !== "state" && kind !== "responder") {
          refreshFiguresSoon();
        }
      });
    }
    handle("state", applyState);
    handle("alert", onAlert);
    handle("incident", onIncident);
    handle("responder", onResponder);
    handle("emergency", function (data) {
      renderEmergency(data);
      renderRisks(risksData);
    });
    source.addEventListener("open", function () {
      setStatus("live");
    });
    source.addEventListener("error", function () {
      setStatus("reconnecting");
    });
  }

  // --- the chime ---------------------------------------------------------------------------------

  function chime() {
    if (!chimeOn) {
      return;
    }
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [880, 660].forEach(function (frequency, index) {
        var oscillator = audio.createOscillator();
        var gain = audio.createGain();
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.2, audio.currentTime + index * 0.25);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + index * 0.25 + 0.22);
        oscillator.connect(gain).connect(audio.destination);
        oscillator.start(audio.currentTime + index * 0.25);
        oscillator.stop(audio.currentTime + index * 0.25 + 0.24);
      });
    } catch (error) {
      chimeOn = false;
    }
  }

  // --- the side panels ------------------------------------------------------------------------------

  function showPanel(id) {
    ["alert-panel", "building-panel", "device-panel"].forEach(function (panelId) {
      document.getElementById(panelId).hidden = panelId !== id;
    });
    var panel = document.getElementById(id);
    panel.focus({ preventScroll: true });
    panel.scrollIntoView({ block: "nearest" });
  }

  function walkText(seconds) {
    return seconds === null ? t("unknown-position") : Math.max(1, Math.round(seconds / 60)) + " " + t("walk");
  }

  function renderPanel(data) {
    var body = root.querySelector("[data-alert-body]");
    var alert = data.alert;
    document.getElementById("alert-panel-title").textContent = alert.rule;
    var parts = [
      el("p", {}, [
        el("span", { class: "grade-dot grade-dot--" + alert.grade, text: t(alert.grade) }),
        " ",
        el("strong", { text: alert.place }),
        " · " + timeText(alert.raised_at) + " · ",
        el("a", { href: alert.url, text: t("open-alert") }),
      ]),
    ];
    var care = el("div", { class: "panel-care" }, [el("h3", { text: t("care") })]);
    if (!data.care.shown) {
      care.appendChild(el("p", { class: "secondary", text: t("care-hidden") }));
    } else if (!data.care.residents) {
      care.appendChild(el("p", { text: t("care-none") }));
    } else {
      care.appendChild(el("p", { class: "care-count", text: String(data.care.residents) }));
      var kinds = el("ul", { class: "care-kinds" });
      Object.keys(data.care.kinds).forEach(function (kind) {
        kinds.appendChild(el("li", { text: kind + " × " + data.care.kinds[kind] }));
      });
      care.appendChild(kinds);
    }
    parts.push(care);
    if (data.incident) {
      parts.push(
        el("p", {}, [
          t("incident") + ": ",
          el("a", { href: data.incident.url, text: data.incident.category + " #" + data.incident.id }),
          " · " + (data.incident.assignee ? t("assigned") + " " + data.incident.assignee : t("nobody")),
        ])
      );
    }
    var nearest = el("div", { class: "panel-nearest" }, [el("h3", { text: t("nearest") })]);
    if (!data.nearest.length) {
      nearest.appendChild(el("p", { text: t("none-on-duty") }));
    }
    var list = el("ol", { class: "nearest-list" });
    data.nearest.forEach(function (responder) {
      var row = el("li", {}, [
        el("span", { text: responder.name }),
        " ",
        el("span", {
          class: "secondary",
          text: walkText(responder.walk_s) + " · " + responder.load + "/" + responder.capacity + " " + t("load"),
        }),
      ]);
      if (data.may_dispatch) {
        var send = el("button", { type: "button", class: "button button--small", "data-dispatch": String(responder.user) }, [
          t("dispatch") + " ",
          el("span", { class: "visually-hidden", text: responder.name }),
        ]);
        send.addEventListener("click", function () {
          dispatch(alert.id, responder.user, data.category, send);
        });
        row.appendChild(document.createTextNode(" "));
        row.appendChild(send);
      }
      list.appendChild(row);
    });
    nearest.appendChild(list);
    parts.push(nearest);
    parts.push(el("p", { class: "panel-message", role: "status", "data-panel-message": "" }));
    body.replaceChildren.apply(body, parts);
  }

  function openAlert(id) {
    getJSON(urlFor("data-panel-url", id))
      .then(function (data) {
        renderPanel(data);
        showPanel("alert-panel");
      })
      .catch(function () {});
  }

  function dispatch(alertId, userId, category, button) {
    button.disabled = true;
    var message = root.querySelector("[data-panel-message]");
    fetch(urlFor("data-dispatch-url", alertId), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ responder: userId, category: category }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (result) {
        if (result.ok) {
          onIncident(result.body);
          message.textContent = t("sent") + " " + result.body.assignee + " · " + result.body.category + " #" + result.body.id;
        } else {
          message.textContent = t("dispatch-failed") + " " + (result.body.detail || "");
          button.disabled = false;
        }
      })
      .catch(function () {
        button.disabled = false;
      });
  }

  function openBuilding(id) {
    getJSON(urlFor("data-building-url", id))
      .then(function (data) {
        document.getElementById("building-panel-title").textContent = data.name;
        var body = root.querySelector("[data-building-body]");
        var header = [t("units"), t("households"), t("residents")];
        if (data.care_shown) {
          header.push(t("care-count"));
        }
        var table = el("table", { class: "table" }, [
          el("thead", {}, [
            el(
              "tr",
              {},
              header.map(function (label) {
                return el("th", { scope: "col", text: label });
              })
            ),
          ]),
        ]);
        var rows = el("tbody");
        data.units.forEach(function (unit) {
          var cells = [unit.number, unit.households, unit.residents];
          if (data.care_shown) {
            cells.push(unit.care);
          }
          rows.appendChild(
            el(
              "tr",
              {},
              cells.map(function (value) {
                return el("td", { text: String(value) });
              })
            )
          );
        });
        table.appendChild(rows);
        var parts = [el("p", {}, [el("a", { href: data.url, text: t("open-building") })])];
        if (data.alerts.length) {
          parts.push(el("h3", { text: t("alerts") }));
          parts.push(el("ul", {}, data.alerts.map(function (alert) {
            return el("li", {}, [el("a", { href: alert.url, text: alert.rule + " · " + t(alert.grade) })]);
          })));
        }
        if (data.incidents.length) {
          parts.push(el("h3", { text: t("incidents") }));
          parts.push(el("ul", {}, data.incidents.map(function (incident) {
            return el("li", {}, [el("a", { href: incident.url, text: incident.category + " #" + incident.id })]);
          })));
        }
        parts.push(el("div", { class: "table-scroll" }, [table]));
        body.replaceChildren.apply(body, parts);
        showPanel("building-panel");
      })
      .catch(function () {});
  }

  function openDevice(id) {
    getJSON(urlFor("data-device-url", id))
      .then(function (data) {
        document.getElementById("device-panel-title").textContent = data.code + " · " + data.kind_label;
        var facts = el("dl", { class: "facts" });
        [
          [t("status"), data.status_label],
          [t("battery"), data.battery_pct === null ? "–" : data.battery_pct + "%"],
          [t("last-seen"), timeText(data.last_seen_at)],
          [t("place"), data.place || data.grid],
        ].forEach(function (pair) {
          facts.appendChild(el("dt", { text: pair[0] }));
          facts.appendChild(el("dd", { text: pair[1] }));
        });
        var parts = [facts, el("h3", { text: t("alerts") })];
        if (!data.alerts.length) {
          parts.push(el("p", { text: t("no-alerts") }));
        } else {
          parts.push(
            el("ul", {}, data.alerts.map(function (alert) {
              return el("li", {}, [el("a", { href: alert.url, text: alert.rule + " · " + t(alert.grade) })]);
            }))
          );
        }
        if (data.building_id) {
          var building = el("button", { type: "button", class: "link-button", text: t("open-building") });
          building.addEventListener("click", function () {
            openBuilding(data.building_id);
          });
          parts.push(el("p", {}, [building]));
        }
        var body = root.querySelector("[data-device-body]");
        body.replaceChildren.apply(body, parts);
        showPanel("device-panel");
      })
      .catch(function () {});
  }
  metrics.openDevice = openDevice;

  // --- figures -----------------------------------------------------------------------------------

  var charts = {};

  function chart(name) {
    if (!window.echarts) {
      return null;
    }
    if (!charts[name]) {
      var node = root.querySelector("[data-chart=" + name + "]");
      charts[name] = window.echarts.init(node, document.body.getAttribute("data-theme") === "dark" ? "dark" : null, {
        renderer: "svg",
      });
    }
    return charts[name];
  }

  function setKpi(name, value) {
    var node = root.querySelector("[data-kpi=" + name + "] .kpi-value");
    if (node) {
      node.textContent = value === null || value === undefined ? "–" : String(value);
    }
  }

  function percent(share) {
    return share === null || share === undefined ? null : Math.round(share * 100) + "%";
  }

  function renderFigures(data) {
    var grades = GRADES.worst_first;
    setKpi("alerts", data.alerts.active);
    setKpi("incidents", data.incidents.open);
    setKpi(
      "missed",
      grades.reduce(function (sum, grade) {
        return sum + data.incidents.by_grade[grade].missed;
      }, 0)
    );
    setKpi("sla_today", percent(data.sla.today.arrive_met_share));
    setKpi("sla_7", percent(data.sla.days_7.arrive_met_share));
    setKpi("devices", data.devices.offline + " / " + data.devices.total);
    setKpi("battery", data.devices.battery_low);
    setKpi("overdue", data.vulnerable.shown ? data.vulnerable.overdue + " / " + data.vulnerable.total : null);
    setKpi("reports", data.reports.last_7_days);
    setKpi("rating", data.reports.average_rating);
    var background = { backgroundColor: "transparent" };
    // Each chart is drawn in a task of its own, so that no single task holds the page for long.
    var steps = [];
    steps.push(function () {
      var byGrade = chart("by-grade");
      if (byGrade) {
        byGrade.setOption(
          Object.assign({}, background, {
            animation: false,
            tooltip: { renderMode: "richText", trigger: "axis" },
            legend: { top: 0 },
            grid: { left: 40, right: 10, top: 30, bottom: 25 },
            xAxis: { type: "category", data: grades.map(t) },
            yAxis: { type: "value", minInterval: 1 },
            series: [
              { name: t("alerts") + " · " + t("open"), type: "bar", stack: "a", data: grades.map(function (g) { return data.alerts.by_grade[g].open; }) },
              { name: t("alerts") + " · " + t("acknowledged"), type: "bar", stack: "a", data: grades.map(function (g) { return data.alerts.by_grade[g].acknowledged; }) },
              { name: t("incidents") + " · " + t("running"), type: "bar", stack: "i", data: grades.map(function (g) { return data.incidents.by_grade[g].running; }) },
              { name: t("incidents") + " · " + t("missed"), type: "bar", stack: "i", data: grades.map(function (g) { return data.incidents.by_grade[g].missed; }) },
            ],
          })
        );
        byGrade.off("click");
        byGrade.on("click", function (params) {
          var grade = grades[params.dataIndex];
          window.location.href = params.seriesName.indexOf(t("alerts")) === 0 ? "/alerts/?grade=" + grade : "/response/incidents/?grade=" + grade;
        });
      }
    });
    steps.push(function () {
      var timeline = chart("timeline");
      if (timeline) {
        timeline.setOption(
          Object.assign({}, background, {
            animation: false,
            tooltip: { renderMode: "richText", trigger: "axis" },
            grid: { left: 40, right: 10, top: 10, bottom: 25 },
            xAxis: {
              type: "category",
              data: data.timeline.hours.map(hourText),
            },
            yAxis: { type: "value", minInterval: 1 },
            series: grades.map(function (grade) {
              return { name: t(grade), type: "bar", stack: "g", itemStyle: { color: GRADE_COLOURS[grade] }, data: data.timeline.by_grade[grade] };
            }),
          })
        );
      }
    });
    steps.push(function () {
      var sla = chart("sla");
      if (sla) {
        var clocks = ["acknowledge", "arrive", "resolve"];
        sla.setOption(
          Object.assign({}, background, {
            animation: false,
            tooltip: { renderMode: "richText", trigger: "axis", valueFormatter: function (v) { return v === null ? "–" : v + "%"; } },
            legend: { top: 0 },
            grid: { left: 40, right: 10, top: 30, bottom: 25 },
            xAxis: { type: "category", data: clocks.map(t) },
            yAxis: { type: "value", max: 100 },
            series: [
              { name: t("today"), type: "bar", data: clocks.map(function (c) { var s = data.sla.today[c + "_met_share"]; return s === null ? null : Math.round(s * 100); }) },
              { name: t("days7"), type: "bar", data: clocks.map(function (c) { var s = data.sla.days_7[c + "_met_share"]; return s === null ? null : Math.round(s * 100); }) },
            ],
          })
        );
      }
    });
    steps.push(function () {
      var devices = chart("devices");
      if (devices) {
        devices.setOption(
          Object.assign({}, background, {
            animation: false,
            tooltip: { renderMode: "richText", trigger: "item" },
            series: [
              {
                type: "pie",
                radius: ["45%", "70%"],
                data: ["online", "offline", "maintenance", "no_consent"].map(function (status) {
                  return { name: t(status), value: data.devices[status], itemStyle: { color: DEVICE_COLOURS[status] } };
                }),
              },
            ],
          })
        );
      }
    });
    steps.push(function () {
      renderCareToday(data.care_today);
    });
    steps.push(function () {
      var section = root.querySelector("[data-care-section]");
      if (data.vulnerable.shown) {
        section.hidden = false;
        var rows = data.vulnerable.most_overdue.map(function (row) {
          return el("tr", { class: row.overdue ? "overdue" : "" }, [
            el("td", { text: row.name }),
            el("td", {}, [el("a", { href: "/places/buildings/" + row.building_id + "/", text: row.building })]),
            el("td", { text: row.kinds.join(", ") }),
            el("td", { text: timeText(row.last_checked) + (row.overdue ? " · " + t("overdue") : "") }),
          ]);
        });
        root.querySelector("[data-care-table] tbody").replaceChildren.apply(root.querySelector("[data-care-table] tbody"), rows);
      }
    });
    (function next() {
      var step = steps.shift();
      if (step) {
        var started = performance.now();
        step();
        metrics.longestFigureStepMs = Math.max(metrics.longestFigureStepMs || 0, performance.now() - started);
        window.setTimeout(next, 0);
      }
    })();
  }

  // Today's check-ins of those with a care plan: the share confirmed well, per grid, the missed ones
  // (masked names) and, for roles that may, the care board where one click sends someone.
  function renderCareToday(care) {
    var section = root.querySelector("[data-care-today-section]");
    setKpi("care_today", care && care.shown ? care.confirmed + " / " + care.total : null);
    if (!care || !care.shown) {
      return;
    }
    section.hidden = false;
    section.querySelector("[data-care-today-summary]").textContent =
      care.confirmed + " / " + care.total + (care.share === null ? "" : " (" + percent(care.share) + ")");
    var grids = section.querySelector("[data-care-today-grids] tbody");
    grids.replaceChildren.apply(
      grids,
      care.by_grid.map(function (grid) {
        return el("tr", {}, [
          el("th", { scope: "row" }, [
            care.board_url
              ? el("a", { href: care.board_url + "?grid=" + encodeURIComponent(grid.code), text: grid.name })
              : grid.name,
          ]),
          el("td", { class: "number", text: grid.confirmed + " / " + grid.total + " (" + percent(grid.share) + ")" }),
          el("td", { class: "number", text: String(grid.missed) }),
        ]);
      })
    );
    var missed = section.querySelector("[data-care-today-missed] tbody");
    var rows = care.missed.map(function (row) {
      return el("tr", { class: row.state === "overdue" ? "overdue" : "" }, [
        el("td", { text: row.name }),
        el("td", {}, row.building_id === null ? [] : [el("a", { href: "/places/buildings/" + row.building_id + "/", text: row.building })]),
        el("td", {}, [
          row.incident === null
            ? el("span", { text: t("care-" + row.state) })
            : el("a", { href: "/response/incidents/" + row.incident + "/", text: t("care-" + row.state) }),
        ]),
      ]);
    });
    if (!rows.length) {
      rows = [el("tr", {}, [el("td", { colspan: "3", text: t("care-none-missed") })])];
    }
    missed.replaceChildren.apply(missed, rows);
    section.querySelector("[data-care-today-link]").hidden = !care.board_url || !care.overdue;
  }

  function refreshFigures() {
    figuresTimer = null;
    getJSON(root.getAttribute("data-figures-url")).then(renderFigures).catch(function () {});
  }

  function refreshFiguresSoon() {
    if (figuresTimer === null) {
      figuresTimer = window.setTimeout(refreshFigures, 3000);
    }
  }

  // --- crowd density --------------------------------------------------------------------------------

  var crowdData = null;

  function crowdColour(grade, density) {
    if (grade) {
      return GRADE_COLOURS[grade];
    }
    return density > 0 ? "#74c0fc" : "#343a40";
  }

  function showCrowd() {
    if (!crowdData) {
      return;
    }
    var slider = document.getElementById("crowd-hour");
    var index = Number(slider.value);
    var label = document.getElementById("crowd-hour-label");
    label.textContent = index >= 24 ? slider.getAttribute("data-text-now") : hourText(crowdData.hours[index]);
    crowdData.zones.forEach(function (zone) {
      var layer = layers.crowdZones[zone.key];
      if (!layer) {
        return;
      }
      var density = index >= 24 ? zone.now || 0 : zone.hourly[index];
      var grade = index >= 24 ? zone.now_grade : zone.hourly_grades[index];
      layer.setStyle({ fillColor: crowdColour(grade, density), fillOpacity: density > 0 ? 0.55 : 0.1 });
      Banyan.textTooltip(layer, zone.name + " · " + density.toFixed(2) + " " + t("persons-m2"));
    });
  }

  function refreshCrowd() {
    getJSON(root.getAttribute("data-crowd-url"))
      .then(function (data) {
        crowdData = data;
        showCrowd();
      })
      .catch(function () {});
  }

  // --- controls -------------------------------------------------------------------------------------

  function wireControls() {
    Array.prototype.forEach.call(root.querySelectorAll("[data-layer]"), function (box) {
      function apply() {
        var layer = layers[box.getAttribute("data-layer")];
        if (!layer) {
          return;
        }
        if (box.checked) {
          layer.addTo(map);
        } else {
          map.removeLayer(layer);
        }
        if (layer === layers.paths) {
          root.querySelector("[data-paths-legend]").hidden = !box.checked;
          if (box.checked) {
            loadPaths();
          }
        }
      }
      box.addEventListener("change", apply);
      apply();
    });
    document.getElementById("crowd-hour").addEventListener("input", showCrowd);
    var chimeButton = root.querySelector("[data-chime]");
    chimeButton.addEventListener("click", function () {
      chimeOn = !chimeOn;
      chimeButton.setAttribute("aria-pressed", chimeOn ? "true" : "false");
      if (chimeOn) {
        chime();
      }
    });
    var themeButton = root.querySelector("[data-theme-toggle]");
    var stored = window.localStorage && window.localStorage.getItem("banyan-cockpit-theme");
    if (stored === "light") {
      document.body.setAttribute("data-theme", "light");
      themeButton.setAttribute("aria-pressed", "false");
    }
    themeButton.addEventListener("click", function () {
      var dark = document.body.getAttribute("data-theme") !== "dark";
      document.body.setAttribute("data-theme", dark ? "dark" : "light");
      themeButton.setAttribute("aria-pressed", dark ? "true" : "false");
      if (window.localStorage) {
        window.localStorage.setItem("banyan-cockpit-theme", dark ? "dark" : "light");
      }
      Object.keys(charts).forEach(function (name) {
        charts[name].dispose();
        delete charts[name];
      });
      restylePaths();
      refreshFigures();
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-close-panel]"), function (button) {
      button.addEventListener("click", function () {
        button.closest(".cockpit-panel").hidden = true;
      });
    });
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (name) {
        charts[name].resize();
      });
    });
  }

  function start() {
    setStatus("connecting");
    getJSON(root.getAttribute("data-map-url"))
      .then(function (data) {
        drawMap(data);
        wireControls();
        follow();
        refreshFigures();
        refreshCrowd();
        window.setInterval(refreshFigures, 30000);
        window.setInterval(refreshCrowd, 60000);
      })
      .catch(function () {
        setStatus("reconnecting");
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
