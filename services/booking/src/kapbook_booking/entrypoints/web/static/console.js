/* Staff console: the notification log of a booking, read from the reminders service with the
   console's own sign-in cookie (same origin, so no token is ever exposed to scripts). */
(function () {
  "use strict";

  var KINDS = {
    confirmation: "Confirmation", reminder: "Reminder", preparation: "Preparation", follow_up: "Follow-up",
    cancellation_notice: "Cancellation", reschedule_notice: "Change of time", crisis_alert: "Crisis alert"
  };

  function cell(tag, text, className) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function when(value, zone) {
    if (!value) return "—";
    return new Intl.DateTimeFormat("en-GB", { timeZone: zone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" })
      .format(new Date(value));
  }

  function label(kind) {
    return KINDS[kind] || kind.replace(/_/g, " ").replace(/^./, function (c) { return c.toUpperCase(); });
  }

  function render(container, rows, zone) {
    container.textContent = "";
    if (!rows.length) {
      container.appendChild(cell("p", "Nothing planned or sent yet. The confirmation appears here within seconds of a booking.", "empty"));
      return;
    }
    rows.sort(function (a, b) { return a.due_at < b.due_at ? -1 : 1; });
    var table = document.createElement("table");
    var head = table.createTHead().insertRow();
    ["Email", "To", "Due", "Sent", "Status", "Result"].forEach(function (name) {
      var th = cell("th", name);
      th.scope = "col";
      head.appendChild(th);
    });
    var body = table.createTBody();
    rows.forEach(function (row) {
      var tr = body.insertRow();
      tr.appendChild(cell("td", label(row.kind) + (row.sequence ? " (v" + (row.sequence + 1) + ")" : "")));
      tr.appendChild(cell("td", row.recipient));
      tr.appendChild(cell("td", when(row.due_at, zone), "nowrap"));
      tr.appendChild(cell("td", when(row.sent_at, zone), "nowrap"));
      var status = cell("td", "");
      status.appendChild(cell("span", row.status.replace(/_/g, " "), "badge notification-" + row.status));
      tr.appendChild(status);
      tr.appendChild(cell("td", row.result || (row.attempts ? row.attempts + " failed attempt(s)" : "—"), "small"));
    });
    var wrap = cell("div", "", "table-wrap");
    wrap.appendChild(table);
    container.appendChild(wrap);
    container.appendChild(cell("p", "Times in " + zone.replace(/_/g, " ") + ".", "muted small"));
  }

  function load(container) {
    var zone = container.getAttribute("data-timezone") || "UTC";
    fetch(container.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status === 401 ? "The reminders service does not know your sign-in yet; reload in a moment." : "The reminders service answered " + response.status + ".");
        return response.json();
      })
      .then(function (rows) { render(container, rows, zone); })
      .catch(function (error) {
        container.textContent = "";
        container.appendChild(cell("p", "The notification log cannot be shown: " + (error.message || "the reminders service is not answering"), "field-error"));
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-notification-log]"), load);
  });
})();
