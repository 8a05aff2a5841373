/* Banyan web shell: small progressive enhancements; every page works without this file.
 *
 * - A table box (.table-scroll) that is wider than the screen becomes keyboard focusable, so
 *   it can be scrolled with the arrow keys.
 * - A link with data-dialog="ID" opens the <dialog id="ID"> modally instead of navigating
 *   to its fallback page. Buttons with data-close inside a dialog close it. Focus returns to
 *   the link that opened it.
 * - A form with data-geolocate fills its hidden latitude and longitude with the browser's position
 *   before it is sent, when the browser gives one within a few seconds; else it is sent without.
 * - An element with data-live-notifications="URL" follows the user's notifications (Server-Sent
 *   Events): each new one is added to its role="log" box (a link when it is about an incident,
 *   data-incident-url holding the incident page's address with 0 for its id) and the element is
 *   shown; an urgent one also vibrates the phone. EventSource reconnects by itself and sends
 *   Last-Event-ID, so nothing sent meanwhile is missed; data-live-state says "open",
 *   "reconnecting" or "closed".
 * - An element with data-share-position="URL" (a responder with open tasks) sends the phone's
 *   position there (JSON, with data-csrf) when the browser gives one: the first fix, then at most
 *   every 30 s and only after moving more than 15 m. data-shared counts what was sent.
 * - Banyan.textTooltip(layer, text): the one place a Leaflet tooltip is given its content. Leaflet
 *   inserts a string as HTML, so the text (a rule's or a building's name, from the server) goes in
 *   as a node holding it as text; binds the tooltip, or replaces its content, and returns the layer.
 */
window.Banyan = window.Banyan || {};
window.Banyan.textTooltip = function (layer, text) {
  var tooltipNode = document.createElement("span");
  tooltipNode.textContent = text;
  return layer.getTooltip() ? layer.setTooltipContent(tooltipNode) : layer.bindTooltip(tooltipNode);
};

(function () {
  "use strict";

  function supportsDialog() {
    return typeof HTMLDialogElement === "function" && "showModal" in HTMLDialogElement.prototype;
  }

  function openDialog(dialog, opener) {
    dialog.showModal();
    var first = dialog.querySelector("[autofocus], input, textarea, select, button");
    if (first) {
      first.focus();
    }
    dialog.addEventListener(
      "close",
      function () {
        if (opener && document.body.contains(opener)) {
          opener.focus();
        }
      },
      { once: true }
    );
  }

  function markScrollableTables() {
    var boxes = document.querySelectorAll(".table-scroll");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
      } else {
        box.removeAttribute("tabindex");
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", markScrollableTables);
  } else {
    markScrollableTables();
  }
  window.addEventListener("resize", markScrollableTables);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-geolocate") || !navigator.geolocation || !form.elements.latitude) {
      return;
    }
    if (form.getAttribute("data-geolocate") === "sent") {
      return;
    }
    event.preventDefault();
    form.setAttribute("data-geolocate", "sent");
    var status = form.querySelector("[data-geolocate-status]");
    if (status) {
      status.textContent = status.getAttribute("data-geolocate-status");
    }
    var sent = false;
    function send() {
      if (!sent) {
        sent = true;
        form.submit();
      }
    }
    window.setTimeout(send, 10000); // a permission prompt nobody answers must not hold the step
    navigator.geolocation.getCurrentPosition(
      function (position) {
        form.elements.latitude.value = position.coords.latitude.toFixed(6);
        form.elements.longitude.value = position.coords.longitude.toFixed(6);
        send();
      },
      send,
      { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 }
    );
  });

  function followNotifications(box) {
    if (typeof window.EventSource !== "function") {
      return;
    }
    var log = box.querySelector("[role=log]");
    var incidentUrl = box.getAttribute("data-incident-url") || "";
    var source = new EventSource(box.getAttribute("data-live-notifications"));
    source.addEventListener("open", function () {
      box.setAttribute("data-live-state", "open");
    });
    source.addEventListener("error", function () {
      box.setAttribute("data-live-state", source.readyState === 2 ? "closed" : "reconnecting");
    });
    source.addEventListener("notification", function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      var item = document.createElement("p");
      item.className = "live-item live-item--" + (data.urgency === "urgent" ? "urgent" : "normal");
      item.setAttribute("data-message", String(data.id));
      var title;
      if (data.subject_type === "incident" && data.subject_id && incidentUrl) {
        title = document.createElement("a");
        title.href = incidentUrl.replace("/0/", "/" + encodeURIComponent(data.subject_id) + "/");
      } else {
        title = document.createElement("strong");
      }
      title.textContent = data.subject;
      item.appendChild(title);
      if (data.body) {
        item.appendChild(document.createElement("br"));
        item.appendChild(document.createTextNode(data.body));
      }
      log.insertBefore(item, log.firstChild);
      box.hidden = false;
      if (data.urgency === "urgent" && navigator.vibrate) {
        navigator.vibrate([300, 150, 300]);
      }
    });
  }

  function metresBetween(a, b) {
    var rad = Math.PI / 180;
    var x = (b.longitude - a.longitude) * rad * Math.cos(((a.latitude + b.latitude) / 2) * rad);
    var y = (b.latitude - a.latitude) * rad;
    return Math.sqrt(x * x + y * y) * 6371000;
  }

  function sharePosition(box) {
    if (!navigator.geolocation) {
      return;
    }
    var last = null;
    var lastAt = 0;
    var sent = 0;
    navigator.geolocation.watchPosition(
      function (position) {
        var here = { latitude: position.coords.latitude, longitude: position.coords.longitude };
        var now = Date.now();
        if (last && (now - lastAt < 30000 || metresBetween(last, here) < 15)) {
          return;
        }
        last = here;
        lastAt = now;
        fetch(box.getAttribute("data-share-position"), {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": box.getAttribute("data-csrf") },
          body: JSON.stringify({ latitude: here.latitude, longitude: here.longitude }),
        }).then(function (response) {
          if (response.ok) {
            sent += 1;
            box.setAttribute("data-shared", String(sent));
          }
        });
      },
      function () {},
      { enableHighAccuracy: true, maximumAge: 30000, timeout: 20000 }
    );
  }

  function startLiveBoxes() {
    var sharing = document.querySelector("[data-share-position]");
    if (sharing) {
      sharePosition(sharing);
    }
    var boxes = document.querySelectorAll("[data-live-notifications]");
    for (var i = 0; i < boxes.length; i++) {
      followNotifications(boxes[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startLiveBoxes);
  } else {
    startLiveBoxes();
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog]");
    if (opener && supportsDialog()) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog"));
      if (dialog) {
        event.preventDefault();
        openDialog(dialog, opener);
      }
      return;
    }
    var closer = event.target.closest("dialog [data-close]");
    if (closer) {
      event.preventDefault();
      closer.closest("dialog").close();
    }
  });
})();
