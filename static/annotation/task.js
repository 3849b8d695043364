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

  // Telemetry of the trial on screen (annotation/telemetry.py documents every field). The same
  // for every kind of trial; sent with the answer in one short field.
  var seen = null;
  function resetSeen() { seen = {b: 0, v: 0, i: "", m: 0, p: 0, x: null, y: null}; }
  resetSeen();
  var device = (function () {
    var s = [navigator.userAgent, (navigator.languages || []).join(","), screen.width + "x" + screen.height,
             screen.colorDepth, new Date().getTimezoneOffset(), navigator.hardwareConcurrency || 0,
             (Intl.DateTimeFormat().resolvedOptions() || {}).timeZone || ""].join("|");
    var h1 = 0x811c9dc5, h2 = 0x01000193;  // two FNV-1a variants: 64 bits of hash
    for (var k = 0; k < s.length; k++) {
      h1 = Math.imul(h1 ^ s.charCodeAt(k), 16777619) >>> 0;
      h2 = Math.imul(h2 ^ s.charCodeAt(k), 2246822519) >>> 0;
    }
    return ("0000000" + h1.toString(16)).slice(-8) + ("0000000" + h2.toString(16)).slice(-8);
  })();
  function telemetry() {
    return ["b=" + seen.b, "v=" + seen.v, "i=" + seen.i, "m=" + Math.min(seen.m, 32767),
            "p=" + Math.round(seen.p), "w=" + window.innerWidth, "h=" + window.innerHeight, "f=" + device].join(";");
  }
  window.addEventListener("blur", function () { if (shownAt) seen.b += 1; });
  document.addEventListener("visibilitychange", function () { if (shownAt && document.hidden) seen.v += 1; });
  document.addEventListener("pointermove", function (event) {
    if (!event.isTrusted || !shownAt) return;
    seen.m += 1;
    if (seen.x !== null) seen.p += Math.abs(event.clientX - seen.x) + Math.abs(event.clientY - seen.y);
    seen.x = event.clientX; seen.y = event.clientY;
  }, {passive: true});
  document.addEventListener("pointerdown", function (event) {
    if (event.isTrusted && shownAt) seen.i = event.pointerType === "touch" ? "t" : "p";
  }, true);

  function arm(root) {
    var form = root.querySelector("form[data-trial]");
    if (form && !form.hasAttribute("data-armed")) {
      form.setAttribute("data-armed", "");
      var images = Array.prototype.slice.call(form.querySelectorAll("img"));
      shownAt = 0;
      resetSeen();
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
    if (form.elements.tm && !form.elements.tm.value) form.elements.tm.value = telemetry();
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
    if (event.isTrusted) seen.i = "k";
    event.preventDefault();
    button.click();
  });
})();
