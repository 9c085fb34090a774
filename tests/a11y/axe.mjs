// Opens each report page in headless Chromium, runs axe-core (WCAG 2.0/2.1 A and AA rules) and
// fails on any serious or critical violation. Saves a full-page screenshot beside each page.
// Usage: node tests/a11y/axe.mjs REPORT.html [MORE.html ...]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const pages = process.argv.slice(2);
if (pages.length === 0) {
  console.error("usage: node axe.mjs REPORT.html [MORE.html ...]");
  process.exit(2);
}
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = 0;
try {
  for (const file of pages) {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto("file://" + path.resolve(file), { waitUntil: "load" });
    await page.evaluate(axeSource);
    const result = await page.evaluate(() =>
      // eslint-disable-next-line no-undef
      axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    for (const v of result.violations) {
      console.log(`${file}: ${v.impact}: ${v.id}: ${v.help} (${v.nodes.length} element(s))`);
    }
    const shot = file.replace(/\.html$/, "") + ".screenshot.png";
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`${file}: ${result.passes.length} rules passed, ${result.violations.length} violated, ${serious.length} serious or critical; screenshot ${shot}`);
    failed += serious.length;
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(failed === 0 ? "axe: 0 serious or critical violations" : `axe: ${failed} serious or critical violation type(s)`);
process.exit(failed === 0 ? 0 : 1);
