// The rule admin's pattern preview: validity, a test against a pasted event (with the explainer's trace),
// and a backtest on recent events, all before saving. Everything is rendered with textContent: events
// and patterns are untrusted text.
(function () {
  "use strict";

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function renderTrace(container, explanation) {
    container.replaceChildren();
    for (const branch of explanation.branches) {
      const table = element("table");
      const caption = element("caption", (branch.label || "pattern") + ": " + (branch.matched ? "matches" : "does not match"));
      table.append(caption);
      const head = element("tr");
      for (const title of ["field", "wants", "event has", ""]) head.append(element("th", title));
      table.append(head);
      for (const field of branch.fields) {
        const row = element("tr");
        row.append(element("td", field.path));
        row.append(element("td", field.operators.join(", ") + " " + JSON.stringify(field.expected)));
        row.append(element("td", field.present ? JSON.stringify(field.values) : "(absent)"));
        row.append(element("td", field.matched ? "✓" : "✗"));
        table.append(row);
      }
      if (branch.note) table.append(element("caption", branch.note));
      container.append(table);
    }
  }

  function setup() {
    const panel = document.getElementById("eh-pattern-preview");
    const pattern = document.getElementById("id_event_pattern");
    if (!panel || !pattern) return;
    const form = pattern.form;
    const bus = document.getElementById("id_bus");
    const eventBox = document.getElementById("eh-test-event");
    const status = document.getElementById("eh-pattern-status");
    const backtest = document.getElementById("eh-backtest");
    const trace = document.getElementById("eh-trace");
    let timer = null;
    let latest = 0; // answers can arrive out of order: only the newest request's is shown

    function clear() {
      status.textContent = "";
      status.className = "";
      backtest.textContent = "";
      trace.replaceChildren();
    }

    async function preview() {
      const request = ++latest;
      const body = new URLSearchParams({
        pattern: pattern.value,
        event: eventBox.value,
        bus: bus ? bus.value : "default",
        rule_id: panel.dataset.ruleId,
      });
      const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
      const response = await fetch(panel.dataset.previewUrl, {
        method: "POST",
        body: body,
        headers: { "X-CSRFToken": token },
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (request !== latest) return;
      trace.replaceChildren();
      if (!answer.valid) {
        status.textContent = answer.error || "The pattern is not valid.";
        status.className = "errornote";
        backtest.textContent = "";
        return;
      }
      status.className = "";
      status.textContent = "The pattern is valid.";
      if (answer.test && answer.test.error) {
        status.textContent = answer.test.error;
      } else if (answer.test) {
        status.textContent = answer.test.matched ? "Match: the event matches this pattern." : "No match.";
        renderTrace(trace, answer.test.explanation);
      }
      const result = answer.backtest;
      const old = result.old === null ? "" : " (the saved pattern matches " + result.old + ")";
      backtest.textContent = "Of the last " + result.sample + " stored events, this pattern matches " + result.new + old + ".";
    }

    // As the operator types: an empty pattern (a new rule, or everything deleted) shows nothing, not an error.
    function later() {
      clearTimeout(timer);
      if (!pattern.value.trim()) {
        latest++;
        clear();
        return;
      }
      timer = setTimeout(preview, 400);
    }

    pattern.addEventListener("input", later);
    eventBox.addEventListener("input", later);
    document.getElementById("eh-test-button").addEventListener("click", preview);
    if (pattern.value.trim()) preview(); // a saved rule's pattern is checked and backtested at once
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
