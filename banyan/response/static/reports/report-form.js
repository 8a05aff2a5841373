/* The report form's first-aid advice: choosing a category where minutes count (a fall, fire, gas, a
 * danger) shows what to do first ("call 120 first") beside the choice; choosing another hides it.
 * The blocks are the server's (section[data-first-aid="CODE"], in a polite live region, so a screen
 * reader reads the advice that appears); one out of sight is scrolled into view. Without JavaScript the
 * advice of the category chosen when the page was made is shown, and the short line above the
 * categories always. */
(function () {
  "use strict";

  function start() {
    var form = document.querySelector("form.report-form");
    if (!form) {
      return;
    }
    var blocks = form.querySelectorAll("[data-first-aid]");
    if (!blocks.length) {
      return;
    }
    function show(code) {
      for (var i = 0; i < blocks.length; i++) {
        var shown = blocks[i].getAttribute("data-first-aid") === code;
        blocks[i].hidden = !shown;
        var box = shown ? blocks[i].getBoundingClientRect() : null;
        if (box && (box.top < 0 || box.bottom > window.innerHeight)) {
          blocks[i].scrollIntoView({ block: "nearest" }); // what to do first is never out of sight
        }
      }
    }
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target && target.name === "category" && target.checked) {
        show(target.value);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
