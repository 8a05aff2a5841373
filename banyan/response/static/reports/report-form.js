/* The report form's first-aid advice: choosing a category where minutes count (a fall, fire, gas, a
 * danger) shows what to do first ("call 120 first") beside the choice; choosing another hides it.
 * The blocks are the server's (section[data-first-aid="CODE"]); without JavaScript the advice of the
 * category chosen when the page was made is shown, and the short line above the categories always. */
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
        blocks[i].hidden = blocks[i].getAttribute("data-first-aid") !== code;
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
