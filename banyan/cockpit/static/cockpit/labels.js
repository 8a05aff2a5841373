/* Names on the cockpit's maps (street.js: communities and grids; cockpit.js: grids and building
 * numbers). A label is a Leaflet marker whose divIcon is a DOM node holding the name as text (never an
 * HTML string). Labels are placed in order of importance after every zoom: one is shown only when its
 * place is big enough on the screen to hold it and it covers no label placed before it, so that names
 * never pile up on a phone or in elder mode; zooming in brings the hidden ones back. */
window.BanyanMapLabels = (function () {
  "use strict";

  function span(className, text) {
    var node = document.createElement("span");
    node.className = className;
    node.textContent = text;
    return node;
  }

  // A label of one or more lines (the first is the name) at ``point``, styled map-label--<modifier>.
  function marker(point, lines, modifier) {
    var labelNode = span("map-label__box", "");
    lines.forEach(function (line, index) {
      labelNode.appendChild(span(index === 0 ? "map-label__name" : "map-label__detail", line));
    });
    return L.marker(point, {
      icon: L.divIcon({ className: "map-label map-label--" + modifier, html: labelNode, iconSize: null }),
      interactive: false,
      keyboard: false,
    });
  }

  function sizeOnScreen(map, bounds) {
    var northWest = map.latLngToContainerPoint(bounds.getNorthWest());
    var southEast = map.latLngToContainerPoint(bounds.getSouthEast());
    return { width: Math.abs(southEast.x - northWest.x), height: Math.abs(southEast.y - northWest.y) };
  }

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  /* Show or hide ``labels`` on ``layer``, most important first. Each label is
   * {marker, bounds (its place, or null), minimum: {width, height, zoom} (px and zoom its place needs),
   *  fit (true: the label must fit inside its place), always (true: shown whatever it covers)}. */
  function place(map, layer, labels) {
    var zoom = map.getZoom();
    var placed = [];
    labels.forEach(function (label) {
      var size = label.bounds ? sizeOnScreen(map, label.bounds) : null;
      var minimum = label.minimum || { width: 0, height: 0, zoom: 0 };
      var show =
        label.always ||
        (zoom >= minimum.zoom && (!size || (size.width >= minimum.width && size.height >= minimum.height)));
      if (!show) {
        layer.removeLayer(label.marker);
        return;
      }
      if (!layer.hasLayer(label.marker)) {
        label.marker.addTo(layer);
      }
      var element = label.marker.getElement();
      if (!element) {
        return; // not drawn yet (the map is still loading): the next placement measures it
      }
      var rect = element.firstChild.getBoundingClientRect();
      if (!label.always) {
        var tooBig = label.fit && size && (rect.width + 4 > size.width || rect.height + 4 > size.height);
        show = !tooBig && !placed.some(function (other) {
          return overlaps(rect, other);
        });
      }
      if (show) {
        placed.push(rect);
      } else {
        layer.removeLayer(label.marker);
      }
    });
  }

  return { marker: marker, place: place, sizeOnScreen: sizeOnScreen };
})();
