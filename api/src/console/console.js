// Earshot console: the little script the server-rendered pages use. Everything works
// without it (forms post and the server answers with the next page); it adds:
// - new alerts appearing without a reload (the inbox list is polled every 5 s),
// - keyboard actions on the focused alert or review (j/k move, a/r/d/x act, n note),
// - choosing a review excerpt by selecting part of the review's text.
// It never builds markup from data: the polled list is HTML the server escaped.
(function () {
  "use strict";

  var POLL_MS = 5000;

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("article.alert, article.review"));
  }

  function currentCard() {
    var el = document.activeElement;
    return el && el.closest ? el.closest("article.alert, article.review") : null;
  }

  // Polling: replace the alert list when its set of alerts changed, unless the person is
  // typing in it.
  function startPolling() {
    var list = document.getElementById("alert-list");
    if (!list || !window.fetch || !window.DOMParser) return;
    var live = document.getElementById("live");
    function tick() {
      var current = document.getElementById("alert-list");
      if (!current) return;
      var active = document.activeElement;
      var typing = active && current.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
      fetch(current.getAttribute("data-poll"), {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      })
        .then(function (r) {
          if (!r.ok || r.redirected) throw new Error("signed out or failing");
          return r.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var next = doc.getElementById("alert-list");
          if (!next || typing) return;
          var before = (current.getAttribute("data-ids") || "").split(" ").filter(Boolean);
          var after = (next.getAttribute("data-ids") || "").split(" ").filter(Boolean);
          if (before.join(" ") === after.join(" ")) return;
          var fresh = after.filter(function (id) { return before.indexOf(id) < 0; }).length;
          var focusedId = active && active.closest && active.closest("article.alert")
            ? active.closest("article.alert").getAttribute("data-alert-id") : null;
          current.replaceWith(document.importNode(next, true));
          if (focusedId) {
            var again = document.querySelector('article.alert[data-alert-id="' + focusedId + '"]');
            if (again) again.focus();
          }
          if (live && fresh > 0) {
            live.textContent = fresh === 1 ? "1 new alert" : fresh + " new alerts";
          }
        })
        .catch(function () {})
        .then(function () { setTimeout(tick, POLL_MS); });
    }
    setTimeout(tick, POLL_MS);
  }

  // Keyboard: single keys act on the focused card; nothing fires while typing.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(t.tagName) && e.key !== "Escape") return;
    var all = cards();
    var card = currentCard();
    var at = card ? all.indexOf(card) : -1;
    if (e.key === "j" || e.key === "k") {
      var next = all[e.key === "j" ? Math.min(at + 1, all.length - 1) : Math.max(at - 1, 0)];
      if (next) { next.focus(); e.preventDefault(); }
      return;
    }
    if (!card) return;
    if (e.key === "n") {
      var note = card.querySelector("[data-note]");
      if (note) { note.focus(); e.preventDefault(); }
      return;
    }
    var button = card.querySelector('button[data-key="' + e.key + '"]');
    if (button) { e.preventDefault(); button.click(); }
  });

  // Excerpts: a selection inside a review's text becomes that review's excerpt.
  function takeSelection() {
    var sel = window.getSelection && window.getSelection();
    if (!sel || sel.isCollapsed || !sel.anchorNode) return;
    var anchor = sel.anchorNode.nodeType === 1 ? sel.anchorNode : sel.anchorNode.parentElement;
    var source = anchor && anchor.closest ? anchor.closest("[data-excerpt-source]") : null;
    if (!source || !source.contains(sel.focusNode)) return;
    var id = source.getAttribute("data-excerpt-source");
    var input = document.querySelector('input[data-excerpt-for="' + id + '"]');
    var text = sel.toString().replace(/\s+/g, " ").trim();
    if (input && text) input.value = text;
  }
  document.addEventListener("mouseup", takeSelection);
  document.addEventListener("keyup", function (e) { if (e.shiftKey) takeSelection(); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startPolling);
  } else {
    startPolling();
  }
})();
