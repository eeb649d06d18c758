// EventHub dashboard behaviour that htmx attributes cannot express. Loaded as a file: the CSP forbids inline scripts.
(function () {
  "use strict";

  // Copy the text of the element a [data-copy] button names (the pretty-printed payload).
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    const text = source.textContent;
    const done = function () {
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
      done();
    }
  });

  // Live sockets: show whether the page is connected.
  function setLive(element, connected) {
    const badge = element.querySelector("[data-live-status]");
    if (!badge) return;
    badge.classList.toggle("live-off", !connected);
    const text = badge.querySelector("[data-live-text]");
    if (text) text.textContent = connected ? badge.dataset.onText || "Live" : "Reconnecting…";
  }
  document.addEventListener("htmx:wsOpen", function (event) { setLive(event.detail.elt, true); });
  document.addEventListener("htmx:wsClose", function (event) { setLive(event.detail.elt, false); });

  // After each live update: keep the table bounded and acknowledge, so the server sends the next update
  // only when this browser has caught up (a slow client gets fewer, larger updates, never a backlog).
  document.addEventListener("htmx:wsAfterMessage", function (event) {
    const socketElement = event.detail.elt;
    const rows = socketElement.querySelector("[data-keep]");
    // While paused the operator may be reading older pages appended below: leave them be.
    if (rows && !socketElement.querySelector("[data-paused]")) {
      const keep = parseInt(rows.dataset.keep, 10);
      while (rows.children.length > keep) rows.lastElementChild.remove();
    }
    if (socketElement.hasAttribute("data-ack")) {
      event.detail.socketWrapper.send(JSON.stringify({ action: "ack" }));
    }
  });

  // Dead letters: "select all" and the live count on the "Redrive selected" button.
  function refreshSelection(area) {
    const count = area.querySelectorAll("input[name=selected]:checked").length;
    const all = area.querySelectorAll("input[name=selected]").length;
    area.querySelectorAll("[data-select-all]").forEach(function (box) { box.checked = all > 0 && count === all; });
    area.querySelectorAll("[data-selected-count]").forEach(function (element) { element.textContent = count; });
    area.querySelectorAll("[data-needs-selection]").forEach(function (element) { element.disabled = count === 0; });
  }
  document.addEventListener("change", function (event) {
    const box = event.target;
    const area = box.closest("[data-selection]");
    if (!area) return;
    if (box.matches("[data-select-all]")) {
      area.querySelectorAll("input[name=selected]").forEach(function (each) { each.checked = box.checked; });
    }
    if (box.matches("[data-select-all], input[name=selected]")) refreshSelection(area);
  });
  // Rows come and go with live updates and redrives: recount after every swap.
  ["htmx:afterSettle", "htmx:wsAfterMessage"].forEach(function (name) {
    document.addEventListener(name, function () {
      document.querySelectorAll("[data-selection]").forEach(refreshSelection);
    });
  });
})();
