// Loads a page that embeds the Earshot review widget in headless Chromium (Debian's,
// driven by playwright-core: no browser download) and prints what a visitor would see
// as one JSON object on stdout. tests/widget_browser.rs starts the servers, runs this
// and judges the result; this script only observes.
//
//   node widget.mjs PAGE_URL [CHROMIUM_PATH]

import { chromium } from "playwright-core";

const [pageUrl, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!pageUrl) {
  console.error("usage: node widget.mjs PAGE_URL [CHROMIUM_PATH]");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // No sandbox as root; no background traffic on a machine without a network.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage();
  const errors = [];
  const dialogs = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  await page.goto(pageUrl, { waitUntil: "load" });
  const box = page.locator("[data-earshot-brand]").first();
  await page.waitForSelector('[data-earshot-brand][data-earshot-state="ready"], [data-earshot-brand][data-earshot-state="error"]', { timeout: 15000 });
  // Give anything injected (an <img onerror>, a timer) time to fire, were it there.
  await page.waitForTimeout(500);

  const reviews = page.locator(".earshot-review");
  const count = await reviews.count();
  const items = [];
  for (let i = 0; i < count; i++) {
    const item = reviews.nth(i);
    const stars = item.locator(".earshot-stars");
    items.push({
      text: await item.locator(".earshot-text").innerText(),
      textVisible: await item.locator(".earshot-text").isVisible(),
      author: await item.locator("cite").innerText(),
      source: await item.locator(".earshot-source").innerText(),
      href: (await item.locator("a.earshot-source").count())
        ? await item.locator("a.earshot-source").getAttribute("href")
        : null,
      stars: (await stars.count()) ? await stars.getAttribute("aria-label") : null,
      inBlockquote: (await item.locator("figure > blockquote .earshot-text").count()) === 1,
    });
  }
  const result = {
    state: await box.getAttribute("data-earshot-state"),
    notice: (await page.locator(".earshot-notice").count())
      ? await page.locator(".earshot-notice").innerText()
      : null,
    inList: (await page.locator("ul.earshot-list > li.earshot-review").count()) === count,
    reviews: items,
    widgetText: await box.innerText(),
    pwned: await page.evaluate(() => window.__pwned ?? null),
    imgs: await page.locator("img").count(),
    scriptsInWidget: await box.locator("script").count(),
    errors,
    dialogs,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await browser.close();
}
