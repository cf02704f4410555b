// Accessibility check of HTML report pages: axe-core in headless Chromium (Debian's), no network.
// node axe.mjs [--screenshot DIR] PAGE.html...   prints {"<page>": [violations...]} as JSON
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const args = process.argv.slice(2);
let shots = null;
if (args[0] === "--screenshot") { shots = args[1]; args.splice(0, 2); }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const results = {};
try {
  // bypassCSP: the report forbids every script; axe is injected by the test, not by the page
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1200, height: 900 } });
  await context.route(/^(?!file:|data:)/, (route) => route.abort());  // the page must need no network
  for (const page_path of args) {
    const page = await context.newPage();
    await page.goto(pathToFileURL(resolve(page_path)).href);
    if (shots) {
      const name = basename(page_path, ".html");
      await page.screenshot({ path: `${shots}/${name}.png`, fullPage: false });
      // what a student reads first: the grader's boxes and notes, and a formula
      const selectors = [".grader-banner", ".grader-stopped", ".grader-feedback.grader-error",
        ".grader-feedback.grader-failed", ".grader-feedback.grader-partial", ".jp-MarkdownCell:has(math)"];
      for (const [k, selector] of selectors.entries()) {
        const found = page.locator(selector);
        const n = Math.min(await found.count(), 3);
        for (let i = 0; i < n; i++) {
          await found.nth(i).screenshot({ path: `${shots}/${name}-${k}-${i}.png` });
        }
      }
    }
    await page.addScriptTag({ content: axeSource });
    const found = await page.evaluate(async () =>
      (await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })).violations
        .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })) })));
    results[page_path] = found;
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results, null, 1));
