/* Banyan web shell: small progressive enhancements; every page works without this file.
 *
 * - A table box (.table-scroll) that is wider than the screen becomes keyboard focusable, so
 *   it can be scrolled with the arrow keys.
 * - A link with data-dialog="ID" opens the <dialog id="ID"> modally instead of navigating
 *   to its fallback page. Buttons with data-close inside a dialog close it. Focus returns to
 *   the link that opened it.
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
