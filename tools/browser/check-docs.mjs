#!/usr/bin/env node
// Renders the API's documentation pages in headless Chromium and checks that they work offline.
//
//   node tools/browser/check-docs.mjs http://127.0.0.1:PORT OUTDIR
//
// Opens BASE/swagger/ (Swagger UI) and BASE/redoc/ (ReDoc) in a fresh browser context, waits
// until each has rendered the operations, checks a few things a reader would see, and saves
// full-page screenshots OUTDIR/swagger.png and OUTDIR/redoc.png. Every request to an origin
// other than BASE's is aborted and recorded. Exits 1 when a page did not render within 30 s,
// when anything tried to reach another origin, or when the console reported a resource that
// failed to load (CSP refusals included); exits 2 on a usage error.
//
// Needs `npm ci --prefix tools/browser` once, and Debian's Chromium (`apt-get install
// chromium`); CHROMIUM=/path/to/chromium picks another binary.

import fs from 'node:fs';
import path from 'node:path';

const RENDER_TIMEOUT_MS = 30_000;
const MIN_OPERATIONS = Number(process.env.MIN_OPERATIONS || 10);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// Swagger UI's default, which would send the spec's URL to a public validator.
const PUBLIC_VALIDATOR = /validator\.swagger\.io/i;
// Console messages that say a resource did not load: network errors, HTTP errors on
// subresources, and Content-Security-Policy refusals (older and newer Chromium wording).
const RESOURCE_FAILURE =
  /failed to load resource|net::ERR_|refused to (load|connect|execute|apply|frame)|violates the following content security policy/i;

function usage(message) {
  if (message) console.error(`check-docs: ${message}`);
  console.error('usage: node tools/browser/check-docs.mjs http://127.0.0.1:PORT OUTDIR');
  process.exit(2);
}

const [baseArg, outDir] = process.argv.slice(2);
if (!baseArg || !outDir || process.argv.length > 4) usage();
let origin;
try {
  const url = new URL(baseArg);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  origin = url.origin;
} catch {
  usage(`not an http(s) URL: ${baseArg}`);
}
const base = baseArg.replace(/\/+$/, '');
if (!fs.existsSync(CHROMIUM)) {
  usage(`no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`);
}

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  usage('playwright-core is not installed: run `npm ci --prefix tools/browser` first');
}

fs.mkdirSync(outDir, { recursive: true });

