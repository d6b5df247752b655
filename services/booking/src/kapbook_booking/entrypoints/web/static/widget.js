/*!
 * Kapbook booking widget. No build step, no dependencies; only the screening step is an iframe (see "screening frame").
 *
 *   <script src="https://booking.clinic.example/widget.js" data-kapbook-api="https://booking.clinic.example" defer></script>
 *   <div data-kapbook-widget></div>
 *
 * Options on the <div>: data-kapbook-types="free-consultation,iv-infusion" (offer only these, in
 * this order), data-kapbook-locale="en-US" (default: the page's lang). The widget renders into a
 * shadow root, so the host page's styles and ours never mix; --kapbook-accent sets its colour.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var API = ((script && script.getAttribute("data-kapbook-api")) ||
    (script && script.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/+$/, "");
  var WEEK_DAYS = 7;
  var SEARCH_WEEKS = 8;
  var PHONE = /^\+?[0-9 ()./-]{5,30}$/;
  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  // The stylesheet, static/widget.css: the server puts it in place of this string (widget_script.py).
  var CSS = "/*! widget.css, inlined when served */";

  // --- small helpers ------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined && child !== false) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function randomKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function ymdInZone(date, zone) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
  }

  function addDays(ymd, days) {
    var parts = ymd.split("-").map(Number);
    return new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] + days)).toISOString().slice(0, 10);
  }

  function noonUtc(ymd) {
    var parts = ymd.split("-").map(Number);
    return new Date(Date.UTC(parts[0], parts[1] - 1, parts[2], 12));
  }

  function detectedZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
  }

  function zoneList(extra) {
    var zones = [];
    try { zones = Intl.supportedValuesOf("timeZone"); } catch (e) {
      zones = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London", "UTC"];
    }
    if (zones.indexOf(extra) < 0) zones = zones.concat([extra]);
    return zones.slice().sort();
  }

  function minutesText(minutes) {
    if (minutes < 90) return minutes + " minutes";
    var hours = minutes / 60;
    return (Number.isInteger(hours) ? hours : hours.toFixed(1)) + " hours";
  }

  /** An error the API answered with its JSON error shape, or a network failure (status 0). */
  function ApiProblem(status, body) {
    this.status = status;
    this.code = (body && body.code) || (status ? "http_" + status : "network");
    this.message = (body && body.message) || "";
    this.errors = (body && body.errors) || {};
  }

  function request(method, path, body, headers) {
    var options = { method: method, credentials: "omit", headers: Object.assign({ Accept: "application/json" }, headers || {}) };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(API + path, options).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) throw new ApiProblem(response.status, data);
        return data;
      });
    }, function () { throw new ApiProblem(0, null); });
  }

  /** Only web links become hrefs: never javascript: or data: from a misconfigured answer. */
  function webLink(url) {
    return /^https?:\/\//i.test(url || "") ? url : null;
  }

  function query(params) {
    return Object.keys(params).filter(function (k) { return params[k]; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
  }

  // --- the widget ------------------------------------------------------------------------------------

  function Widget(host) {
    this.host = host;
    this.uid = "kb" + Math.random().toString(36).slice(2, 8);
    this.locale = host.getAttribute("data-kapbook-locale") || document.documentElement.lang || navigator.language || "en-GB";
    this.only = (host.getAttribute("data-kapbook-types") || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    this.state = { zone: detectedZone(), patient: { name: "", email: "", phone: "" }, driver: false, answers: {} };
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el("style", { text: CSS }));
    }
    this.alert = el("div", { class: "kb-alert", role: "alert", "aria-atomic": "true" });
    this.status = el("div", { class: "kb-status", role: "status", "aria-live": "polite" });
    this.body = el("div");
    this.frame = el("section", { class: "kb", "aria-label": "Book an appointment" }, [this.alert, this.body, this.status]);
    root.appendChild(this.frame);
  }

  Widget.prototype.id = function (name) { return this.uid + "-" + name; };

  Widget.prototype.say = function (text) {
    var status = this.status;
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 50);
  };

  Widget.prototype.showError = function (text, items, info) {
    this.alert.textContent = "";
    this.alert.className = "kb-alert" + (info ? " kb-info" : "");
    if (!text) return;
    this.alert.appendChild(el("p", { text: text }));
    if (items && items.length) {
      var shown = items.slice(0, 6).map(function (item) { return el("li", { text: item }); });
      if (items.length > 6) shown.push(el("li", { text: "and " + (items.length - 6) + " more, marked below" }));
      this.alert.appendChild(el("ul", {}, shown));
    }
  };

  Widget.prototype.fullDate = function (date) {
    return new Intl.DateTimeFormat(this.locale, { timeZone: this.state.zone, weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(date);
  };

  Widget.prototype.clock = function (date) {
    return new Intl.DateTimeFormat(this.locale, { timeZone: this.state.zone, hour: "numeric", minute: "2-digit" }).format(date);
  };

  Widget.prototype.slotName = function (slot) {
    var start = new Date(slot.start), end = new Date(slot.end);
    return this.fullDate(start) + ", " + this.clock(start) + " to " + this.clock(end) + ", " + slot.clinician_name;
  };

  Widget.prototype.dayFormat = function (ymd, options) {
    return new Intl.DateTimeFormat(this.locale, Object.assign({ timeZone: "UTC" }, options)).format(noonUtc(ymd));
  };

  /**
   * Replace the step's content, then move focus to its heading so screen readers announce the new
   * step (not on the first render: loading the page must not pull focus into the widget), or to
   * ``options.focus`` when the step's news is elsewhere (a confirmation with role=status).
   */
  Widget.prototype.render = function (heading, progress, children, options) {
    options = options || {};
    if (!options.keepAlert) this.showError("");
    var title = el("h3", { tabindex: "-1", id: this.id("heading"), text: heading });
    this.body.textContent = "";
    if (progress) this.body.appendChild(el("p", { class: "kb-progress", text: progress }));
    this.body.appendChild(title);
    children.forEach(function (child) { if (child) this.body.appendChild(child); }, this);
    if (options.initial) return;
    (options.focus || title).focus({ preventScroll: true });
    var box = this.frame.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight - 120) this.frame.scrollIntoView({ block: "start" });
  };

  Widget.prototype.progress = function (step) {
    var steps = this.state.type && this.state.type.requires_eligibility
      ? ["type", "screening", "time", "details", "confirm"] : ["type", "time", "details", "confirm"];
    if (this.state.protocol) steps.splice(steps.indexOf("time") + 1, 0, "plan");  // treatment series
    return "Step " + (steps.indexOf(step) + 1) + " of " + steps.length;
  };

  /** What to tell the patient about a failed request; ``nothingTyped`` leaves out that their input is kept. */
  Widget.prototype.failure = function (problem, what, nothingTyped) {
    var kept = nothingTyped ? "" : " What you entered is kept.";
    if (problem.status === 0) {
      return "We could not reach the clinic's booking service, so " + what + ". Please check your connection and try again." + kept;
    }
    if (problem.status >= 500) {
      return (problem.message || "The booking service had a problem.") + " Nothing was changed; please try again in a moment." + kept;
    }
    return problem.message || "Something went wrong; please try again.";
  };

  // --- step 1: appointment type ---------------------------------------------------------------------

  Widget.prototype.start = function () {
    var self = this;
    this.body.textContent = "";
    this.body.appendChild(el("p", { class: "kb-loading", text: "Loading appointment types…" }));
    request("GET", "/api/booking/v1/catalog").then(function (catalog) {
      var types = catalog.appointment_types;
      if (self.only.length) {
        types = self.only.map(function (code) { return types.find(function (t) { return t.code === code; }); }).filter(Boolean);
      }
      self.catalog = { types: types, locations: catalog.locations };
      self.loadProtocols().then(function () {  // treatment series: known before a type is picked
        if (!self.started && self.followDeepLink()) { self.started = true; return; }  // SMART deep link, below
        if (!self.resumeAfterSignIn()) self.chooseType(!self.started);  // returning patients: see that section
        self.started = true;
      });
    }, function (problem) {
      self.started = true;  // a retry that works moves focus to the types
      self.body.textContent = "";
      self.showError(self.failure(problem, "online booking is not available right now", true));
      self.body.appendChild(el("div", { class: "kb-actions" }, [
        el("button", { type: "button", class: "kb-primary", text: "Try again", onclick: function () { self.start(); } })
      ]));
    });
  };

  Widget.prototype.chooseType = function (initial) {
    var self = this;
    var list = el("ul", { class: "kb-types" }, this.catalog.types.map(function (type) {
      var facts = [minutesText(type.duration_minutes), type.modality === "telehealth" ? "video call" : "in person"];
      return el("li", {}, [el("button", { type: "button", class: "kb-type", onclick: function () { self.pickType(type); } }, [
        el("strong", {}, [type.name, type.requires_eligibility ? el("span", { class: "kb-tag", text: "screening first" }) : null]),
        el("span", { class: "kb-muted", text: facts.join(" · ") })
      ])]);
    }));
    var empty = this.catalog.types.length ? null : el("p", { text: "There is nothing to book online right now. Please call the clinic." });
    this.state.type = null;
    this.render("What would you like to book?", "Step 1", [
      el("p", { class: "kb-muted", text: "Not sure? Start with a free consultation." }), empty, list
    ], { initial: initial === true });
  };

  Widget.prototype.pickType = function (type) {
    this.state.type = type;
    this.state.screening = null;
    this.state.slot = null;
    this.state.hold = null;
    this.state.protocol = this.protocolFor(type);  // treatment series
    this.state.plan = null;
    this.state.single = false;
    if (type.requires_eligibility) this.screeningOrReuse();  // returning patients: see that section
    else this.chooseTime();
  };

  // --- step 2 (treatment types): the screening questionnaire ------------------------------------------

  Widget.prototype.screeningForm = function () {
    if (!this.inScreeningFrame) return this.screeningFrame();  // on Kapbook's origin: see "screening frame"
    var self = this;
    this.body.textContent = "";
    this.body.appendChild(el("p", { class: "kb-loading", text: "Loading the health questionnaire…" }));
    var loaded = this.questionnaire ? Promise.resolve(this.questionnaire) : request("GET", "/api/eligibility/v1/questionnaire");
    loaded.then(function (questionnaire) {
      self.questionnaire = questionnaire;
      self.renderQuestionnaire();
    }, function (problem) {
      self.body.textContent = "";
      self.showError(self.failure(problem, "the questionnaire could not be loaded", true));
      self.body.appendChild(el("div", { class: "kb-actions" }, [
        el("button", { type: "button", class: "kb-primary", text: "Try again", onclick: function () { self.screeningForm(); } }),
        el("button", { type: "button", text: "Back", onclick: function () { self.chooseType(); } })
      ]));
    });
  };

  Widget.prototype.renderQuestionnaire = function () {
    var self = this, q = this.questionnaire;
    this.items = {};
    var form = el("form", { novalidate: true, onsubmit: function (event) { event.preventDefault(); self.submitScreening(); } });
    form.appendChild(el("fieldset", { class: "kb-section" }, [
      el("legend", { text: "Your contact details" }),
      el("p", { class: "kb-hint", text: "Your booking must use the same email address as this screening." }),
      this.textField("name", "Full name", "text", this.state.patient.name, "name"),
      this.textField("email", "Email", "email", this.state.patient.email, "email")
    ]));
    q.sections.forEach(function (section) {
      var set = el("fieldset", { class: "kb-section" }, [el("legend", { text: section.title })]);
      if (section.text) set.appendChild(el("p", { class: "kb-hint", text: section.text }));
      section.items.forEach(function (item) { set.appendChild(self.questionBlock(item)); });
      form.appendChild(set);
    });
    form.appendChild(el("p", { class: "kb-muted kb-small", text: "Your answers go only to the clinic's clinicians. They are never sent by email." }));
    form.appendChild(el("div", { class: "kb-actions" }, [
      el("button", { type: "submit", class: "kb-primary", text: "Submit answers" }),
      el("button", { type: "button", text: "Back", onclick: function () { self.chooseType(); } })
    ]));
    form.addEventListener("change", function () { self.applySkipLogic(); });
    this.form = form;
    this.render("A few questions about your health", this.progress("screening"), [
      el("p", { text: this.state.type.name + " needs a short health screening first, so we can make sure it is safe for you. It takes about five minutes." }),
      form
    ]);
    this.applySkipLogic();
  };

  Widget.prototype.textField = function (name, label, type, value, autocomplete, hint) {
    var id = this.id(name), self = this;
    var input = el("input", { id: id, name: name, type: type, value: value || "", autocomplete: autocomplete,
      "aria-describedby": hint ? id + "-hint" : null, oninput: function () { self.state.patient[name] = input.value; } });
    return el("div", { class: "kb-field", "data-field": name }, [
      el("label", { for: id, text: label }), hint ? el("p", { class: "kb-hint", id: id + "-hint", text: hint }) : null, input
    ]);
  };

  Widget.prototype.questionBlock = function (item) {
    var self = this, id = this.id("q-" + item.link_id), block;
    var saved = this.state.answers[item.link_id];
    function choice(type, value, label, checked, index) {
      var optionId = id + "-" + index;
      return el("div", { class: "kb-choice" }, [
        el("input", { type: type, id: optionId, name: item.link_id, value: String(value), checked: checked, "data-index": String(index) }),
        el("label", { for: optionId, text: label })
      ]);
    }
    if (item.type === "boolean") {
      block = el("fieldset", { id: id }, [el("legend", { text: item.text }), el("div", { class: "kb-options" }, [
        choice("radio", "true", "Yes", saved === true, 0), choice("radio", "false", "No", saved === false, 1)])]);
    } else if (item.options && item.options.length && !item.repeats) {
      block = el("fieldset", { id: id }, [el("legend", { text: item.text })].concat(item.options.map(function (option, index) {
        return choice("radio", option.code, option.label, saved === option.code, index);
      })));
    } else if (item.repeats) {
      var boxes = item.options.map(function (option, index) {
        return choice("checkbox", option.code, option.label, Array.isArray(saved) && saved.indexOf(option.code) >= 0, index);
      });
      if (item.allow_empty) boxes.push(choice("checkbox", "__none__", "None of these", Array.isArray(saved) && !saved.length, "none"));
      block = el("fieldset", { id: id }, [el("legend", { text: item.text })].concat(boxes));
      block.addEventListener("change", function (event) {
        var none = event.target.value === "__none__";
        Array.prototype.forEach.call(block.querySelectorAll("input"), function (box) {
          if (event.target.checked && box !== event.target && (none || box.value === "__none__")) box.checked = false;
        });
      });
    } else {
      var isDate = item.type === "date";
      var unit = item.unit && item.unit.display ? " (" + item.unit.display + ")" : "";
      var input = el("input", isDate
        ? { id: id + "-input", name: item.link_id, type: "date", min: item.min_date, max: new Date().toISOString().slice(0, 10) }
        : { id: id + "-input", name: item.link_id, type: "number", inputmode: item.type === "integer" ? "numeric" : "decimal",
            step: item.type === "integer" ? "1" : "any", min: item.min, max: item.max });
      if (saved !== undefined) input.value = String(saved);
      block = el("div", { class: "kb-field", id: id }, [el("label", { for: id + "-input", text: item.text + unit + (item.required ? "" : " (optional)") }), input]);
    }
    block.setAttribute("data-link-id", item.link_id);
    this.items[item.link_id] = { item: item, node: block };
    return block;
  };

  /** The current answer of an item, or undefined when unanswered. */
  Widget.prototype.answerOf = function (item) {
    var node = this.items[item.link_id].node;
    if (item.type === "boolean") {
      var picked = node.querySelector("input:checked");
      return picked ? picked.value === "true" : undefined;
    }
    if (item.options && item.options.length && !item.repeats) {
      var chosen = node.querySelector("input:checked");
      return chosen ? item.options[Number(chosen.getAttribute("data-index"))].code : undefined;
    }
    if (item.repeats) {
      var boxes = Array.from(node.querySelectorAll("input:checked"));
      if (!boxes.length) return undefined;
      return boxes.filter(function (box) { return box.value !== "__none__"; })
        .map(function (box) { return item.options[Number(box.getAttribute("data-index"))].code; });
    }
    var raw = node.querySelector("input").value.trim();
    if (raw === "") return undefined;
    if (item.type === "date") return raw;
    var number = Number(raw);
    if (!isFinite(number)) return NaN;
    return number;
  };

  Widget.prototype.isEnabled = function (item, answers) {
    return (item.enable_when || []).every(function (condition) {
      var answer = answers[condition.question];
      return Array.isArray(answer) ? answer.indexOf(condition.answer) >= 0 : answer === condition.answer;
    });
  };

  /** Show the questions whose conditions hold (in order, so a hidden question hides its dependants). */
  Widget.prototype.applySkipLogic = function () {
    var answers = {}, self = this;
    this.questionnaire.sections.forEach(function (section) {
      section.items.forEach(function (item) {
        var enabled = self.isEnabled(item, answers);
        self.items[item.link_id].node.hidden = !enabled;
        if (enabled) {
          var answer = self.answerOf(item);
          if (answer !== undefined) answers[item.link_id] = answer;
        }
      });
    });
    return answers;
  };

  Widget.prototype.clearFieldErrors = function (container) {
    Array.prototype.forEach.call(container.querySelectorAll(".kb-field-error"), function (node) { node.remove(); });
    Array.prototype.forEach.call(container.querySelectorAll("[aria-invalid]"), function (node) {
      node.removeAttribute("aria-invalid");
      var described = (node.getAttribute("aria-describedby") || "").split(" ").filter(function (id) { return id.indexOf("-error") < 0; });
      if (described.length) node.setAttribute("aria-describedby", described.join(" ")); else node.removeAttribute("aria-describedby");
    });
  };

  /** Mark a field (a .kb-field or a fieldset) invalid with a message tied to it; returns what to focus. */
  Widget.prototype.markInvalid = function (block, message) {
    var errorId = (block.id || this.id(block.getAttribute("data-field"))) + "-error";
    block.appendChild(el("p", { class: "kb-field-error", id: errorId, text: message }));
    var target = block.tagName === "FIELDSET" ? block : block.querySelector("input,select");
    var input = block.tagName === "FIELDSET" ? block.querySelector("input") : target;
    input.setAttribute("aria-invalid", "true");
    var described = (target.getAttribute("aria-describedby") || "").split(" ").filter(Boolean).concat([errorId]);
    target.setAttribute("aria-describedby", described.join(" "));
    return input;
  };

  Widget.prototype.submitScreening = function () {
    var self = this, form = this.form, problems = [], focus = null;
    this.clearFieldErrors(form);
    var answers = this.applySkipLogic();
    this.state.answers = answers;
    var patient = this.state.patient;
    patient.name = form.querySelector("[name=name]").value.trim();
    patient.email = form.querySelector("[name=email]").value.trim();
    function problem(block, message, summary) {
      var target = self.markInvalid(block, message);
      focus = focus || target;
      problems.push(summary || message);
    }
    if (!patient.name) problem(form.querySelector("[data-field=name]"), "Enter your full name.");
    if (!EMAIL.test(patient.email)) problem(form.querySelector("[data-field=email]"), "Enter an email address like name@example.com.");
    this.questionnaire.sections.forEach(function (section) {
      section.items.forEach(function (item) {
        var entry = self.items[item.link_id];
        if (entry.node.hidden) return;
        var answer = answers[item.link_id];
        if (answer === undefined && item.required) problem(entry.node, "Please answer this question.", "Answer: " + item.text);
        else if (typeof answer === "number" && (isNaN(answer) || (item.min != null && answer < item.min) || (item.max != null && answer > item.max))) {
          problem(entry.node, "Enter a number between " + item.min + " and " + item.max + ".", item.text);
        }
      });
    });
    if (problems.length) {
      this.showError(problems.length === 1 ? "Please fix one thing:" : "Please fix " + problems.length + " things:", problems);
      focus.focus();
      return;
    }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    this.say("Sending your answers…");
    request("POST", "/api/eligibility/v1/screenings", { patient: { name: patient.name, email: patient.email }, answers: answers })
      .then(function (result) { self.screeningOutcome(result); }, function (failure) {
        button.disabled = false;
        if (failure.status === 422 && failure.errors) {
          var first = null, list = [];
          var errors = Object.assign({}, failure.errors.answers || {}, failure.errors.patient || {}, failure.errors);
          Object.keys(errors).forEach(function (key) {
            if (key === "answers" || key === "patient" || typeof errors[key] !== "object") return;
            var messages = [].concat(errors[key]).join(" ");
            var block = self.items[key] ? self.items[key].node : form.querySelector("[data-field=" + key + "]");
            if (block) first = first || self.markInvalid(block, messages);
            list.push((self.items[key] ? self.items[key].item.text : key) + ": " + messages);
          });
          self.showError("Some answers need another look:", list);
          if (first) first.focus();
          return;
        }
        self.showError(self.failure(failure, "your answers were not sent"));
        button.focus();
      });
  };

  Widget.prototype.screeningOutcome = function (result) {
    var self = this;
    this.state.screening = result;
    if (result.outcome === "crisis") return this.crisis(result.crisis_resources || []);
    if (result.outcome === "eligible") {
      this.chooseTime("Thank you. Your answers mean you can book " + this.state.type.name.toLowerCase() + ".");
      return;
    }
    var consult = this.catalog.types.find(function (t) { return !t.requires_eligibility; });
    var text = result.outcome === "needs_review"
      ? "Thank you. A clinician needs to look at your answers before you can book " + this.state.type.name.toLowerCase() +
        ". We will contact you at " + this.state.patient.email + ", usually within two working days."
      : "Thank you for your honesty. From your answers, " + this.state.type.name.toLowerCase() +
        " may not be safe for you. A free consultation is the best next step: a clinician can talk through other options with you.";
    this.render(result.outcome === "needs_review" ? "A clinician will review your answers" : "This treatment may not be right for you",
      null, [el("p", { text: text }), el("div", { class: "kb-actions" }, [
        consult ? el("button", { type: "button", class: "kb-primary", text: "Book a " + consult.name.toLowerCase(),
          onclick: function () { self.pickType(consult); } }) : null,
        el("button", { type: "button", text: "Back to appointment types", onclick: function () { self.chooseType(); } })
      ])]);
  };

  /** High suicide risk: crisis resources at once, and no booking form. */
  Widget.prototype.crisis = function (resources) {
    var list = el("ul", {}, resources.map(function (resource) {
      var ways = [];
      if (resource.phone) ways.push(el("a", { href: "tel:" + resource.phone.replace(/[^0-9+]/g, ""), text: "Call " + resource.phone }));
      if (resource.sms) ways.push(el("a", { href: "sms:" + resource.sms.replace(/[^0-9+]/g, ""), text: "Text " + resource.sms }));
      if (webLink(resource.url)) ways.push(el("a", { href: resource.url, target: "_blank", rel: "noopener", text: resource.url.replace(/^https?:\/\//, "") }));
      var links = [];
      ways.forEach(function (link, index) { if (index) links.push(" · "); links.push(link); });
      return el("li", {}, [el("strong", { text: resource.name }), el("p", { text: resource.instructions }), el("p", {}, links)]);
    }));
    this.render("Please reach out for support now", null, [
      el("div", { class: "kb-crisis" }, [
        el("p", { text: "Thank you for telling us how you are feeling. Some of your answers tell us you may be in danger, and you deserve support right now. You do not have to wait for an appointment." }),
        list,
        el("p", { text: "A member of our clinical team has been told and will contact you. Online booking of treatment is paused until a clinician has spoken with you." })
      ])
    ]);
  };

  // --- day and time ------------------------------------------------------------------------------------

  Widget.prototype.chooseTime = function (message, isProblem) {
    var self = this, state = this.state;
    state.today = ymdInZone(new Date(), state.zone);
    if (!state.windowStart || state.windowStart < state.today) state.windowStart = state.today;
    var zoneSelect = el("select", { id: this.id("zone"), onchange: function () {
      state.zone = zoneSelect.value;
      state.windowStart = null;
      state.day = null;
      self.loadSlots(true);
    } }, zoneList(state.zone).map(function (zone) { return el("option", { value: zone, selected: zone === state.zone, text: zone.replace(/_/g, " ") }); }));
    this.slotArea = el("div", { "aria-busy": "true" }, [el("p", { class: "kb-loading", text: "Finding free times…" })]);
    var type = state.type;
    this.render("Choose a day and time", this.progress("time"), [
      el("p", { class: "kb-muted", text: type.name + " · " + minutesText(type.duration_minutes) + " · " + (type.modality === "telehealth" ? "video call" : "in person") }),
      el("div", { class: "kb-field" }, [el("label", { for: this.id("zone"), text: "Times shown in this time zone" }), zoneSelect]),
      this.slotArea,
      el("div", { class: "kb-actions" }, [el("button", { type: "button", text: "Back", onclick: function () {
        if (type.requires_eligibility && !state.screening) self.screeningForm(); else self.chooseType();
      } })])
    ], { keepAlert: true });
    this.showError(message || "", null, !isProblem);
    this.loadSlots(!state.day, 0);
  };

  /** Fetch a week of slots from windowStart; when ``search`` and the week is empty, look further ahead. */
  Widget.prototype.loadSlots = function (search, tries) {
    var self = this, state = this.state;
    tries = tries || 0;
    if (!state.windowStart) state.windowStart = ymdInZone(new Date(), state.zone);
    var end = addDays(state.windowStart, WEEK_DAYS - 1);
    this.slotArea.setAttribute("aria-busy", "true");
    var path = "/api/booking/v1/availability?" + query({ appointment_type: state.type.code, start: state.windowStart, end: end, timezone: state.zone });
    return request("GET", path).then(function (answer) {
      var byDay = {};
      answer.slots.forEach(function (slot) { (byDay[slot.start.slice(0, 10)] = byDay[slot.start.slice(0, 10)] || []).push(slot); });
      if (search && !answer.slots.length && tries < SEARCH_WEEKS) {
        state.windowStart = addDays(state.windowStart, WEEK_DAYS);
        return self.loadSlots(true, tries + 1);
      }
      state.byDay = byDay;
      if (!state.day || !byDay[state.day]) state.day = Object.keys(byDay).sort()[0] || null;
      self.drawWeek();
    }, function (problem) {
      self.slotArea.setAttribute("aria-busy", "false");
      self.slotArea.textContent = "";
      self.showError(self.failure(problem, "the free times could not be loaded"));
      self.slotArea.appendChild(el("button", { type: "button", class: "kb-primary", text: "Try again", onclick: function () { self.loadSlots(search); } }));
    });
  };

  Widget.prototype.drawWeek = function () {
    var self = this, state = this.state, area = this.slotArea;
    area.textContent = "";
    area.setAttribute("aria-busy", "false");
    var first = state.windowStart, last = addDays(first, WEEK_DAYS - 1);
    var range = this.dayFormat(first, { day: "numeric", month: "short" }) + " – " + this.dayFormat(last, { day: "numeric", month: "short", year: "numeric" });
    area.appendChild(el("div", { class: "kb-week" }, [
      el("button", { type: "button", class: "kb-week-prev", text: "← Earlier", disabled: first <= state.today, "aria-label": "Earlier week",
        onclick: function () { state.windowStart = addDays(first, -WEEK_DAYS); if (state.windowStart < state.today) state.windowStart = state.today; state.day = null; self.loadSlots(false); } }),
      el("strong", { class: "kb-week-range", id: this.id("range"), text: range }),
      el("button", { type: "button", class: "kb-week-next", text: "Later →", "aria-label": "Later week",
        onclick: function () { state.windowStart = addDays(first, WEEK_DAYS); state.day = null; self.loadSlots(false); } })
    ]));
    var days = [];
    for (var i = 0; i < WEEK_DAYS; i++) days.push(addDays(first, i));
    area.appendChild(el("ul", { class: "kb-days", "aria-label": "Days" }, days.map(function (ymd) {
      var count = (state.byDay[ymd] || []).length;
      var label = self.dayFormat(ymd, { weekday: "long", day: "numeric", month: "long" }) + ", " + (count ? count + (count === 1 ? " free time" : " free times") : "no free times");
      return el("li", {}, [el("button", { type: "button", class: "kb-day", "aria-pressed": String(ymd === state.day), disabled: !count,
        "aria-label": label, onclick: function () { state.day = ymd; self.drawWeek(); self.focusFirstSlot(); } }, [
        el("span", { text: self.dayFormat(ymd, { weekday: "short" }) }),
        el("b", { text: self.dayFormat(ymd, { day: "numeric" }) }),
        el("small", { text: count ? count + " free" : "none" })
      ])]);
    })));
    if (!state.day) {
      area.appendChild(el("p", { text: "No free times this week. Try a later week, or call the clinic." }));
      this.appendWaitlistOffer("Or join the waitlist, and we email you when a time opens up.");  // waitlist, below
      this.say("No free times in the week of " + range + ".");
      return;
    }
    var slots = state.byDay[state.day];
    var headingId = this.id("day-heading");
    area.appendChild(el("h4", { id: headingId, text: this.dayFormat(state.day, { weekday: "long", day: "numeric", month: "long", year: "numeric" }) }));
    area.appendChild(el("ul", { class: "kb-slots", "aria-labelledby": headingId }, slots.map(function (slot) {
      var start = new Date(slot.start);
      return el("li", {}, [el("button", { type: "button", class: "kb-slot", "aria-label": self.slotName(slot),
        onclick: function (event) { self.pickSlot(slot, event.currentTarget); } }, [
        el("span", { text: self.clock(start) }), el("small", { text: slot.clinician_name })
      ])]);
    })));
    this.appendWaitlistOffer("No time that suits you?");  // waitlist, below
    this.say(slots.length + (slots.length === 1 ? " free time" : " free times") + " on " + this.dayFormat(state.day, { weekday: "long", day: "numeric", month: "long" }) + ".");
    this.pickDeepLinkedSlot(slots);  // SMART deep link, below
  };

  Widget.prototype.focusFirstSlot = function () {
    var first = this.slotArea.querySelector(".kb-slot");
    if (first) first.focus();
  };

  /** Hold the slot while the patient types; if it was taken meanwhile, show the fresh times. */
  Widget.prototype.pickSlot = function (slot, button) {
    var self = this, state = this.state;
    if (state.protocol && !state.single) return this.seriesPlan(slot, button);  // treatment series: the first session
    button.disabled = true;
    this.say("Reserving " + this.slotName(slot) + "…");
    this.releaseHold();
    request("POST", "/api/booking/v1/holds", { appointment_type: state.type.code, start: slot.start, clinician_id: slot.clinician_id })
      .then(function (hold) {
        state.slot = slot;
        state.hold = hold;
        state.idempotencyKey = null;
        self.details();
      }, function (problem) {
        button.disabled = false;
        if (problem.status === 409 || problem.code === "outside_booking_window") {
          self.slotTaken("Sorry, " + self.slotName(slot) + " was just taken by someone else. The times below are up to date; please choose another.");
        } else {
          self.showError(self.failure(problem, "that time could not be reserved"));
          button.focus();
        }
      });
  };

  Widget.prototype.slotTaken = function (message) {
    this.state.slot = null;
    this.state.hold = null;
    this.chooseTime(message, true);
  };

  Widget.prototype.releaseHold = function () {
    var hold = this.state.hold;
    this.state.hold = null;
    if (hold) request("DELETE", "/api/booking/v1/holds/" + encodeURIComponent(hold.id)).catch(function () { /* it expires anyway */ });
  };

  // --- details and confirmation ---------------------------------------------------------------------------

  Widget.prototype.whenText = function () {
    var slot = this.state.slot;
    return this.fullDate(new Date(slot.start)) + ", " + this.clock(new Date(slot.start)) + " to " + this.clock(new Date(slot.end));
  };

  Widget.prototype.details = function (fieldErrors, message) {
    var self = this, state = this.state, type = state.type, screened = !!state.screening;
    var form = el("form", { novalidate: true, onsubmit: function (event) { event.preventDefault(); self.checkDetails(form); } });
    var name = this.textField("name", "Full name", "text", state.patient.name, "name");
    var email = this.textField("email", "Email", "email", state.patient.email, "email",
      screened ? "The address you used for your screening." : "We send your confirmation here.");
    if (screened) { name.querySelector("input").readOnly = true; email.querySelector("input").readOnly = true; }
    var phone = this.textField("phone", "Phone (optional)", "tel", state.patient.phone, "tel", "Only if the clinic may call you about this appointment.");
    [name, email, phone].forEach(function (field) { form.appendChild(field); });
    if (type.requires_driver) {
      var id = this.id("driver");
      form.appendChild(el("div", { class: "kb-field", "data-field": "driver" }, [el("div", { class: "kb-choice" }, [
        el("input", { type: "checkbox", id: id, name: "driver", checked: state.driver, onchange: function (event) { state.driver = event.target.checked; } }),
        el("label", { for: id, text: "An adult will take me home after the appointment. I will not drive until the next day." })
      ])]));
    }
    if (state.hold) {
      var until = new Date(state.hold.expires_at);
      form.appendChild(el("p", { class: "kb-muted kb-small", text: "We are holding this time for you until " + this.clock(until) + "." }));
    }
    form.appendChild(el("div", { class: "kb-actions" }, [
      el("button", { type: "submit", class: "kb-primary", text: "Continue" }),
      el("button", { type: "button", text: "Choose another time", onclick: function () { self.releaseHold(); self.leavePlan(); self.chooseTime(); } })
    ]));
    this.render("Your details", this.progress("details"), [
      el("p", { class: "kb-muted", text: state.plan ? this.planLine() : type.name + " · " + this.whenText() + " · " + state.slot.clinician_name }), form
    ], { keepAlert: !!message });
    if (message) this.showError(message);
    if (fieldErrors) this.showFieldErrors(form, fieldErrors);
  };

  Widget.prototype.showFieldErrors = function (form, fieldErrors) {
    var self = this, first = null, list = [];
    Object.keys(fieldErrors).forEach(function (name) {
      var block = form.querySelector("[data-field=" + name + "]");
      if (!block) return;
      var input = self.markInvalid(block, fieldErrors[name]);
      first = first || input;
      list.push(fieldErrors[name]);
    });
    if (list.length) this.showError(list.length === 1 ? "Please fix one thing:" : "Please fix " + list.length + " things:", list);
    if (first) first.focus();
  };

  Widget.prototype.checkDetails = function (form) {
    var patient = this.state.patient, errors = {};
    this.clearFieldErrors(form);
    ["name", "email", "phone"].forEach(function (name) { patient[name] = form.querySelector("[name=" + name + "]").value.trim(); });
    if (!patient.name) errors.name = "Enter your full name.";
    if (!EMAIL.test(patient.email)) errors.email = "Enter an email address like name@example.com.";
    if (patient.phone && !PHONE.test(patient.phone)) errors.phone = "Enter a phone number using digits, spaces and + ( ) - only.";
    if (this.state.type.requires_driver && !this.state.driver) errors.driver = "Please confirm that an adult will take you home.";
    if (Object.keys(errors).length) return this.showFieldErrors(form, errors);
    if (this.state.plan) return this.seriesReview();  // treatment series
    this.review();
  };

  Widget.prototype.review = function (message) {
    var self = this, state = this.state;
    var rows = [["What", state.type.name], ["When", this.whenText()], ["Time zone", state.zone.replace(/_/g, " ")],
      ["With", state.slot.clinician_name], ["Where", this.placeText()], ["Name", state.patient.name], ["Email", state.patient.email]];
    if (state.patient.phone) rows.push(["Phone", state.patient.phone]);
    if (state.type.requires_driver) rows.push(["Driver", "Confirmed: an adult takes you home"]);
    var confirm = el("button", { type: "button", class: "kb-primary", text: "Confirm booking", onclick: function () { self.book(confirm); } });
    this.render("Check and confirm", this.progress("confirm"), [
      el("dl", { class: "kb-summary" }, rows.reduce(function (all, row) { return all.concat([el("dt", { text: row[0] }), el("dd", { text: row[1] })]); }, [])),
      el("p", { class: "kb-muted kb-small", text: "You can cancel or move it online up to " + state.type.cancel_notice_hours + " hours before it starts." }),
      el("div", { class: "kb-actions" }, [confirm, el("button", { type: "button", text: "Change details", onclick: function () { self.details(); } })])
    ], { keepAlert: !!message });
    if (message) this.showError(message);
  };

  Widget.prototype.book = function (button) {
    var self = this, state = this.state, patient = state.patient;
    button.disabled = true;
    this.showError("");
    this.say("Booking…");
    var body = {
      appointment_type: state.type.code, start: state.slot.start, clinician_id: state.slot.clinician_id,
      patient: { name: patient.name, email: patient.email, phone: patient.phone || null, timezone: state.zone },
      driver_confirmed: !!(state.type.requires_driver && state.driver), hold_id: state.hold ? state.hold.id : null,
      screening_id: state.screening ? state.screening.id : null
    };
    this.addPatientProof(body);  // returning patients: see that section
    // A retry of the same request reuses its key, so a booking whose answer was lost is not made twice.
    var text = JSON.stringify(body);
    if (!state.idempotencyKey || state.idempotencyBody !== text) {
      state.idempotencyKey = randomKey();
      state.idempotencyBody = text;
    }
    request("POST", "/api/booking/v1/bookings", body, { "Idempotency-Key": state.idempotencyKey }).then(function (booking) {
      self.done(booking);
    }, function (problem) {
      button.disabled = false;
      if (problem.status === 409) {
        state.hold = null;
        return self.slotTaken("Sorry, that time is no longer available: someone else booked it, or it was held for you for too long. " +
          "The times below are up to date. Your details are kept.");
      }
      if (problem.code === "validation_error") {
        var patientErrors = (problem.errors && problem.errors.patient) || {}, fields = {};
        Object.keys(patientErrors).forEach(function (key) { fields[key] = [].concat(patientErrors[key]).join(" "); });
        return self.details(fields, Object.keys(fields).length ? null : problem.message);
      }
      if (problem.code === "driver_confirmation_required") return self.details({ driver: problem.message });
      if (problem.code === "outside_booking_window") return self.slotTaken(problem.message + " Please choose another time.");
      self.showError(self.failure(problem, "your appointment is not booked yet"));
      button.focus();
    });
  };

  Widget.prototype.placeText = function () {
    var slot = this.state.slot;
    if (this.state.type.modality === "telehealth") return "Video call (the joining link is shown once you book, and emailed to you)";
    var place = (this.catalog.locations || []).find(function (location) { return location.id === slot.location_id; });
    return place ? place.name + (place.address ? ", " + place.address : "") : "At the clinic";
  };

  /**
   * A telehealth booking's way in: a Join link (new tab, no opener, no referrer: the manage link in
   * this page's address must not reach the video service) and where else the patient finds it.
   * Null when there is no http(s) join URL, e.g. an in-person booking; then the email brings it.
   */
  Widget.prototype.joinBlock = function (booking) {
    var url = this.state.type.modality === "telehealth" ? webLink(booking.join_url) : null;
    if (!url) return null;
    var hint = this.id("join-hint");
    return el("div", { class: "kb-join" }, [
      el("a", { class: "kb-join-link", href: url, target: "_blank", rel: "noopener noreferrer", "aria-describedby": hint }, [
        "Join the video call", el("span", { class: "kb-visually-hidden", text: " (opens in a new tab)" })
      ]),
      el("p", { class: "kb-muted kb-small", id: hint, text: "The link is also in your confirmation email and on your appointment page. Keep it private." })
    ]);
  };

  Widget.prototype.done = function (booking) {
    var self = this, state = this.state;
    state.hold = null;
    state.idempotencyKey = null;
    var join = this.joinBlock(booking);
    this.render("You are booked", null, [
      el("div", { class: "kb-done" }, [
        el("p", { text: state.type.name + " with " + booking.clinician_name + " on " + this.whenText() + " (" + state.zone.replace(/_/g, " ") + " time)." }),
        el("p", { text: (join ? "Video call" : this.placeText()) + "." }),
        join,
        el("p", { text: "We have emailed a confirmation with a calendar invite to " + booking.patient.email + "." })
      ]),
      el("p", {}, [el("a", { href: webLink(booking.manage_url), text: "Manage or cancel this booking" })]),
      el("p", { class: "kb-muted kb-small", text: "The same link is in your email. Keep it private: anyone with it can change your booking." }),
      el("div", { class: "kb-actions" }, [el("button", { type: "button", text: "Book another appointment", onclick: function () {
        state.slot = null; state.day = null; state.windowStart = null; self.chooseType();
      } })])
    ]);
    this.say("Booked. " + state.type.name + " on " + this.whenText() + "." + (join ? " The link to join the video call is on this page." : ""));
  };

  // --- treatment series (issue 12 §3): one plan of sessions, confirmed once -----------------------------
  // A dosing type with a protocol (GET /protocols) books the whole course: the patient picks the
  // first session, sees every proposed session (GET /series/proposals), gives their details once and
  // confirms once (POST /series, all or nothing). The hooks into the single-booking steps are the
  // lines that mention state.protocol / state.plan in pickType, pickSlot, progress, details and
  // checkDetails; everything else lives here.

  /** Load the clinic's protocols once; a failure only means no series is offered. */
  Widget.prototype.loadProtocols = function () {
    var self = this;
    if (!this.protocolsLoaded) {
      this.protocolsLoaded = request("GET", "/api/booking/v1/protocols").then(function (protocols) {
        self.protocols = protocols || [];
      }, function () { self.protocols = []; });
    }
    return this.protocolsLoaded;
  };

  /** The protocol to offer for ``type`` (the first one naming it), or null. */
  Widget.prototype.protocolFor = function (type) {
    return (this.protocols || []).find(function (protocol) { return protocol.appointment_type === type.code; }) || null;
  };

  /** The protocol's rules in words, e.g. "6 sessions, at least 24 hours apart, within 21 days, up to 3 a week". */
  Widget.prototype.protocolRules = function (protocol) {
    var rules = [protocol.sessions + " sessions"];
    if (protocol.min_gap_hours) rules.push("at least " + minutesText(protocol.min_gap_hours * 60) + " apart");
    if (protocol.max_window_days) rules.push("within " + protocol.max_window_days + " days");
    if (protocol.max_per_week) rules.push("up to " + protocol.max_per_week + " a week");
    return rules.join(", ");
  };

  Widget.prototype.sessionWhen = function (session) {
    var start = new Date(session.start), end = new Date(session.end);
    return this.fullDate(start) + ", " + this.clock(start) + " to " + this.clock(end);
  };

  /** The first session was picked: ask for the whole plan from that time. */
  Widget.prototype.seriesPlan = function (slot, button) {
    var self = this, state = this.state, protocol = state.protocol;
    if (button) button.disabled = true;
    this.say("Planning all " + protocol.sessions + " sessions from " + this.slotName(slot) + "…");
    var path = "/api/booking/v1/series/proposals?" + query({ protocol: protocol.code, start: slot.start, timezone: state.zone, clinician_id: slot.clinician_id });
    request("GET", path).then(function (plan) {
      state.slot = slot;
      state.plan = plan;
      state.planProblems = null;
      state.idempotencyKey = null;
      self.showPlan();
    }, function (problem) {
      if (button) button.disabled = false;
      if (problem.code === "series_unavailable" || problem.status === 409 || problem.status === 422) {
        return self.chooseTime(self.planRefusal(protocol, problem), true);
      }
      self.showError(self.failure(problem, "the sessions could not be planned"));
      if (button) button.focus();
    });
  };

  /** A refusal with a reason per session as one message: which sessions, and why. */
  Widget.prototype.planRefusal = function (protocol, problem) {
    var perSession = (problem.errors && problem.errors.sessions) || {};
    var reasons = Object.keys(perSession).sort(function (a, b) { return a - b; }).map(function (position) {
      return "session " + position + ": " + [].concat(perSession[position]).join(" ");
    });
    var head = "We could not find all " + protocol.sessions + " sessions of " + protocol.name + " from that time";
    if (!reasons.length) return (problem.message || head + ".") + " Please choose another first session.";
    return head + " (" + reasons.join("; ") + "). Nothing is booked. Please choose another first session.";
  };

  Widget.prototype.changeText = function (changes) {
    var names = { clinician: "different clinician", room: "different chair" };
    return (changes || []).map(function (change) { return names[change] || change; }).join(", ");
  };

  /** The plan as a list: each session's time in the patient's zone, clinician, what changes, and a
   * per-session problem when the booking was refused. */
  Widget.prototype.planList = function () {
    var self = this, problems = this.state.planProblems || {}, size = this.state.plan.sessions.length;
    return el("ol", { class: "kb-plan", "aria-label": "Proposed sessions" }, this.state.plan.sessions.map(function (session) {
      var change = self.changeText(session.changes), problem = problems[String(session.position)];
      return el("li", { class: "kb-plan-item" + (change ? " kb-changed" : "") + (problem ? " kb-refused" : ""), "data-position": String(session.position),
        "data-start": session.start, "data-clinician": session.clinician_id }, [
        el("span", { class: "kb-plan-pos", text: "Session " + session.position + " of " + size }),
        el("strong", { text: self.sessionWhen(session) }),
        el("span", { class: "kb-muted", text: session.clinician_name }),
        change ? el("span", { class: "kb-tag kb-change", text: "Note: " + change }) : null,
        session.integration_by ? el("span", { class: "kb-muted kb-small", text: "Integration session offered by " +
          self.fullDate(new Date(session.integration_by)) }) : null,
        problem ? el("span", { class: "kb-field-error", text: (self.state.planTaken ? "Not available: " : "Cannot be booked: ") + problem }) : null
      ]);
    }));
  };

  Widget.prototype.showPlan = function (message) {
    var self = this, state = this.state, protocol = state.protocol, plan = state.plan;
    var changed = plan.changes || 0;
    this.render("Your " + protocol.sessions + " sessions", this.progress("plan"), [
      el("p", { text: protocol.name + ": " + this.protocolRules(protocol) + ". Times are in " + state.zone.replace(/_/g, " ") + " time." }),
      el("p", { class: "kb-muted", text: changed
        ? changed + (changed === 1 ? " session is" : " sessions are") + " with another clinician or chair, marked below."
        : "Every session is with the same clinician in the same chair." }),
      protocol.requires_preparation ? el("p", { class: "kb-alert kb-info", text: "Before the first session you need a preparation session booked. " +
        "If you have not booked one yet, please book it first." }) : null,
      this.planList(),
      el("div", { class: "kb-actions" }, [
        el("button", { type: "button", class: "kb-primary", text: "Continue with these sessions", onclick: function () { self.details(); } }),
        el("button", { type: "button", text: "Choose another first session", onclick: function () { self.leavePlan(); self.chooseTime(); } }),
        el("button", { type: "button", class: "kb-link", text: "Book just this one session", onclick: function (event) { self.singleSession(event.currentTarget); } })
      ])
    ], { keepAlert: !!message });
    if (message) this.showError(message);
    this.say(plan.sessions.length + " sessions planned.");
  };

  /** A patient whose course is already under way books only the time picked, as a single booking. */
  Widget.prototype.singleSession = function (button) {
    var slot = this.state.slot;
    this.leavePlan();
    this.state.single = true;
    this.pickSlot(slot, button);
  };

  Widget.prototype.leavePlan = function () {
    this.state.single = false;
    this.state.plan = null;
    this.state.planProblems = null;
    this.state.slot = null;
  };

  /** The line under the details heading for a series. */
  Widget.prototype.planLine = function () {
    var sessions = this.state.plan.sessions;
    return this.state.protocol.name + " · " + sessions.length + " sessions · first " + this.sessionWhen(sessions[0]) +
      " · last " + this.sessionWhen(sessions[sessions.length - 1]);
  };

  Widget.prototype.seriesReview = function (message) {
    var self = this, state = this.state;
    var rows = [["What", state.protocol.name + " (" + state.type.name + ")"], ["Sessions", String(state.plan.sessions.length)],
      ["Time zone", state.zone.replace(/_/g, " ")], ["Where", this.placeText()], ["Name", state.patient.name], ["Email", state.patient.email]];
    if (state.patient.phone) rows.push(["Phone", state.patient.phone]);
    if (state.type.requires_driver) rows.push(["Driver", "Confirmed: an adult takes you home after each session"]);
    var confirm = el("button", { type: "button", class: "kb-primary", text: "Confirm all " + state.plan.sessions.length + " sessions",
      onclick: function () { self.bookSeries(confirm); } });
    this.render("Check and confirm", this.progress("confirm"), [
      el("dl", { class: "kb-summary" }, rows.reduce(function (all, row) { return all.concat([el("dt", { text: row[0] }), el("dd", { text: row[1] })]); }, [])),
      this.planList(),
      el("p", { class: "kb-muted kb-small", text: "All sessions are booked together, or none is. You can cancel or move each one online up to " +
        state.type.cancel_notice_hours + " hours before it starts." }),
      el("div", { class: "kb-actions" }, [confirm, el("button", { type: "button", text: "Change details", onclick: function () { self.details(); } })])
    ], { keepAlert: !!message });
    if (message) this.showError(message);
  };

  Widget.prototype.bookSeries = function (button) {
    var self = this, state = this.state, patient = state.patient, protocol = state.protocol;
    button.disabled = true;
    this.showError("");
    this.say("Booking all sessions…");
    var body = {
      protocol: protocol.code, timezone: state.zone,
      sessions: state.plan.sessions.map(function (session) { return { start: session.start, clinician_id: session.clinician_id }; }),
      patient: { name: patient.name, email: patient.email, phone: patient.phone || null, timezone: state.zone },
      screening_id: state.screening ? state.screening.id : null,
      driver_confirmed: !!(state.type.requires_driver && state.driver)
    };
    this.addPatientProof(body);  // returning patients: see that section
    // As for one booking: a retry of the same request reuses its key, so a lost answer books nothing twice.
    var text = JSON.stringify(body);
    if (!state.idempotencyKey || state.idempotencyBody !== text) {
      state.idempotencyKey = randomKey();
      state.idempotencyBody = text;
    }
    request("POST", "/api/booking/v1/series", body, { "Idempotency-Key": state.idempotencyKey }).then(function (series) {
      self.seriesDone(series);
    }, function (problem) {
      button.disabled = false;
      var perSession = (problem.errors && problem.errors.sessions) || {};
      if (problem.status === 409 || (problem.status === 422 && Object.keys(perSession).length)) {
        state.planProblems = {};
        state.planTaken = problem.status === 409;
        Object.keys(perSession).forEach(function (position) { state.planProblems[position] = [].concat(perSession[position]).join(" "); });
        return self.seriesRefused(problem);
      }
      if (problem.code === "validation_error") {
        var patientErrors = (problem.errors && problem.errors.patient) || {}, fields = {};
        Object.keys(patientErrors).forEach(function (key) { fields[key] = [].concat(patientErrors[key]).join(" "); });
        return self.details(fields, Object.keys(fields).length ? null : problem.message);
      }
      if (problem.code === "driver_confirmation_required") return self.details({ driver: problem.message });
      self.showError(self.failure(problem, "your sessions are not booked yet"));
      button.focus();
    });
  };

  /** The preparation type to offer when a protocol needs one first, or null. */
  Widget.prototype.preparationType = function () {
    if (!this.state.protocol || !this.state.protocol.requires_preparation) return null;
    return (this.catalog.types || []).find(function (type) { return type.category === "preparation"; }) || null;
  };

  /** Book the preparation session the protocol asks for, with the screening just answered (it covers it). */
  Widget.prototype.preparationFirst = function (preparation) {
    var state = this.state;
    this.leavePlan();
    state.type = preparation;
    state.protocol = this.protocolFor(preparation);
    state.hold = null;
    state.day = null;
    state.windowStart = null;
    this.chooseTime("Your screening still counts. Choose a time for your " + preparation.name.toLowerCase() +
      "; then book your sessions after it.");
  };

  /** Refused whole (409: taken; 422: a protocol rule, quoted): say which sessions and why, keep the
   * plan on screen, offer a new first session (and the preparation session when one is needed). */
  Widget.prototype.seriesRefused = function (problem) {
    var self = this, state = this.state, problems = state.planProblems, taken = problem.status === 409;
    var preparation = taken ? null : this.preparationType();
    var positions = Object.keys(problems).sort(function (a, b) { return a - b; });
    var items = positions.map(function (position) {
      var session = state.plan.sessions.find(function (s) { return String(s.position) === position; });
      // The service's reasons usually name the session already ("Session 4 (Mon 21 Dec 10:00) is ...").
      if (/^session /i.test(problems[position])) return problems[position];
      return "Session " + position + (session ? " (" + self.sessionWhen(session) + ")" : "") + ": " + problems[position];
    });
    this.render(taken ? "Not all sessions could be booked" : "These sessions cannot be booked", this.progress("confirm"), [
      el("p", { text: "Nothing is booked: the sessions are booked together or not at all. Please choose another first session; your details are kept." }),
      this.planList(),
      el("div", { class: "kb-actions" }, [
        el("button", { type: "button", class: "kb-primary", text: "Choose another first session", onclick: function () { self.leavePlan(); self.chooseTime(); } }),
        preparation ? el("button", { type: "button", text: "Book a " + preparation.name.toLowerCase() + " first", onclick: function () { self.preparationFirst(preparation); } }) : null
      ])
    ]);
    this.showError((problem.message || "Some sessions are no longer available.") + (items.length ? (taken ? " Not available:" : "") : ""), items);
  };

  Widget.prototype.seriesDone = function (series) {
    var self = this, state = this.state, sessions = series.sessions || [];
    var integration = series.protocol.integration_within_days &&
      (this.catalog.types || []).find(function (type) { return type.category === "integration"; });
    state.idempotencyKey = null;
    var first = sessions[0];
    this.render("You are booked", null, [
      el("div", { class: "kb-done" }, [
        el("p", { text: "All " + sessions.length + " sessions of " + series.protocol.name + " are booked (" + state.zone.replace(/_/g, " ") + " time)." }),
        el("ol", { class: "kb-plan", "aria-label": "Your sessions" }, sessions.map(function (booking, index) {
          return el("li", { class: "kb-plan-item" }, [
            el("span", { class: "kb-plan-pos", text: "Session " + (index + 1) + " of " + sessions.length }),
            el("strong", { text: self.sessionWhen(booking) }),
            el("span", { class: "kb-muted", text: booking.clinician_name }),
            webLink(booking.manage_url) ? el("a", { href: webLink(booking.manage_url), text: "Manage session " + (index + 1) }) : null
          ]);
        })),
        el("p", { text: this.placeText() + "." }),
        first ? el("p", { text: "We have emailed one confirmation listing every session, with a calendar invite for each, to " + first.patient.email + "." }) : null
      ]),
      el("p", { class: "kb-muted kb-small", text: "Each session's link is also in your email. Keep them private: anyone with a link can change that booking." }),
      integration ? el("p", { text: "Your clinic offers an integration session within " + series.protocol.integration_within_days +
        " days after each dose: it helps you make sense of what came up." }) : null,
      el("div", { class: "kb-actions" }, [
        integration ? el("button", { type: "button", class: "kb-primary", text: "Book an integration session", onclick: function () {
          self.leavePlan(); state.day = null; state.windowStart = null; self.pickType(integration);
        } }) : null,
        el("button", { type: "button", text: "Book another appointment", onclick: function () {
          self.leavePlan(); state.day = null; state.windowStart = null; self.chooseType();
        } })
      ])
    ]);
    this.say("Booked. All " + sessions.length + " sessions of " + series.protocol.name + ".");
  };

  // --- end of treatment series ------------------------------------------------------------------------------

  // --- returning patients (issue 12 §2): reuse a valid screening ---------------------------------------
  //
  // The widget calls the API without cookies (it is embedded on clinics' own websites), so a returning
  // patient proves their email with a one-time link: it brings them back to this page with a short-lived
  // one-time hand-off code in the URL fragment (never sent to a server), exchanged at once for a proof
  // kept in this tab's sessionStorage (30 minutes). On Kapbook's own site a /my session cookie gives a
  // proof directly. The proof, not the typed email, is what the booking service trusts; it finds the
  // patient's valid decision itself.

  var PROOF_KEY = "kapbook-patient-proof", PENDING_TYPE_KEY = "kapbook-pending-type";
  var pendingHandoff = null;

  function storage() {
    try { return window.sessionStorage; } catch (error) { return null; }
  }

  /** Take the hand-off code from the URL fragment (#kapbook-handoff=...) and remove it from the address. */
  function takeHandoffFromAddress() {
    var match = /[#&]kapbook-handoff=([A-Za-z0-9_-]{20,100})/.exec(location.hash || "");
    if (!match) return;
    pendingHandoff = match[1];
    if (history.replaceState) history.replaceState(null, "", location.pathname + location.search);
  }

  /** The hand-off code (usable once) for a proof, kept in sessionStorage; null when it was refused. */
  function proofFromHandoff() {
    var code = pendingHandoff;
    pendingHandoff = null;
    return request("POST", "/api/booking/v1/patient/proof", { handoff: code }).then(function (answer) {
      var store = storage();
      if (store) store.setItem(PROOF_KEY, answer.proof);
      return answer.proof;
    }, function () { return null; });
  }

  function storedProof() {
    var store = storage();
    return store ? store.getItem(PROOF_KEY) : null;
  }

  function forgetProof() {
    var store = storage();
    if (store) store.removeItem(PROOF_KEY);
  }

  /** Only for the widget on Kapbook's own site: a proof from the /my session cookie, else null. */
  function proofFromSession() {
    if (new URL(API).origin !== location.origin) return Promise.resolve(null);
    return fetch(API + "/api/booking/v1/patient/proof", { method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" }, body: "{}" })
      .then(function (response) { return response.ok ? response.json().then(function (body) { return body.proof; }) : null; },
        function () { return null; });
  }

  Widget.prototype.patientProof = function () {
    if (this.state.patientProof) return Promise.resolve(this.state.patientProof);
    if (pendingHandoff) return proofFromHandoff();
    var stored = storedProof();
    return stored ? Promise.resolve(stored) : proofFromSession();
  };

  /** A treatment type was picked: skip the questionnaire while the proven patient's screening is valid. */
  Widget.prototype.screeningOrReuse = function () {
    var self = this, type = this.state.type;
    this.patientProof().then(function (proof) {
      if (!proof) return self.offerSignInLink();
      return request("POST", "/api/booking/v1/patient/status", { proof: proof }).then(function (status) {
        if (self.state.type !== type) return;
        self.reuseOrAskAgain(proof, status);
      }, function () {
        forgetProof();
        self.state.patientProof = null;
        self.offerSignInLink();
      });
    });
  };

  Widget.prototype.reuseOrAskAgain = function (proof, status) {
    var state = this.state, patient = status.patient, screening = status.screening;
    state.patientProof = proof;
    state.patient.name = patient.name || state.patient.name;
    state.patient.email = patient.email;
    state.patient.phone = patient.phone || state.patient.phone;
    if (screening.state === "valid") {
      state.screening = { id: null, reused: true };  // the booking service finds the decision from the proof
      this.chooseTime("Welcome back. Your screening is valid until " + this.fullDate(new Date(screening.valid_until)) +
        ", so there are no questions to answer again.");
      return;
    }
    var notice = screening.state === "expired"
      ? "Your screening from " + this.fullDate(new Date(screening.decided_at)) + " has expired; please answer it again."
      : null;
    this.questionnaireWithNotice(notice);
  };

  /** The questionnaire, then ``after()`` adds to it (a notice, the sign-in link offer). */
  Widget.prototype.questionnaireThen = function (after) {
    if (!this.inScreeningFrame) { this.screeningFrame(); after(); return; }  // see "screening frame"
    var self = this, type = this.state.type;
    var loaded = this.questionnaire ? Promise.resolve(this.questionnaire) : request("GET", "/api/eligibility/v1/questionnaire");
    loaded.then(function (questionnaire) {
      if (self.state.type !== type) return;
      self.questionnaire = questionnaire;
      self.renderQuestionnaire();
      after();
    }, function () { self.screeningForm(); });  // its own loading, error and retry
  };

  Widget.prototype.questionnaireWithNotice = function (notice) {
    var self = this;
    if (!notice) return this.screeningForm();
    this.questionnaireThen(function () { self.showError(notice, null, true); });
  };

  /** No proof yet: the questionnaire, with an offer above it to get a link that skips it. */
  Widget.prototype.offerSignInLink = function () {
    var self = this;
    this.questionnaireThen(function () {
      if (self.form && self.form.parentNode) self.form.parentNode.insertBefore(self.signInLinkBox(), self.form);
    });
  };

  Widget.prototype.signInLinkBox = function () {
    var self = this, id = this.id("link-email"), headingId = this.id("returning");
    var input = el("input", { id: id, name: "link-email", type: "email", autocomplete: "email", value: this.state.patient.email || "",
      "aria-describedby": id + "-hint" });
    var box = el("section", { class: "kb-section kb-returning", "aria-labelledby": headingId });
    var form = el("form", { novalidate: true, onsubmit: function (event) { event.preventDefault(); self.askForSignInLink(box, input); } }, [
      el("div", { class: "kb-field" }, [
        el("label", { for: id, text: "Address you booked with" }),
        el("p", { class: "kb-hint", id: id + "-hint", text: "If your screening was approved in the last 90 days, we email you a link that brings you back here without the questions." }),
        input
      ]),
      el("div", { class: "kb-actions" }, [el("button", { type: "submit", text: "Email me a link" })])
    ]);
    box.appendChild(el("h4", { id: headingId, text: "Booked with us before? Get a link to skip the questionnaire" }));
    box.appendChild(form);
    return box;
  };

  Widget.prototype.askForSignInLink = function (box, input) {
    var self = this, address = input.value.trim();
    if (!EMAIL.test(address)) {
      input.setAttribute("aria-invalid", "true");
      this.showError("Enter an email address like name@example.com.");
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    var store = storage();
    if (store) store.setItem(PENDING_TYPE_KEY, this.state.type.code);
    var back = location.href.split("#")[0];
    request("POST", "/api/booking/v1/patient/sign-in-links", { email: address, return_to: back }).then(function (answer) {
      var note = el("p", { class: "kb-sent", tabindex: "-1", text: answer.message + " Open it on this device: it brings you back to this page and works once, for 30 minutes." });
      box.replaceChild(note, box.lastChild);
      note.focus();
      self.showError("");
      self.say(answer.message);
    }, function (problem) { self.showError(self.failure(problem, "no link could be sent", false)); });
  };

  /** Back from the link: continue with the treatment type the patient had picked. */
  Widget.prototype.resumeAfterSignIn = function () {
    var store = storage(), code = store && store.getItem(PENDING_TYPE_KEY);
    if (!code || !(pendingHandoff || storedProof())) return false;
    store.removeItem(PENDING_TYPE_KEY);
    var type = this.catalog.types.find(function (t) { return t.code === code; });
    if (!type) return false;
    this.pickType(type);
    return true;
  };

  /** A reused screening's booking carries the proof instead of a screening id. */
  Widget.prototype.addPatientProof = function (body) {
    if (this.state.screening && this.state.screening.reused && this.state.patientProof) body.patient_proof = this.state.patientProof;
  };

  // --- screening frame (issue 14 finding 8): the questionnaire on Kapbook's origin ---------------------
  //
  // On a clinic's website the widget's shadow root is open to the page's own scripts (analytics,
  // session replay), so the questions and answers never enter it: the screening step is an iframe of
  // /screening/frame on Kapbook's origin (framed only by the allowed websites, frame-ancestors), which
  // runs this same script in its screening mode and posts to the eligibility API same-origin. It tells
  // the widget only what the widget then shows: the screening id with the name and email to book with
  // when the patient may book, or where the patient chose to go next. A crisis, a clinician review or
  // a "not right for you" stays inside the frame, so nothing on the clinic's page learns of it.
  // Messages go to one exact origin each way, and the widget checks the sender's origin and window.

  var KAPBOOK_ORIGIN = new URL(API).origin;
  var FRAME_MAX_HEIGHT = 4000;  // px: a frame's size report is trusted only this far

  /** The widget's side: the frame in place of the questionnaire, and its messages. */
  Widget.prototype.screeningFrame = function () {
    var self = this, state = this.state, type = state.type;
    var given = query({ name: state.patient.name, email: state.patient.email });
    var src = API + "/screening/frame?" + query({ type: type.code, origin: location.origin }) + (given ? "#" + given : "");
    var frame = el("iframe", { src: src, title: "Health questionnaire for " + type.name, class: "kb-screening-frame" });
    this.leaveScreeningFrame();
    this.screeningIframe = frame;
    this.form = frame;  // returning patients put their sign-in link offer above "the form"
    this.onScreeningMessage = function (event) {
      if (event.origin !== KAPBOOK_ORIGIN || event.source !== frame.contentWindow || self.state.type !== type) return;
      var message = event.data || {};
      if (message.kapbook !== "screening") return;
      if (typeof message.height === "number") frame.style.height = Math.min(Math.max(message.height, 200), FRAME_MAX_HEIGHT) + "px";
      else self.afterScreeningFrame(message);
    };
    window.addEventListener("message", this.onScreeningMessage);
    this.showError("");
    this.body.textContent = "";
    this.body.appendChild(frame);
  };

  Widget.prototype.leaveScreeningFrame = function () {
    if (this.onScreeningMessage) window.removeEventListener("message", this.onScreeningMessage);
    this.onScreeningMessage = null;
    this.screeningIframe = null;
  };

  Widget.prototype.afterScreeningFrame = function (message) {
    var state = this.state;
    if (message.next === "book" && typeof message.screening_id === "string") {
      this.leaveScreeningFrame();
      var patient = message.patient || {};
      state.patient.name = String(patient.name || "");
      state.patient.email = String(patient.email || "");
      state.screening = { id: message.screening_id };
      this.chooseTime("Thank you. Your answers mean you can book " + state.type.name.toLowerCase() + ".");
      return;
    }
    var other = message.next === "type" && this.catalog.types.find(function (t) { return t.code === message.type && !t.requires_eligibility; });
    if (other) { this.leaveScreeningFrame(); this.pickType(other); return; }
    if (message.next === "back") { this.leaveScreeningFrame(); this.chooseType(); }
  };

  /** The frame's side: this script on /screening/frame, the questionnaire of one type. */
  Widget.prototype.startScreeningFrame = function () {
    var self = this, code = this.host.getAttribute("data-kapbook-screening");
    this.inScreeningFrame = true;
    this.parentOrigin = this.host.getAttribute("data-kapbook-parent") || null;
    // The widget passes what the patient already typed in the fragment: never sent to a server or logged.
    var given = new URLSearchParams((location.hash || "").slice(1));
    this.state.patient.name = given.get("name") || "";
    this.state.patient.email = given.get("email") || "";
    if (location.hash && history.replaceState) history.replaceState(null, "", location.pathname + location.search);
    // Leaving the questionnaire is the widget's to do: these instance methods tell it instead.
    this.chooseType = function () { self.tellWidget({ next: "back" }); };
    this.pickType = function (type) { self.tellWidget({ next: "type", type: type.code }); };
    this.screeningOutcome = function (result) { self.frameOutcome(result); };
    this.reportHeight();
    request("GET", "/api/booking/v1/catalog").then(function (catalog) {
      var type = catalog.appointment_types.find(function (t) { return t.code === code && t.requires_eligibility; });
      self.catalog = { types: catalog.appointment_types, locations: catalog.locations };
      if (!type) { self.showError("This appointment type has no health questionnaire."); return; }
      self.state.type = type;
      self.loadProtocols().then(function () {
        self.state.protocol = self.protocolFor(type);  // the step count matches the widget's
        self.screeningForm();
      });
    }, function (problem) { self.showError(self.failure(problem, "the questionnaire could not be loaded", true)); });
  };

  Widget.prototype.tellWidget = function (message) {
    if (!this.parentOrigin || window.parent === window) return;
    window.parent.postMessage(Object.assign({ kapbook: "screening" }, message), this.parentOrigin);
  };

  /** Eligible: the widget continues to the times. Anything else is shown here, in the frame. */
  Widget.prototype.frameOutcome = function (result) {
    if (result.outcome === "eligible") {
      this.state.screening = result;
      this.say("Thank you. You can now choose a time.");
      this.tellWidget({ next: "book", screening_id: result.id,
        patient: { name: this.state.patient.name, email: this.state.patient.email } });
      return;
    }
    Widget.prototype.screeningOutcome.call(this, result);  // crisis resources at once, or the next step
  };

  Widget.prototype.reportHeight = function () {
    var self = this, last = 0;
    function report() {
      var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (height !== last) { last = height; self.tellWidget({ height: height }); }
    }
    if (window.ResizeObserver) new ResizeObserver(report).observe(document.documentElement);
    else setInterval(report, 500);
  };

  // --- end of screening frame ---------------------------------------------------------------------------

  // --- waitlist: no time suits the patient ---------------------------------------------------------------
  // Under the times (and in a week without any) the patient can join the waitlist instead: which days,
  // between which times (in the zone the times are shown in), name and email. POST /waitlist holds a
  // freed time that fits for them and emails them its link; every email has a link to leave. A type
  // that needs a screening joins with the screening just answered, as a booking would. The hooks into
  // the other steps are the two appendWaitlistOffer calls in drawWeek; everything else lives here.

  var WAITLIST_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var A_MONDAY = "2024-01-01";  // only to name the weekdays in the patient's language

  /** Whether this patient can join for this type: a screening of theirs, or a returning patient's proof. */
  Widget.prototype.canWait = function () {
    var state = this.state, screening = state.screening;
    return !state.type.requires_eligibility || !!(screening && (screening.id || (screening.reused && state.patientProof)));
  };

  /** Under the times: a question and the button that opens the waitlist form (none when joining is not possible). */
  Widget.prototype.appendWaitlistOffer = function (question) {
    var self = this;
    if (!this.canWait()) return;
    this.slotArea.appendChild(el("div", { class: "kb-waitlist-offer" }, [
      el("p", { text: question }),
      el("button", { type: "button", text: "Join the waitlist", onclick: function () { self.waitlistForm(); } })
    ]));
  };

  /** "09:00" as the patient's locale writes it ("9:00", "9:00 am"); "00:00" at the end of a range is midnight. */
  Widget.prototype.timeOfDay = function (hhmm, asEnd) {
    if (asEnd && hhmm === "00:00") return "midnight";
    var parts = hhmm.split(":").map(Number);
    return new Intl.DateTimeFormat(this.locale, { timeZone: "UTC", hour: "numeric", minute: "2-digit" })
      .format(new Date(Date.UTC(2024, 0, 1, parts[0], parts[1])));
  };

  Widget.prototype.weekdayName = function (index) {
    return this.dayFormat(addDays(A_MONDAY, index), { weekday: "long" });
  };

  Widget.prototype.waitlistForm = function () {
    var self = this, state = this.state, type = state.type, screened = !!(state.screening && state.screening.id);
    var wish = state.waitlist || (state.waitlist = { days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00" });
    var form = el("form", { novalidate: true, onsubmit: function (event) { event.preventDefault(); self.joinWaitlist(form); } });
    var days = el("fieldset", { id: this.id("wl-days"), "data-field": "weekdays" }, [
      el("legend", { text: "Which days suit you?" }),
      el("div", { class: "kb-options" }, WAITLIST_DAYS.map(function (code, index) {
        var id = self.id("wl-day-" + code);
        return el("div", { class: "kb-choice" }, [
          el("input", { type: "checkbox", id: id, name: "weekday", value: code, checked: wish.days.indexOf(code) >= 0 }),
          el("label", { for: id, text: self.weekdayName(index) })
        ]);
      }))
    ]);
    var hint = this.id("wl-times-hint");
    function times(asEnd) {
      var all = [];
      for (var minutes = asEnd ? 30 : 0; minutes <= (asEnd ? 24 * 60 : 24 * 60 - 30); minutes += 30) {
        var value = ("0" + Math.floor(minutes / 60) % 24).slice(-2) + ":" + ("0" + minutes % 60).slice(-2);
        all.push(value);
      }
      return all;
    }
    function timeField(name, label, value, asEnd) {
      var id = self.id("wl-" + name);
      return el("div", { class: "kb-field", "data-field": name }, [
        el("label", { for: id, text: label }),
        el("select", { id: id, name: name, "aria-describedby": hint }, times(asEnd).map(function (option) {
          return el("option", { value: option, selected: option === value, text: self.timeOfDay(option, asEnd) });
        }))
      ]);
    }
    var zone = state.zone.replace(/_/g, " ");
    var hours = el("fieldset", {}, [
      el("legend", { text: "Between which times?" }),
      el("p", { class: "kb-hint", id: hint, text: "In " + zone + " time, as the times above. The whole appointment (" +
        minutesText(type.duration_minutes) + ") fits between them." }),
      el("div", { class: "kb-times" }, [timeField("start", "From", wish.start, false), timeField("end", "Until", wish.end, true)])
    ]);
    var name = this.textField("name", "Full name", "text", state.patient.name, "name");
    var email = this.textField("email", "Email", "email", state.patient.email, "email",
      screened ? "The address you used for your screening." : "We email you here when a time opens up.");
    if (screened) { name.querySelector("input").readOnly = true; email.querySelector("input").readOnly = true; }
    [days, hours, name, email].forEach(function (part) { form.appendChild(part); });
    form.addEventListener("change", function () { self.rememberWish(form); });
    form.appendChild(el("div", { class: "kb-actions" }, [
      el("button", { type: "submit", class: "kb-primary", text: "Join the waitlist" }),
      el("button", { type: "button", text: "Back to the times", onclick: function () { self.chooseTime(); } })
    ]));
    this.render("Join the waitlist", null, [
      el("p", { class: "kb-muted", text: type.name + " · " + minutesText(type.duration_minutes) + " · " + (type.modality === "telehealth" ? "video call" : "in person") }),
      el("p", { text: "Tell us when you could come. When such a time opens up (someone cancels, or the clinic adds hours), " +
        "we keep it for you for a while and email you a link to book it." }),
      form
    ]);
  };

  /** The days and times as the form has them now (kept when the patient goes back and returns). */
  Widget.prototype.rememberWish = function (form) {
    var wish = this.state.waitlist;
    wish.days = Array.prototype.map.call(form.querySelectorAll("[name=weekday]:checked"), function (box) { return box.value; });
    wish.start = form.querySelector("[name=start]").value;
    wish.end = form.querySelector("[name=end]").value;
    return wish;
  };

  Widget.prototype.joinWaitlist = function (form) {
    var self = this, state = this.state, patient = state.patient, errors = {};
    this.clearFieldErrors(form);
    var wish = this.rememberWish(form);
    patient.name = form.querySelector("[name=name]").value.trim();
    patient.email = form.querySelector("[name=email]").value.trim();
    if (!wish.days.length) errors.weekdays = "Choose at least one day.";
    if (wish.end !== "00:00" && wish.end <= wish.start) errors.end = "Choose a time after the start time.";
    if (!patient.name) errors.name = "Enter your full name.";
    if (!EMAIL.test(patient.email)) errors.email = "Enter an email address like name@example.com.";
    if (Object.keys(errors).length) return this.showFieldErrors(form, errors);
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    this.showError("");
    this.say("Adding you to the waitlist…");
    var body = {
      appointment_type: state.type.code, windows: [{ weekdays: wish.days, start: wish.start, end: wish.end }],
      patient: { name: patient.name, email: patient.email, timezone: state.zone },
      screening_id: state.screening && state.screening.id ? state.screening.id : null
    };
    this.addPatientProof(body);  // returning patients: their proof finds the screening, as for booking
    request("POST", "/api/booking/v1/waitlist", body).then(function (entry) {
      self.waitlistJoined(entry, wish);
    }, function (problem) {
      button.disabled = false;
      var split = problem.status === 422 ? waitlistFieldErrors(problem.errors) : { fields: {}, other: [] };
      if (Object.keys(split.fields).length) return self.showFieldErrors(form, split.fields);
      if (problem.status === 422 || problem.status === 403) self.showError(problem.message || "You could not join the waitlist.", split.other);
      else self.showError(self.failure(problem, "you are not on the waitlist yet"));
      button.focus();
    });
  };

  /** The API's field errors as the form's fields (name, email, weekdays, start, end) and the rest as text. */
  function waitlistFieldErrors(errors) {
    var fields = {}, other = [];
    function add(field, messages) { fields[field] = (fields[field] ? fields[field] + " " : "") + [].concat(messages).join(" "); }
    Object.keys(errors || {}).forEach(function (key) {
      var value = errors[key];
      if (key === "patient" && value && !Array.isArray(value) && typeof value === "object") {
        Object.keys(value).forEach(function (field) {
          if (field === "name" || field === "email") add(field, value[field]);
          else other.push([].concat(value[field]).join(" "));
        });
      } else if (key === "windows" && Array.isArray(value)) {
        add(/end/i.test(value.join(" ")) ? "end" : "weekdays", value);
      } else if (key === "windows" && value && typeof value === "object") {
        Object.keys(value).forEach(function (index) {
          var window = value[index];
          if (Array.isArray(window)) return add("weekdays", window);
          Object.keys(window).forEach(function (field) { add(field === "start" || field === "end" ? field : "weekdays", window[field]); });
        });
      } else {
        other.push([].concat(value).join(" "));
      }
    });
    return { fields: fields, other: other };
  }

  Widget.prototype.waitlistJoined = function (entry, wish) {
    var self = this, state = this.state, type = state.type;
    var days = wish.days.map(function (code) { return self.weekdayName(WAITLIST_DAYS.indexOf(code)); }).join(", ");
    var rows = [["What", type.name], ["Days", days], ["Times", this.timeOfDay(wish.start) + " to " + this.timeOfDay(wish.end, true)],
      ["Time zone", state.zone.replace(/_/g, " ")], ["Email", entry.patient.email]];
    var confirmation = el("div", { class: "kb-done", role: "status", tabindex: "-1" }, [
      el("p", { text: "You are on the waitlist. We will email you at " + entry.patient.email + " when a time that suits you opens up, " +
        "and keep it for you for a while: book it from the link in that email." }),
      el("p", { text: "We have sent you an email that you are on the waitlist. It has a link to leave the waitlist, " +
        "as every waitlist email does, if you no longer need a time." })
    ]);
    this.render("You are on the waitlist", null, [
      confirmation,
      el("dl", { class: "kb-summary" }, rows.reduce(function (all, row) { return all.concat([el("dt", { text: row[0] }), el("dd", { text: row[1] })]); }, [])),
      el("div", { class: "kb-actions" }, [
        el("button", { type: "button", text: "Back to the times", onclick: function () { self.chooseTime(); } }),
        el("button", { type: "button", text: "Book another appointment", onclick: function () {
          state.slot = null; state.day = null; state.windowStart = null; self.chooseType();
        } })
      ])
    ], { focus: confirmation });
  };

  // --- end of waitlist ----------------------------------------------------------------------------------

  // --- SMART Scheduling Links deep link ---------------------------------------------------------------
  // A directory's booking-deep-link (FHIR Slot extension) opens this page with
  // ?kapbook-type=<code>&kapbook-start=<UTC instant>&kapbook-clinician=<id>: preselect the type, the
  // day and that exact slot (held at once, as if the patient had clicked it). If it has gone, the
  // patient sees that day's other times and a note. Other query parameters (source,
  // booking-referral) are the directory's and are ignored.

  Widget.prototype.followDeepLink = function () {
    var params = new URLSearchParams(window.location.search);
    var code = params.get("kapbook-type"), start = params.get("kapbook-start");
    var type = code && this.catalog.types.find(function (t) { return t.code === code; });
    if (!type || !start || isNaN(new Date(start).getTime())) return false;
    this.state.deepSlot = { start: new Date(start).getTime(), clinician: params.get("kapbook-clinician") };
    this.state.windowStart = this.state.day = ymdInZone(new Date(start), this.state.zone);
    this.pickType(type);
    return true;
  };

  Widget.prototype.pickDeepLinkedSlot = function (slots) {
    var wanted = this.state.deepSlot;
    if (!wanted) return;
    this.state.deepSlot = null;  // once: "Choose another time" must not jump back to it
    var index = slots.findIndex(function (slot) {
      return new Date(slot.start).getTime() === wanted.start && (!wanted.clinician || slot.clinician_id === wanted.clinician);
    });
    var buttons = this.slotArea.querySelectorAll(".kb-slot");
    if (index < 0) {
      this.showError("The time you chose is no longer free. Here are the other free times that day.", null, true);
      return;
    }
    this.pickSlot(slots[index], buttons[index]);
  };

  function mount(host) {
    if (!host || host.__kapbook) return;
    host.__kapbook = new Widget(host);
    if (host.hasAttribute("data-kapbook-screening")) host.__kapbook.startScreeningFrame();  // see "screening frame"
    else host.__kapbook.start();
  }

  takeHandoffFromAddress();  // returning patients: before any widget starts

  function mountAll() { Array.prototype.forEach.call(document.querySelectorAll("[data-kapbook-widget]"), mount); }

  window.Kapbook = { mount: mount, api: API };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
