/* Banyan web shell: small progressive enhancements; every page works without this file.
 *
 * - A table box (.table-scroll) that is wider than the screen becomes keyboard focusable, so
 *   it can be scrolled with the arrow keys.
 * - A link with data-dialog="ID" opens the <dialog id="ID"> modally instead of navigating
 *   to its fallback page. Buttons with data-close inside a dialog close it. Focus returns to
 *   the link that opened it.
 * - A form with data-geolocate fills its hidden latitude and longitude with the browser's position
 *   before it is sent, when the browser gives one within a few seconds; else it is sent without.
 * - The header's bell (a[data-bell="URL"]) follows the user's notifications (Server-Sent Events,
 *   one stream per page): each new one adds 1 to its count and is announced to the page as a
 *   "banyan:notification" event on document; an urgent one is pinned in the urgent bar
 *   ([data-urgent-bar], with a "Seen" button) until acknowledged, vibrates the phone and sounds a
 *   short tone (where the browser lets a page play sound). EventSource reconnects by itself and
 *   sends Last-Event-ID, so nothing sent meanwhile is missed; data-live-state on the bell (and on
 *   every live box below) says "open", "reconnecting" or "closed".
 * - An element with data-live-notifications shows each new notification in its role="log" box (a
 *   link when it is about an incident, data-incident-url holding the incident page's address with 0
 *   for its id) and is shown.
 * - An element with data-live-list="NAME" is a list that can change: on each notification, and
 *   every 20 s while the page is visible, the browser loads the page again as a document and the
 *   element is replaced by the element of the same name in it (nodes of the server's own page; no
 *   string of markup passes through this script) when its text changed; data-refreshed counts the
 *   refreshes, and document hears "banyan:lists-refreshed" (a list's scripts draw its new parts).
 * - On a phone the header folds its menu behind a "Menu" button (button.menu-toggle).
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

  var liveState = "connecting";

  function setLiveState(state) {
    liveState = state;
    var boxes = document.querySelectorAll("[data-bell], [data-live-notifications]");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].setAttribute("data-live-state", state);
    }
  }

  function subjectUrl(bar, data) {
    var pattern = bar ? bar.getAttribute("data-" + data.subject_type + "-url") : "";
    if (!pattern || !/^[0-9]+$/.test(String(data.subject_id || ""))) {
      return "";
    }
    return pattern.replace("/0/", "/" + data.subject_id + "/");
  }

  function tone() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) {
      return;
    }
    try {
      var context = new Context();
      var oscillator = context.createOscillator();
      var gain = context.createGain();
      oscillator.frequency.value = 880;
      gain.gain.value = 0.15;
      oscillator.connect(gain);
      gain.connect(context.destination);
      oscillator.start();
      oscillator.stop(context.currentTime + 0.4);
    } catch (error) {
      // a browser that allows no sound before the first click: the bar and the vibration remain
    }
  }

  function pinUrgent(data) {
    var bar = document.querySelector("[data-urgent-bar]");
    var list = bar && bar.querySelector("[data-urgent-list]");
    if (!list || list.querySelector("[data-message='" + String(Number(data.id)) + "']")) {
      return;
    }
    var item = document.createElement("li");
    item.className = "urgent-bar__item";
    item.setAttribute("data-message", String(Number(data.id)));
    var badge = document.createElement("span");
    badge.className = "badge badge--urgent";
    badge.textContent = bar.getAttribute("data-urgent-label");
    item.appendChild(badge);
    item.appendChild(document.createTextNode(" "));
    var url = subjectUrl(bar, data);
    var title = document.createElement(url ? "a" : "strong");
    if (url) {
      title.href = url;
    }
    title.textContent = data.subject;
    item.appendChild(title);
    var form = document.createElement("form");
    form.method = "post";
    form.className = "inline-form";
    form.action = bar.getAttribute("data-acknowledge-url").replace("/0/", "/" + Number(data.id) + "/");
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    var fields = [
      ["csrfmiddlewaretoken", token ? token.value : ""],
      ["next", window.location.pathname + window.location.search],
    ];
    for (var i = 0; i < fields.length; i++) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = fields[i][0];
      input.value = fields[i][1];
      form.appendChild(input);
    }
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "button button--small";
    button.textContent = bar.getAttribute("data-seen-label");
    form.appendChild(button);
    item.appendChild(form);
    list.insertBefore(item, list.firstChild);
    bar.hidden = false;
  }

  function followBell(bell) {
    if (typeof window.EventSource !== "function") {
      return;
    }
    var count = bell.querySelector("[data-bell-count]");
    var source = new EventSource(bell.getAttribute("data-bell"));
    source.addEventListener("open", function () {
      setLiveState("open");
    });
    source.addEventListener("error", function () {
      setLiveState(source.readyState === 2 ? "closed" : "reconnecting");
    });
    source.addEventListener("notification", function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      var unread = (parseInt(bell.getAttribute("data-unread"), 10) || 0) + 1;
      bell.setAttribute("data-unread", String(unread));
      count.textContent = String(unread);
      if (data.urgency === "urgent") {
        bell.classList.add("bell--urgent");
        pinUrgent(data);
        if (navigator.vibrate) {
          navigator.vibrate([300, 150, 300]);
        }
        tone();
      }
      document.dispatchEvent(new CustomEvent("banyan:notification", { detail: data }));
    });
  }

  function followNotifications(box) {
    var log = box.querySelector("[role=log]");
    var incidentUrl = box.getAttribute("data-incident-url") || "";
    box.setAttribute("data-live-state", liveState);
    document.addEventListener("banyan:notification", function (event) {
      var data = event.detail;
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
    });
  }

  var refreshing = false;
  var refreshAgain = false;

  // Each live list's text as the server last sent it: a fresh copy that says the same is not put in
  // (what scripts drew into the list, a route map say, stays).
  var served = {};

  function rememberLists() {
    var lists = document.querySelectorAll("[data-live-list]");
    for (var i = 0; i < lists.length; i++) {
      served[lists[i].getAttribute("data-live-list")] = lists[i].textContent;
    }
  }

  function replaceLists(fresh) {
    var lists = document.querySelectorAll("[data-live-list]");
    var replaced = 0;
    for (var i = 0; i < lists.length; i++) {
      var name = lists[i].getAttribute("data-live-list").replace(/[^a-z0-9_-]/gi, "");
      var replacement = fresh.querySelector("[data-live-list='" + name + "']");
      if (!replacement || lists[i].contains(document.activeElement)) {
        continue; // a list someone is typing or clicking in is left as it is until the next time
      }
      if (served[name] === replacement.textContent) {
        continue;
      }
      served[name] = replacement.textContent;
      replaced += 1;
      var done = (parseInt(lists[i].getAttribute("data-refreshed"), 10) || 0) + 1;
      var node = document.importNode(replacement, true);
      node.setAttribute("data-refreshed", String(done));
      lists[i].replaceWith(node);
    }
    if (replaced) {
      markScrollableTables();
      document.dispatchEvent(new CustomEvent("banyan:lists-refreshed"));
    }
  }

  function refreshLists() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    // The page itself, loaded again as a document by the browser (as a navigation would): no string
    // of markup passes through this script.
    var request = new XMLHttpRequest();
    request.open("GET", window.location.href);
    request.responseType = "document";
    request.setRequestHeader("Accept", "text/html");
    request.onloadend = function () {
      if (request.status === 200 && request.responseXML) {
        replaceLists(request.responseXML);
      }
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        refreshLists();
      }
    };
    request.send();
  }

  function followLists() {
    if (!document.querySelector("[data-live-list]")) {
      return;
    }
    rememberLists();
    document.addEventListener("banyan:notification", refreshLists);
    window.setInterval(function () {
      if (document.visibilityState === "visible") {
        refreshLists();
      }
    }, 20000);
  }

  function foldMenu() {
    var toggle = document.querySelector(".menu-toggle");
    var menu = document.getElementById("site-menu");
    if (!toggle || !menu) {
      return;
    }
    toggle.hidden = false;
    document.documentElement.classList.add("has-menu-toggle");
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("site-menu--open", open);
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
    foldMenu();
    var sharing = document.querySelector("[data-share-position]");
    if (sharing) {
      sharePosition(sharing);
    }
    var boxes = document.querySelectorAll("[data-live-notifications]");
    for (var i = 0; i < boxes.length; i++) {
      followNotifications(boxes[i]);
    }
    followLists();
    var bell = document.querySelector("a[data-bell]");
    if (bell) {
      followBell(bell);
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