function sameOrigin(url) {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** Distinct messages (first line only, stack traces dropped) with how often each came. */
function tally(messages) {
  const counts = new Map();
  for (const message of messages) {
    const line = String(message).split('\n')[0].trim();
    counts.set(line, (counts.get(line) || 0) + 1);
  }
  return counts;
}

/** Loads one page, waits for `ready` and runs `inspect`; returns what it found. */
async function checkPage(context, { name, url, ready, inspect }) {
  const result = { name, problems: [], external: new Set(), consoleErrors: [], summary: '' };
  const page = await context.newPage();
  page.on('request', (request) => {
    // Requests the route below never sees (refused by CSP, for instance) still show up here.
    const target = request.url();
    if (/^https?:|^wss?:/.test(target) && !sameOrigin(target)) result.external.add(target);
  });
  page.on('websocket', (socket) => {
    if (!sameOrigin(socket.url())) result.external.add(socket.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') result.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => result.consoleErrors.push(`uncaught: ${error.message}`));
  page.on('response', (response) => {
    if (sameOrigin(response.url()) && response.status() >= 400 && response.request().resourceType() !== 'document') {
      result.consoleErrors.push(`Failed to load resource ${response.url()}: HTTP ${response.status()}`);
    }
  });
  page.on('requestfailed', (request) => {
    if (sameOrigin(request.url())) {
      result.consoleErrors.push(`Failed to load resource ${request.url()}: ${request.failure()?.errorText}`);
    }
  });

  try {
    const response = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: RENDER_TIMEOUT_MS });
    if (!response) throw new Error('no response');
    if (!response.ok()) throw new Error(`HTTP ${response.status()} for ${response.url()}`);
    const state = await page
      .waitForFunction(ready, MIN_OPERATIONS, { timeout: RENDER_TIMEOUT_MS, polling: 250 })
      .then((handle) => handle.jsonValue());
    if (state && state.error) throw new Error(state.error);
    // Let late requests (images, fonts, workers) start before judging the page.
    await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => {});
    await page.waitForTimeout(500);
    await inspect(page, result);
  } catch (error) {
    const reason =
      error.name === 'TimeoutError' ? `did not render within ${RENDER_TIMEOUT_MS / 1000} s` : String(error.message).split('\n')[0];
    result.problems.push(`${name}: ${reason} (${url})`);
  }

  const shot = path.join(outDir, `${name}.png`);
  try {
    await page.screenshot({ path: shot, fullPage: true, timeout: RENDER_TIMEOUT_MS });
    result.screenshot = shot;
  } catch (error) {
    result.problems.push(`${name}: screenshot failed: ${error.message}`);
  }
  await page.close();

  for (const target of result.external) result.problems.push(`${name}: request to another origin: ${target}`);
  for (const [text, count] of tally(result.consoleErrors.filter((t) => RESOURCE_FAILURE.test(t)))) {
    result.problems.push(`${name}: console: ${text}${count > 1 ? ` (${count} times)` : ''}`);
  }
  return result;
}

const swagger = {
  name: 'swagger',
  url: `${base}/swagger/`,
  ready: (min) => {
    const operations = document.querySelectorAll('.opblock').length;
    const failed = document.querySelector('.errors-wrapper, .loading-container .errors');
    if (failed && operations === 0) return { error: `Swagger UI shows an error: ${failed.innerText.trim().split(/\s*\n+\s*/).join(' / ').slice(0, 300)}` };
    return operations >= min && document.body.innerText.includes('/api/patients/') ? { operations } : false;
  },
  async inspect(page, result) {
    const facts = await page.evaluate(() => {
      const summaries = document.querySelectorAll('.opblock .opblock-summary-path, .opblock .opblock-summary-path__deprecated');
      const authorize = [...document.querySelectorAll('button')].find((b) => /authori[sz]e/i.test(b.innerText) || b.classList.contains('authorize'));
      let validatorUrl;
      try {
        validatorUrl = window.ui && typeof window.ui.getConfigs === 'function' ? window.ui.getConfigs().validatorUrl : undefined;
      } catch {
        validatorUrl = undefined;
      }
      return {
        operations: document.querySelectorAll('.opblock').length,
        paths: summaries.length,
        authorize: Boolean(authorize && authorize.offsetParent !== null),
        badges: document.querySelectorAll('.validator-badge, img[src*="validator.swagger.io"], a[href*="validator.swagger.io"]').length,
        validatorUrl: validatorUrl === undefined ? '(not inspectable)' : validatorUrl,
      };
    });
    if (!facts.authorize) result.problems.push('swagger: no visible "Authorize" button');
    if (facts.badges > 0) result.problems.push(`swagger: ${facts.badges} validator badge element(s) on the page`);
    // On a loopback URL Swagger UI hides the badge even when the validator is on, so the
    // configuration is checked as well.
    if (typeof facts.validatorUrl === 'string' && PUBLIC_VALIDATOR.test(facts.validatorUrl)) {
      result.problems.push(`swagger: validatorUrl is ${facts.validatorUrl}; configure it as "none"`);
    }
    result.summary = `${facts.operations} operations, Authorize button ${facts.authorize ? 'present' : 'MISSING'}, validator badges ${facts.badges}, validatorUrl ${JSON.stringify(facts.validatorUrl)}`;
  },
};

const redoc = {
  name: 'redoc',
  url: `${base}/redoc/`,
  ready: (min) => {
    // ReDoc's sidebar lists tags as li[data-item-id="tag/NAME"] and operations as
    // li[data-item-id="tag/NAME/operation/ID"] (or "operation/ID" when untagged), each with
    // a method label (.operation-type).
    const items = [...document.querySelectorAll('.menu-content li[data-item-id]')];
    const operations = items.filter((li) => /(^|\/)operation\//.test(li.getAttribute('data-item-id')) && li.querySelector('.operation-type')).length;
    const patients = [...document.querySelectorAll('h1, h2')].some((h) => /patients/i.test(h.textContent));
    if (operations === 0) {
      const heading = document.querySelector('h1, h2');
      if (heading && /something went wrong/i.test(heading.textContent)) {
        return { error: `ReDoc shows an error: ${document.body.innerText.trim().split(/\s*\n+\s*/).slice(0, 3).join(' / ').slice(0, 300)}` };
      }
    }
    return operations >= min && patients ? { operations } : false;
  },
  async inspect(page, result) {
    const facts = await page.evaluate(() => {
      const items = [...document.querySelectorAll('.menu-content li[data-item-id]')];
      const operations = items.filter((li) => /(^|\/)operation\//.test(li.getAttribute('data-item-id')) && li.querySelector('.operation-type')).length;
      const tags = items.filter((li) => /^tag\/[^/]+$/.test(li.getAttribute('data-item-id'))).map((li) => li.innerText.trim());
      return { operations, tags, title: document.title };
    });
    result.summary = `${facts.operations} operations in ${facts.tags.length} tags (${facts.tags.join(', ')}), title ${JSON.stringify(facts.title)}`;
  },
};

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
const results = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
  await context.route('**/*', (route) => {
    const target = route.request().url();
    if (sameOrigin(target)) return route.continue();
    return route.abort('blockedbyclient');
  });
  for (const spec of [swagger, redoc]) results.push(await checkPage(context, spec));
  await context.close();
} finally {
  await browser.close();
}

let failed = false;
for (const result of results) {
  const ok = result.problems.length === 0;
  failed ||= !ok;
  console.log(
    `${result.name}: ${ok ? 'OK' : 'FAILED'} - ${result.summary || 'not rendered'}; external requests = ${result.external.size}` +
      (result.screenshot ? `; screenshot ${result.screenshot}` : ''),
  );
}
for (const result of results) {
  for (const problem of result.problems) console.error(`check-docs: ${problem}`);
  for (const [text, count] of tally(result.consoleErrors.filter((t) => !RESOURCE_FAILURE.test(t)))) {
    console.error(`check-docs: ${result.name}: console error (not fatal): ${text}${count > 1 ? ` (${count} times)` : ''}`);
  }
}
process.exit(failed ? 1 : 0);
