/* Trial screen: keyboard answers, client-side response time, no double sends, retry on network loss. */
(function () {
  "use strict";
  var KEYS = {ArrowLeft: "left", f: "left", F: "left", ArrowRight: "right", j: "right", J: "right",
              ArrowDown: "none", n: "none", N: "none"};
  var shownAt = 0;

  function arm(root) {
    var form = root.querySelector("form[data-trial]");
    if (form && !form.hasAttribute("data-armed")) {
      form.setAttribute("data-armed", "");
      var images = Array.prototype.slice.call(form.querySelectorAll("img"));
      Promise.all(images.map(function (img) { return img.decode().catch(function () {}); })).then(function () {
        shownAt = performance.now();
        form.setAttribute("data-ready", "");
      });
    }
    var redirect = root.querySelector("[data-redirect]");
    if (redirect) {
      setTimeout(function () { window.location.href = redirect.getAttribute("data-redirect"); }, 8000);
    }
  }

  document.addEventListener("DOMContentLoaded", function () { arm(document); });
  document.addEventListener("htmx:load", function (event) {
    arm(document);
    var step = document.getElementById("step");
    if (step && event.detail.elt === step && !step.querySelector("[autofocus]")) step.focus({preventScroll: true});
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-trial")) return;
    if (form.hasAttribute("data-sent")) {  // a second click while the first is on its way
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    form.setAttribute("data-sent", "");
    if (shownAt) form.elements.client_ms.value = Math.round(performance.now() - shownAt);
  }, true);

  function failed(event) {
    var form = event.target.closest && event.target.closest("form[data-trial]");
    if (!form) return;
    form.removeAttribute("data-sent");
    var message = form.querySelector("[data-error]");
    message.textContent = "Could not reach the server. Your answer is safe to send again: please answer once more.";
    message.hidden = false;
  }
  ["htmx:sendError", "htmx:responseError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, failed);
  });

  document.addEventListener("keydown", function (event) {
    if (event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
    var choice = KEYS[event.key];
    var form = document.querySelector("form[data-trial][data-ready]");
    if (!choice || !form || form.hasAttribute("data-sent")) return;
    var button = form.querySelector('button[value="' + choice + '"]');
    if (!button) return;
    event.preventDefault();
    button.click();
  });
})();
