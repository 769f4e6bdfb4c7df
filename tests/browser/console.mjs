// Walks through the Earshot web console in headless Chromium (Debian's, driven by
// playwright-core) as the PR team, marketing and an admin would, saves a screenshot of
// each screen, and prints what it saw as one JSON object on its last line.
// tests/console_browser.rs seeds the data, starts the server, runs this and judges the
// result; this script only acts and observes.
//
//   node console.mjs BASE_URL PASSWORD SHOTS_DIR READY_FILE [CHROMIUM_PATH]
//
// READY_FILE is created when the inbox is open, so the test can add a new alert while
// the page stays loaded.

import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [base, password, shots, readyFile, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!base || !password || !shots || !readyFile) {
  console.error("usage: node console.mjs BASE_URL PASSWORD SHOTS_DIR READY_FILE [CHROMIUM_PATH]");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath,
  headless: true,
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
const result = { errors: [], dialogs: [], cspViolations: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => result.errors.push(String(e)));
  page.on("dialog", (d) => {
    result.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) result.cspViolations.push(m.text());
  });
  const shot = (name) => page.screenshot({ path: join(shots, name), fullPage: true });
  const titles = () => page.locator("article.alert h2").allInnerTexts();

  async function signIn(user) {
    await page.goto(base + "/signin");
    await page.fill('input[name="username"]', user);
    await page.fill('input[name="password"]', password);
    await Promise.all([
      page.waitForNavigation(),
      page.locator('form:has(input[name="username"]) button[type="submit"]').click(),
    ]);
  }
  async function signOut() {
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Sign out" }).click()]);
  }

  // Not signed in: the inbox sends you to sign in.
  await page.goto(base + "/alerts");
  result.unsignedUrl = new URL(page.url()).pathname;
  await shot("signin.png");

  // The PR team.
  await signIn("pia");
  result.afterSignIn = new URL(page.url()).pathname;
  await shot("overview.png");
  result.overviewHasChart = (await page.locator("figure.chart svg rect").count()) > 0;

  await page.goto(base + "/alerts");
  result.prTitles = await titles();
  const evil = page.locator("article.alert", { hasText: "SCRIPT-MENTION" });
  result.scriptSnippet = await evil.locator(".snippet").innerText();
  result.markedTerm = await page.locator("article.alert .snippet mark").first().innerText();
  await page.waitForTimeout(300);
  result.pwned = await page.evaluate(() => window.__pwned ?? null);
  result.imgsInMain = await page.locator("main img").count();
  await shot("alerts.png");

  // Resolve the seeded negative alert in one click; it leaves the inbox.
  const neg = page.locator("article.alert", { hasText: "NEG-ALERT" });
  await Promise.all([page.waitForNavigation(), neg.getByRole("button", { name: "Resolve" }).click()]);
  result.afterResolve = await titles();

  // The keyboard: focus the first alert and press "a" to acknowledge it.
  const before = await page.locator("article.alert").count();
  await page.locator("article.alert").first().focus();
  await Promise.all([page.waitForNavigation(), page.keyboard.press("a")]);
  result.keyboardAcknowledged = before - (await page.locator("article.alert").count());

  // A form posted without the CSRF token is refused.
  const [refused] = await Promise.all([
    page.waitForNavigation(),
    page.evaluate(() => {
      const id = document.querySelector("article.alert").getAttribute("data-alert-id");
      const f = document.createElement("form");
      f.method = "post";
      f.action = "/alerts/" + id + "/dismiss";
      document.body.appendChild(f);
      f.submit();
    }),
  ]);
  result.noCsrfStatus = refused.status();
  result.noCsrfText = await page.locator("main").innerText();
  await page.goto(base + "/alerts");
  result.afterRefused = await titles();

  // New alerts appear without a reload.
  writeFileSync(readyFile, "ready");
  try {
    await page.locator("article.alert", { hasText: "LIVE-ALERT" }).waitFor({ timeout: 30000 });
    result.liveAlert = true;
  } catch (e) {
    result.liveAlert = false;
  }
  result.liveNotice = await page.locator("#live").innerText();
  await signOut();

  // Marketing: no alerts screen; the review queue with the widget preview.
  await signIn("mark");
  result.marketingNav = await page.locator("header nav a").allInnerTexts();
  const forbidden = await page.goto(base + "/alerts");
  result.marketingAlertsStatus = forbidden.status();
  result.marketingAlertsText = await page.locator("main").innerText();
  await page.goto(base + "/reviews");
  const widget = page.locator("[data-earshot-brand]").first();
  await page.waitForSelector('[data-earshot-brand][data-earshot-state="ready"], [data-earshot-brand][data-earshot-state="error"]', { timeout: 15000 });
  result.previewBefore = await widget.innerText();

  // Choose an excerpt by selecting part of the text, then approve.
  const review = page.locator("article.review", { hasText: "REVIEW-ONE" });
  await review.locator("blockquote").evaluate((el) => {
    const node = el.firstChild;
    const want = "Acme kettle is wonderful.";
    const at = node.textContent.indexOf(want);
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + want.length);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    document.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
  });
  result.excerptValue = await review.locator('input[name="excerpt"]').inputValue();
  await Promise.all([page.waitForNavigation(), review.getByRole("button", { name: "Approve" }).click()]);
  await page.waitForSelector('[data-earshot-brand][data-earshot-state="ready"], [data-earshot-brand][data-earshot-state="error"]', { timeout: 15000 });
  result.previewState = await widget.getAttribute("data-earshot-state");
  result.previewAfter = await widget.innerText();
  result.pendingAfter = await page.locator("article.review h3").allInnerTexts();
  await shot("reviews.png");
  result.feed = await page.evaluate(() => fetch("/public/v1/brands/acme/reviews").then((r) => r.text()));
  await signOut();

  // An admin sees the admin screen.
  await signIn("ada");
  const admin = await page.goto(base + "/admin");
  result.adminStatus = admin.status();
  await shot("admin.png");

  // A phone-sized inbox, for the record.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + "/alerts?status=all");
  await shot("alerts-phone.png");
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
