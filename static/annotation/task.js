/* Trial screen: keyboard answers, client-side response time, no double sends, retry on network loss,
   waiting out a rate limit by itself, and a confirmation before leaving while a trial is open. */
(function () {
  "use strict";
  var KEYS = {ArrowLeft: "left", f: "left", F: "left", ArrowRight: "right", j: "right", J: "right",
              ArrowDown: "none", n: "none", N: "none",
              // best of K: options 1..4; single: Y / N ("no" where there is no "none" button)
              "1": "1", "2": "2", "3": "3", "4": "4", y: "yes", Y: "yes"};
  var FALLBACK = {none: "no"};
  var shownAt = 0;
  var lastChoice = null;  // the button of the answer on its way (to send it again after a wait)

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
    lastChoice = event.submitter || null;
    // A resend keeps the first response time: waiting for the server is not thinking time.
    if (shownAt && !form.elements.client_ms.value) form.elements.client_ms.value = Math.round(performance.now() - shownAt);
  }, true);

  function waitAndResend(form, message, seconds) {
    var button = lastChoice;
    var left = Math.max(1, seconds);
    function tick() {
      if (!document.body.contains(form)) return;
      if (left <= 0 || !button) {
        form.removeAttribute("data-sent");
        message.hidden = true;
        if (button) button.click();
        return;
      }
      message.textContent = "Too many answers too quickly, so this one has not been recorded yet. " +
        "Please wait: it is sent again by itself in " + left + " s.";
      message.hidden = false;
      left -= 1;
      setTimeout(tick, 1000);
    }
    tick();
  }

  function failed(event) {
    var form = event.target.closest && event.target.closest("form[data-trial]");
    if (!form) return;
    var message = form.querySelector("[data-error]");
    var xhr = event.detail && event.detail.xhr;
    if (event.type === "htmx:responseError" && xhr && xhr.status === 429) {
      waitAndResend(form, message, parseInt(xhr.getResponseHeader("Retry-After"), 10) || 10);
      return;
    }
    form.removeAttribute("data-sent");
    if (event.type === "htmx:responseError" && xhr && xhr.status < 500) {
      message.textContent = "The server did not accept this answer. Please reload the page to see where you are.";
    } else {
      message.textContent = "Could not reach the server. Your answer is safe to send again: please answer once more.";
    }
    message.hidden = false;
  }
  ["htmx:sendError", "htmx:responseError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, failed);
  });

  // Leaving (Back, closing the tab, another address) while a pair is on screen asks first.
  window.addEventListener("beforeunload", function (event) {
    if (!document.querySelector("form[data-trial]:not([data-preview])")) return;
    event.preventDefault();
    event.returnValue = "";
  });

  document.addEventListener("keydown", function (event) {
    if (event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
    var choice = KEYS[event.key];
    var form = document.querySelector("form[data-trial][data-ready]");
    if (!choice || !form || form.hasAttribute("data-sent")) return;
    var button = form.querySelector('button[value="' + choice + '"]');
    if (!button && FALLBACK[choice]) button = form.querySelector('button[value="' + FALLBACK[choice] + '"]');
    if (!button) return;
    event.preventDefault();
    button.click();
  });
})();
