/* The grid editor's map (/places/<community>/grids/): the community's boundary, its buildings, its
 * grids and a proposal, drawn with Leaflet from Banyan's own data; and drawing a new grid by clicks.
 *
 * The grids' one source of truth is the save form's GeoJSON field (#id_grids): the map draws what it
 * holds, a drawn grid is added to it, a name typed in the table is written into it. Without
 * JavaScript (or for keyboard use) the field is edited by hand. Nothing is inserted as HTML: names
 * reach the page as text nodes (Banyan.textTooltip, textContent).
 */
(function () {
  "use strict";

  var BRAND = "#1d5c3a";
  var DRAWING = "#a4161a";
  var PROPOSAL = "#6a3d9a";

  function readGrids(field) {
    try {
      var data = JSON.parse(field.value);
      if (data && data.type === "FeatureCollection" && Array.isArray(data.features)) {
        return data;
      }
    } catch (error) {
      // A half-typed edit: the map keeps what it drew last.
    }
    return null;
  }

  function writeGrids(field, data) {
    field.value = JSON.stringify(data);
  }

  function gridLabel(properties) {
    var english = document.documentElement.lang === "en";
    var name = english && properties.name_en ? properties.name_en : properties.name_zh;
    return (name || "") + " (" + (properties.code || "?") + ")";
  }

  function start() {
    var box = document.querySelector("[data-grid-editor]");
    if (!box || typeof window.L === "undefined") {
      return;
    }
    var source = document.getElementById(box.getAttribute("data-grid-editor"));
    var field = document.getElementById(box.getAttribute("data-grids-field"));
    if (!source || !field) {
      return;
    }
    var data = JSON.parse(source.textContent);
    box.hidden = false;
    var map = L.map(box, { attributionControl: false, zoomSnap: 0.25 });
    box.gridEditorMap = map; // for the browser test, which clicks at places given in degrees
    var bounds = L.latLngBounds([]);
    // The view is set before anything is drawn (a vector layer added to a map without a view fails).
    function geometryOf(feature) {
      return feature && feature.geometry;
    }
    var initial = readGrids(field);
    [data.community]
      .concat(initial ? initial.features.map(geometryOf) : [])
      .concat(data.proposal ? data.proposal.features.map(geometryOf) : [])
      .forEach(function (geometry) {
        try {
          if (geometry) {
            bounds.extend(L.geoJSON(geometry).getBounds());
          }
        } catch (error) {
          // Not drawable: left out of the view.
        }
      });
    data.buildings.forEach(function (building) {
      bounds.extend([building.latitude, building.longitude]);
    });
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [12, 12] });
    } else {
      map.setView([30.25, 120.16], 16);
    }

    if (data.community) {
      var outline = L.geoJSON(data.community, {
        style: { color: "#222", weight: 3, fill: false, dashArray: "8 6" },
        interactive: false,
      }).addTo(map);
      bounds.extend(outline.getBounds());
    }
    data.buildings.forEach(function (building) {
      var layer = L.circleMarker([building.latitude, building.longitude], {
        radius: 5,
        color: "#4a524e",
        weight: 1,
        fillColor: "#c9d2cd",
        fillOpacity: 0.9,
      });
      Banyan.textTooltip(layer, building.name + " · " + building.grid);
      layer.addTo(map);
      bounds.extend([building.latitude, building.longitude]);
    });

    var gridLayer = L.layerGroup().addTo(map);
    function drawGrids() {
      var grids = readGrids(field);
      if (!grids) {
        return;
      }
      gridLayer.clearLayers();
      grids.features.forEach(function (feature) {
        if (!feature || !feature.geometry) {
          return;
        }
        try {
          var layer = L.geoJSON(feature.geometry, {
            style: { color: BRAND, weight: 2, fillColor: BRAND, fillOpacity: 0.08 },
          });
          Banyan.textTooltip(layer, gridLabel(feature.properties || {}));
          gridLayer.addLayer(layer);
          bounds.extend(layer.getBounds());
        } catch (error) {
          // Not a drawable geometry: the server names it when the grids are saved.
        }
      });
    }
    drawGrids();
    field.addEventListener("change", drawGrids);

    if (data.proposal) {
      data.proposal.features.forEach(function (feature) {
        var layer = L.geoJSON(feature.geometry, {
          style: { color: PROPOSAL, weight: 3, dashArray: "4 4", fillColor: PROPOSAL, fillOpacity: 0.15 },
        });
        Banyan.textTooltip(layer, gridLabel(feature.properties));
        layer.addTo(map);
        bounds.extend(layer.getBounds());
      });
    }

    if (window.banyanBasemap) {
      window.banyanBasemap(map); // the offline basemap, when one is configured (basemap.js)
    }

    // Names typed in the table are written into the GeoJSON too.
    var rows = document.querySelector("[data-grid-rows]");
    function rename(event) {
      var input = event.target;
      var row = input.closest("[data-grid-row]");
      var grids = readGrids(field);
      if (!row || !grids || !input.hasAttribute("data-grid-name")) {
        return;
      }
      var code = row.getAttribute("data-grid-row");
      grids.features.forEach(function (feature) {
        if (feature && feature.properties && feature.properties.code === code) {
          feature.properties[input.getAttribute("data-grid-name")] = input.value;
        }
      });
      writeGrids(field, grids);
      drawGrids();
    }
    if (rows) {
      rows.addEventListener("input", rename);
    }

    // --- drawing a grid by clicks -----------------------------------------------------------
    var panel = document.querySelector("[data-grid-draw]");
    if (!panel) {
      return;
    }
    panel.hidden = false;
    var startButton = panel.querySelector("[data-draw-start]");
    var finishButton = panel.querySelector("[data-draw-finish]");
    var undoButton = panel.querySelector("[data-draw-undo]");
    var clearButton = panel.querySelector("[data-draw-clear]");
    var status = panel.querySelector("[data-draw-status]");
    var newGrid = panel.querySelector("[data-new-grid]");
    var newCode = panel.querySelector("[data-new-code]");
    var newNameZh = panel.querySelector("[data-new-name-zh]");
    var newNameEn = panel.querySelector("[data-new-name-en]");
    var addButton = panel.querySelector("[data-new-add]");

    var drawing = false;
    var points = [];
    var finished = null; // the closed ring, waiting for its code and names
    var sketch = L.layerGroup().addTo(map);

    function say(text) {
      status.textContent = text;
    }

    function redrawSketch() {
      sketch.clearLayers();
      if (points.length >= 3 && finished) {
        L.polygon(points, { color: DRAWING, weight: 3, fillOpacity: 0.15 }).addTo(sketch);
      } else if (points.length >= 2) {
        L.polyline(points, { color: DRAWING, weight: 3, dashArray: "6 4" }).addTo(sketch);
      }
      points.forEach(function (point) {
        L.circleMarker(point, { radius: 5, color: DRAWING, fillOpacity: 1 }).addTo(sketch);
      });
      undoButton.disabled = points.length === 0 || Boolean(finished);
      clearButton.disabled = points.length === 0;
      finishButton.disabled = !drawing || points.length < 3;
      if (drawing) {
        say(status.getAttribute("data-points-label") + " " + points.length);
      }
    }

    function stopDrawing() {
      drawing = false;
      box.classList.remove("grid-map--drawing");
      map.doubleClickZoom.enable();
      startButton.disabled = false;
    }

    function finish() {
      if (points.length < 3) {
        say(status.getAttribute("data-too-few"));
        return;
      }
      finished = points.slice();
      stopDrawing();
      redrawSketch();
      newGrid.hidden = false;
      newCode.focus();
    }

    function clear() {
      points = [];
      finished = null;
      newGrid.hidden = true;
      stopDrawing();
      redrawSketch();
      say("");
    }

    startButton.addEventListener("click", function () {
      clear();
      drawing = true;
      box.classList.add("grid-map--drawing");
      map.doubleClickZoom.disable();
      startButton.disabled = true;
      redrawSketch();
    });
    finishButton.addEventListener("click", finish);
    undoButton.addEventListener("click", function () {
      points.pop();
      redrawSketch();
    });
    clearButton.addEventListener("click", clear);

    map.on("click", function (event) {
      if (!drawing) {
        return;
      }
      var last = points[points.length - 1];
      // The two clicks of a double-click land on one spot: the second adds no point.
      if (last && last.equals(event.latlng)) {
        return;
      }
      points.push(event.latlng);
      redrawSketch();
    });
    map.on("dblclick", function () {
      if (drawing) {
        finish();
      }
    });

    function addRow(properties) {
      if (!rows) {
        return;
      }
      var row = document.createElement("tr");
      row.setAttribute("data-grid-row", properties.code);
      var head = document.createElement("th");
      head.scope = "row";
      head.textContent = properties.code;
      row.appendChild(head);
      ["name_zh", "name_en"].forEach(function (name) {
        var cell = document.createElement("td");
        var input = document.createElement("input");
        input.type = "text";
        input.name = name + "-" + properties.code;
        input.value = properties[name];
        input.maxLength = 100;
        input.setAttribute("data-grid-name", name);
        input.setAttribute(
          "aria-label",
          document.querySelector(name === "name_zh" ? "label[for=new-grid-name-zh]" : "label[for=new-grid-name-en]")
            .textContent +
            " " +
            properties.code
        );
        cell.appendChild(input);
        row.appendChild(cell);
      });
      ["0", "0", ""].forEach(function (text, index) {
        var cell = document.createElement("td");
        cell.textContent = text;
        if (index < 2) {
          cell.className = "number";
        }
        row.appendChild(cell);
      });
      rows.appendChild(row);
    }

    addButton.addEventListener("click", function () {
      var code = newCode.value.trim();
      var nameZh = newNameZh.value.trim();
      if (!code || !nameZh) {
        say(status.getAttribute("data-code-needed"));
        (code ? newNameZh : newCode).focus();
        return;
      }
      var grids = readGrids(field) || { type: "FeatureCollection", features: [] };
      var taken = grids.features.some(function (feature) {
        return feature && feature.properties && feature.properties.code === code;
      });
      if (taken) {
        say(status.getAttribute("data-code-taken"));
        newCode.focus();
        return;
      }
      var ring = finished.map(function (point) {
        return [Number(point.lng.toFixed(7)), Number(point.lat.toFixed(7))];
      });
      ring.push(ring[0]);
      var properties = { code: code, name_zh: nameZh, name_en: newNameEn.value.trim() };
      grids.features.push({
        type: "Feature",
        properties: properties,
        geometry: { type: "Polygon", coordinates: [ring] },
      });
      writeGrids(field, grids);
      addRow(properties);
      newCode.value = "";
      newNameZh.value = "";
      newNameEn.value = "";
      clear();
      drawGrids();
      say(status.getAttribute("data-added"));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
