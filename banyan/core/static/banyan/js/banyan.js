/* Banyan web shell: small progressive enhancements; every page works without this file.
 *
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
