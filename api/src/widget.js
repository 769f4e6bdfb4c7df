/*
 * Earshot review widget.
 *
 * Embed:
 *   <div data-earshot-brand="acme"></div>
 *   <script src="https://earshot.example.com/public/v1/brands/acme/widget.js" async></script>
 *
 * Fills every element with a data-earshot-brand attribute with that brand's approved
 * reviews, fetched from the server this script came from. Optional attributes:
 * data-earshot-limit="5" (how many reviews; the server caps it);
 * data-earshot-fresh (ask the server every time instead of using the browser's copy,
 * which may be up to five minutes old; the console's preview uses it).
 *
 * Safety: review data is only ever set as text (textContent) or as attributes of
 * elements this script creates; it is never parsed as HTML. Links are only made from
 * http(s) URLs.
 *
 * Accessibility and theming: a list of <figure> elements, each with a <blockquote>, a
 * <figcaption> naming the author (<cite>), the date (<time>) and the source (a link);
 * star ratings have an aria-label such as "4 out of 5 stars". Nothing is styled: every
 * element has an earshot-* class to style. When done, the container gets
 * data-earshot-state="ready" (or "error") and an "earshot:rendered" event bubbles
 * from it.
 */
(function () {
  "use strict";

  // Only available while the script first runs, so it is read now.
  var script = document.currentScript;
  var origin;
  try {
    origin = new URL(script.src).origin;
  } catch (e) {
    return;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function webLink(url) {
    if (typeof url !== "string") return null;
    try {
      var u = new URL(url);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function starsOf(rating) {
    var outOf = Number(rating.out_of) || 5;
    var stars = Math.max(0, Math.min(outOf, Number(rating.stars) || 0));
    var full = Math.round(stars);
    var node = el("span", "earshot-stars", "★".repeat(full) + "☆".repeat(outOf - full));
    node.setAttribute("role", "img");
    node.setAttribute("aria-label", stars + " out of " + outOf + " stars");
    return node;
  }

  function dateOf(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return null;
    var node = el("time", "earshot-date", d.toLocaleDateString(undefined, {
      year: "numeric", month: "long", day: "numeric"
    }));
    node.setAttribute("datetime", d.toISOString());
    return node;
  }

  function reviewOf(review) {
    var item = el("li", "earshot-review");
    var figure = el("figure", "earshot-figure");
    var quote = el("blockquote", "earshot-quote");
    var link = webLink(review.source && review.source.url);
    if (link) quote.setAttribute("cite", link);
    if (review.title) quote.appendChild(el("p", "earshot-title", review.title));
    quote.appendChild(el("p", "earshot-text", review.excerpt ? "…" + review.text + "…" : review.text));
    figure.appendChild(quote);
    if (review.rating) figure.appendChild(starsOf(review.rating));

    var caption = el("figcaption", "earshot-caption");
    caption.appendChild(el("cite", "earshot-author", review.author || "Anonymous"));
    var date = dateOf(review.date);
    if (date) {
      caption.appendChild(document.createTextNode(", "));
      caption.appendChild(date);
    }
    var sourceName = (review.source && review.source.name) || "source";
    caption.appendChild(document.createTextNode(", on "));
    if (link) {
      var a = el("a", "earshot-source", sourceName);
      a.href = link;
      a.rel = "nofollow noopener noreferrer";
      caption.appendChild(a);
    } else {
      caption.appendChild(el("span", "earshot-source", sourceName));
    }
    if (review.excerpt && link) {
      caption.appendChild(document.createTextNode(" "));
      var more = el("a", "earshot-more", "Read the whole review");
      more.href = link;
      more.rel = "nofollow noopener noreferrer";
      caption.appendChild(more);
    }
    figure.appendChild(caption);
    item.appendChild(figure);
    return item;
  }

  function render(box, feed) {
    var section = el("section", "earshot-reviews");
    var name = (feed.brand && feed.brand.name) || "";
    section.setAttribute("aria-label", name ? "Reviews of " + name : "Reviews");
    section.appendChild(el("p", "earshot-notice", feed.notice || "A selection of reviews; not all reviews."));
    var reviews = Array.isArray(feed.reviews) ? feed.reviews : [];
    if (reviews.length === 0) {
      section.appendChild(el("p", "earshot-empty", "No reviews to show yet."));
    } else {
      var list = el("ul", "earshot-list");
      for (var i = 0; i < reviews.length; i++) list.appendChild(reviewOf(reviews[i]));
      section.appendChild(list);
    }
    box.replaceChildren(section);
  }

  function finish(box, state) {
    box.setAttribute("data-earshot-state", state);
    box.removeAttribute("aria-busy");
    box.dispatchEvent(new CustomEvent("earshot:rendered", { bubbles: true, detail: { state: state } }));
  }

  function load(box) {
    var slug = box.getAttribute("data-earshot-brand") || "";
    if (!/^[a-z0-9-]{1,64}$/.test(slug) || box.hasAttribute("data-earshot-state")) return;
    box.setAttribute("data-earshot-state", "loading");
    box.setAttribute("aria-busy", "true");
    var url = origin + "/public/v1/brands/" + encodeURIComponent(slug) + "/reviews";
    var limit = box.getAttribute("data-earshot-limit");
    if (limit && /^[0-9]{1,3}$/.test(limit)) url += "?limit=" + limit;
    var options = { credentials: "omit", headers: { Accept: "application/json" } };
    if (box.hasAttribute("data-earshot-fresh")) options.cache = "no-cache";
    fetch(url, options)
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (feed) {
        render(box, feed);
        finish(box, "ready");
      })
      .catch(function () {
        box.replaceChildren(el("p", "earshot-error", "Reviews could not be loaded."));
        finish(box, "error");
      });
  }

  function start() {
    var boxes = document.querySelectorAll("[data-earshot-brand]");
    for (var i = 0; i < boxes.length; i++) load(boxes[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
