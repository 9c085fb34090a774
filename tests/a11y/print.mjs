// Prints report pages to A4 PDF in headless Chromium (the browser's "Print to PDF") and checks
// them: the page count is within the given bounds, the print stylesheet applies (each section
// starts a page, nothing is cut off by a scroll box, outside links are written out), and the
// PDF's text (pdftotext, from poppler-utils) holds the page's title and its sections' headings.
// Usage: node tests/a11y/print.mjs MIN_PAGES MAX_PAGES REPORT.html [MORE.html ...]
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const [min, max, ...pages] = process.argv.slice(2);
if (pages.length === 0) {
  console.error("usage: node print.mjs MIN_PAGES MAX_PAGES REPORT.html [MORE.html ...]");
  process.exit(2);
}
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const dir = mkdtempSync(path.join(os.tmpdir(), "jsna-print-"));
let failed = 0;
const fail = (file, what) => {
  console.error(`${file}: ${what}`);
  failed += 1;
};
try {
  for (const file of pages) {
    const page = await browser.newPage();
    await page.goto("file://" + path.resolve(file), { waitUntil: "load" });
    await page.emulateMediaType("print");
    const seen = await page.evaluate(() => {
      const style = (el) => getComputedStyle(el);
      const h2 = [...document.querySelectorAll("main h2")];
      return {
        title: document.querySelector("h1").textContent.trim(),
        headings: h2.map((h) => h.textContent.trim()),
        breaks: h2.filter((h) => style(h).breakBefore === "page").length,
        scrolls: [...document.querySelectorAll(".scroll")].filter(
          (s) => style(s).overflowX !== "visible",
        ).length,
        links: [...document.querySelectorAll('main a[href^="http"]')].filter(
          (a) => !getComputedStyle(a, "::after").content.includes("http"),
        ).length,
      };
    });
    if (seen.breaks < 2) fail(file, `only ${seen.breaks} sections start a new page in print`);
    if (seen.scrolls > 0) fail(file, `${seen.scrolls} scroll boxes would cut tables off in print`);
    if (seen.links > 0) fail(file, `${seen.links} outside links are not written out in print`);
    const pdf = await page.pdf({ format: "A4", printBackground: true, preferCSSPageSize: true });
    const out = path.join(dir, path.basename(file, ".html") + ".pdf");
    writeFileSync(out, pdf);
    const text = execFileSync("pdftotext", ["-layout", out, "-"], { encoding: "utf8" });
    const count = (text.match(/\f/g) || []).length;
    if (count < Number(min) || count > Number(max)) {
      fail(file, `${count} A4 pages, expected ${min} to ${max}`);
    }
    const flat = text.replace(/\s+/g, " ");
    for (const want of [seen.title, ...seen.headings]) {
      const words = want.replace(/\s+/g, " ").slice(0, 40);
      if (!flat.includes(words)) fail(file, `the PDF's text lacks "${words}"`);
    }
    console.log(`${file}: ${count} A4 pages, ${seen.breaks} sections each on a new page; ${out}`);
    await page.close();
  }
} finally {
  await browser.close();
}
if (failed > 0) {
  console.error(`print: ${failed} problem(s)`);
  process.exit(1);
}
console.log("print: every page prints to A4 with its sections");
