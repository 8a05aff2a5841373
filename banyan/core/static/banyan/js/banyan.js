/* Banyan web shell: small progressive enhancements; every page works without this file.
 *
 * - A table box (.table-scroll) that is wider than the screen becomes keyboard focusable, so
 *   it can be scrolled with the arrow keys.
 * - A link with data-dialog="ID" opens the <dialog id="ID"> modally instead of navigating
 *   to its fallback page. Buttons with data-close inside a dialog close it. Focus returns to
 *   the link that opened it.
 * - A form with data-geolocate fills its hidden latitude and longitude with the browser's position
 *   before it is sent, when the browser gives one within a few seconds; else it is sent without.
 */
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
