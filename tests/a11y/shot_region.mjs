// Screenshot of a page region around an element (for looking at a report as a student sees it).
// node shot_region.mjs PAGE.html SELECTOR OUT.png [PIXELS_ABOVE] [HEIGHT]
import { chromium } from "playwright-core";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [page_path, selector, out, above = "400", height = "800"] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.route(/^(?!file:|data:)/, (route) => route.abort());
  await page.goto(pathToFileURL(resolve(page_path)).href);
  const box = await page.locator(selector).first().boundingBox();
  const y = Math.max(0, box.y - Number(above));
  await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y, width: 1200, height: Number(height) } });
} finally {
  await browser.close();
}
