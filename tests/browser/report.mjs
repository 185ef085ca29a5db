// Opens an HTML report in headless Chromium (Debian's, or OC_CHROMIUM), with no network:
// records console errors, page errors and any request that is not the file itself, checks
// the status and kind filters, and takes a full-page screenshot. tests/html.rs runs it:
//   node tests/browser/report.mjs <report.html> <screenshot.png>
// and reads the JSON it prints.
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [html, png] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.OC_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--font-render-hinting=none'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 }, deviceScaleFactor: 1 });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  const self = pathToFileURL(html).href;
  page.on('request', (r) => { if (r.url() !== self) errors.push(`request: ${r.url()}`); });
  await page.goto(self, { waitUntil: 'load' });
  const visible = () => page.evaluate(() => [...document.querySelectorAll('table.cases tr[data-status]')]
    .filter((r) => !r.hidden).map((r) => `${r.dataset.status} ${r.dataset.kind}`));
  const facts = await page.evaluate(() => ({
    cases: document.querySelectorAll('table.cases tr[data-status]').length,
    shown: Number(document.getElementById('shown').textContent),
    failures: document.querySelectorAll('article.case').length,
    pictures: document.querySelectorAll('article.case svg.timeline').length,
    kind: document.querySelector('tr[data-status=fail]')?.dataset.kind ?? '',
  }));
  await page.selectOption('#status', 'fail');
  facts.failing = await visible();
  await page.selectOption('#status', 'all');
  await page.selectOption('#kind', facts.kind);
  facts.of_kind = await visible();
  await page.selectOption('#kind', 'all');
  await page.screenshot({ path: png, fullPage: true });
  console.log(JSON.stringify({ errors, ...facts }));
} finally {
  await browser.close();
}
