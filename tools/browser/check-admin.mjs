#!/usr/bin/env node
// Walks through the staff admin site (/admin/) in headless Chromium, as a staff member would,
// and checks what they see at each step.
//
//   node tools/browser/check-admin.mjs http://127.0.0.1:PORT OUTDIR
//
// The accounts and the patient must exist already (scripts/api-checks.sh creates them) and are
// named by environment variables:
//
//   ADMIN_STAFF_EMAIL, ADMIN_STAFF_PASSWORD  a staff user (`healthcare-admin createsuperuser`)
//                                            who has not enrolled a second factor yet;
//   ADMIN_STAFF_NAME, ADMIN_STAFF_ID         (optional) their display name and user id (the
//                                            audit trail may name the actor by either);
//   ADMIN_USER_EMAIL, ADMIN_USER_PASSWORD    a regular (non-staff) user;
//   ADMIN_PATIENT_NAME                       the name of a patient that user created, unique
//                                            enough to find it with the list's search box;
//   ADMIN_PATIENT_ID                         (optional) its id, checked against the page's.
//
// Steps (each printed as it passes):
//   1. BASE/admin/ sends an anonymous visitor to the sign-in page;
//   2. the staff user signs in; the second-factor page shows an inline SVG QR code and the
//      base32 secret in a <code>; the script computes the current TOTP code (RFC 6238,
//      SHA-1, 6 digits, 30 s) and submits it; the recovery codes are shown; Continue leads
//      to the dashboard;
//   3. the patient is found with the list's search (q), opened, its address changed and saved
//      (the new value is shown); an invalid age (-5) is refused with a .field-error beside the
//      age field and the record is unchanged; the patient is archived and shown archived;
//   4. the audit trail, filtered by the patient's id, has patient.read, patient.update and
//      patient.delete rows whose actor is the staff user;
//   5. the users list shows both accounts (found with its search), staff and not;
//   6. signing out leads back to the sign-in page and the admin pages are closed again;
//      signing in again asks for a code without showing the secret, refuses the enrolment
//      code replayed, and accepts the next step's code (the script waits for it, up to 30 s);
//   7. a non-staff user with the right password gets a 403 page with no data and no session;
//      an anonymous visit to /admin/patients/ lands on the sign-in page.
//
// Screenshots (full page, 1280x800 viewport) go to OUTDIR: login, enrol (the QR code),
// recovery-codes, dashboard, patients (the search), patient-detail (with the age error),
// audit (filtered by the patient) and users (.png), plus failure-*.png for a failed step. Every request to another origin is aborted and fails the
// run, as does a console message saying a resource failed to load or a Content-Security-Policy
// refusal, and a same-origin subresource answering 4xx/5xx. Exits 1 on any failure, 2 on a
// usage error.
//
// Needs `npm ci --prefix tools/browser` once, and Debian's Chromium (`apt-get install
// chromium`); CHROMIUM=/path/to/chromium picks another binary.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const TIMEOUT_MS = 15_000;
const AUDIT_WAIT_MS = 15_000;
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
const VIEWPORT = { width: 1280, height: 800 };
// Console messages that say a resource did not load: network errors, HTTP errors on
// subresources, and Content-Security-Policy refusals (older and newer Chromium wording).
const RESOURCE_FAILURE =
  /failed to load resource|net::ERR_|refused to (load|connect|execute|apply|frame)|violates the following content security policy/i;
// Documents that answer 4xx on purpose (validation errors, refusals) log this; the step checks
// the status itself, so it is not a failed resource.
const DOCUMENT_STATUS_LOG = /failed to load resource: the server responded with a status of (400|403|404|409)/i;

function usage(message) {
  if (message) console.error(`check-admin: ${message}`);
  console.error('usage: node tools/browser/check-admin.mjs http://127.0.0.1:PORT OUTDIR');
  console.error('  with ADMIN_STAFF_EMAIL, ADMIN_STAFF_PASSWORD, ADMIN_USER_EMAIL, ADMIN_USER_PASSWORD, ADMIN_PATIENT_NAME set');
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

const env = (name, required = true) => {
  const value = process.env[name];
  if (required && !value) usage(`${name} is not set`);
  return value || '';
};
const staff = {
  email: env('ADMIN_STAFF_EMAIL'),
  password: env('ADMIN_STAFF_PASSWORD'),
  name: env('ADMIN_STAFF_NAME', false),
  id: env('ADMIN_STAFF_ID', false),
  secret: '',
};
const regular = { email: env('ADMIN_USER_EMAIL'), password: env('ADMIN_USER_PASSWORD') };
const patientName = env('ADMIN_PATIENT_NAME');
const expectedPatientId = env('ADMIN_PATIENT_ID', false);
if (expectedPatientId && !/^[1-9][0-9]*$/.test(expectedPatientId)) usage(`ADMIN_PATIENT_ID is not an id: ${expectedPatientId}`);
if (staff.id && !/^[1-9][0-9]*$/.test(staff.id)) usage(`ADMIN_STAFF_ID is not an id: ${staff.id}`);

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

// ---- TOTP (RFC 6238 over RFC 4226: HMAC-SHA-1, 6 digits, 30-second steps)

const TOTP_STEP_SECONDS = 30;

/** RFC 4648 base32 (padding, spaces and case ignored) to bytes. */
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const bytes = [];
  for (const char of clean) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(char)} in the secret`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

function totpStep(at = Date.now()) {
  return Math.floor(at / 1000 / TOTP_STEP_SECONDS);
}

function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

// RFC 6238 appendix B, SHA-1 (8 digits there; the last 6 are the 6-digit code).
{
  const rfcSecret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // "12345678901234567890"
  const vectors = [[59, '287082'], [1111111109, '081804'], [1234567890, '005924'], [2000000000, '279037']];
  for (const [seconds, code] of vectors) {
    const got = totp(rfcSecret, Math.floor(seconds / TOTP_STEP_SECONDS));
    if (got !== code) {
      console.error(`check-admin: internal TOTP self-test failed at T=${seconds}: ${got} != ${code}`);
      process.exit(1);
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A code for a step after `afterStep` (waits for the next step when needed), not within
 *  2 s of the step's end so it is still current when the server reads it. */
async function freshCode(secret, afterStep = -1) {
  for (;;) {
    const now = Date.now();
    const step = totpStep(now);
    const left = (step + 1) * TOTP_STEP_SECONDS * 1000 - now;
    if (step > afterStep && left > 2_000) return { step, code: totp(secret, step) };
    await sleep(left + 100);
  }
}

// ---- the browser

function sameOrigin(url) {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

const problems = [];
const external = new Set();
const resourceErrors = new Map();
const otherConsole = new Map();
const count = (map, text) => map.set(text, (map.get(text) || 0) + 1);

/** Records what a page does that fails the run whatever step it is at. */
function watch(page, label) {
  page.on('request', (request) => {
    const target = request.url();
    if (/^https?:|^wss?:/.test(target) && !sameOrigin(target)) external.add(`${label}: ${target}`);
  });
  page.on('websocket', (socket) => {
    if (!sameOrigin(socket.url())) external.add(`${label}: ${socket.url()}`);
  });
  page.on('console', (message) => {
    const text = message.text().split('\n')[0].trim();
    if (message.type() !== 'error') return;
    if (RESOURCE_FAILURE.test(text) && !DOCUMENT_STATUS_LOG.test(text)) count(resourceErrors, `${label}: ${text}`);
    else if (!DOCUMENT_STATUS_LOG.test(text)) count(otherConsole, `${label}: ${text}`);
  });
  page.on('pageerror', (error) => count(otherConsole, `${label}: uncaught: ${String(error.message).split('\n')[0]}`));
  page.on('response', (response) => {
    const request = response.request();
    if (sameOrigin(response.url()) && response.status() >= 400 && request.resourceType() !== 'document') {
      count(resourceErrors, `${label}: ${request.resourceType()} ${response.url()} answered HTTP ${response.status()}`);
    }
  });
  page.on('requestfailed', (request) => {
    // Aborted cross-origin requests are reported as such above.
    if (sameOrigin(request.url())) {
      count(resourceErrors, `${label}: ${request.resourceType()} ${request.url()} failed: ${request.failure()?.errorText}`);
    }
  });
}

async function newPage(browser, label) {
  const context = await browser.newContext({ viewport: VIEWPORT, serviceWorkers: 'block' });
  await context.route('**/*', (route) => {
    if (sameOrigin(route.request().url())) return route.continue();
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  page.setDefaultNavigationTimeout(TIMEOUT_MS);
  watch(page, label);
  return { context, page };
}

class StepFailure extends Error {}
const fail = (message) => {
  throw new StepFailure(message);
};
const expect = (condition, message) => {
  if (!condition) fail(message);
};

const screenshots = [];
async function shoot(page, name) {
  const file = path.join(outDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, timeout: TIMEOUT_MS * 2 });
  screenshots.push(file);
}

const pathOf = (page) => new URL(page.url()).pathname;
const text = (page) => page.evaluate(() => document.body.innerText);
const title = (page) => page.title();
/** The page's h1 and status, for messages. */
async function where(page, response) {
  const heading = await page.locator('h1').first().innerText({ timeout: 1_000 }).catch(() => '(no h1)');
  return `${pathOf(page)} (HTTP ${response ? response.status() : '?'}, h1 ${JSON.stringify(heading.trim())})`;
}

/** Opens `target` and returns the final response (after redirects). */
async function visit(page, target) {
  const response = await page.goto(`${base}${target}`, { waitUntil: 'load' });
  if (!response) fail(`no response for ${target}`);
  return response;
}

/** Submits `form` (a Locator) with its submit button and returns the final response. */
async function submit(page, form, buttonText) {
  let button = form.locator('button[type=submit], input[type=submit], button:not([type])');
  if (buttonText) button = button.filter({ hasText: buttonText });
  if ((await button.count()) === 0) fail(`no submit button${buttonText ? ` "${buttonText}"` : ''} in the form`);
  const navigation = page.waitForNavigation({ waitUntil: 'load' });
  await button.first().click();
  const response = await navigation;
  if (!response) fail('submitting the form answered nothing');
  return response;
}

/** The form holding a field named `name`. */
function formWith(page, name) {
  return page.locator(`form:has([name="${name}"])`).first();
}

async function expectLoginPage(page, response, doing) {
  expect(pathOf(page) === '/admin/login', `${doing}: expected the sign-in page /admin/login, got ${await where(page, response)}`);
  expect(response.status() === 200, `${doing}: the sign-in page answered HTTP ${response.status()}`);
  for (const name of ['email', 'password']) {
    expect((await page.locator(`form [name="${name}"]`).count()) === 1, `${doing}: the sign-in page has no "${name}" field`);
  }
  const body = await text(page);
  expect(!body.includes(patientName), `${doing}: the sign-in page shows the patient's name`);
  expect((await page.locator('a[href="/admin/patients/"]').count()) === 0, `${doing}: the sign-in page shows the admin navigation`);
}

/** Fills in e-mail and password and submits; returns the response. */
async function signIn(page, account) {
  const form = formWith(page, 'password');
  await form.locator('[name="email"]').fill(account.email);
  await form.locator('[name="password"]').fill(account.password);
  return submit(page, form);
}

// ---- the steps

const state = { enrolStep: -1, patientId: expectedPatientId || '', patientPath: '' };
const passed = [];
let currentStep = '';

async function step(page, name, body) {
  currentStep = name;
  const started = Date.now();
  try {
    const summary = await body();
    passed.push(name);
    console.log(`ok   ${name}${summary ? ` - ${summary}` : ''} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    const message = error instanceof StepFailure ? error.message : `${String(error.message).split('\n')[0]}`;
    const shot = `failure-${name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}`;
    await shoot(page, shot).catch(() => {});
    problems.push(`${name}: ${message} (at ${page.url()}; screenshot ${path.join(outDir, `${shot}.png`)})`);
    console.log(`FAIL ${name}`);
    throw error;
  }
}

async function staffFlow(browser) {
  const { context, page } = await newPage(browser, 'staff');
  try {
    await step(page, 'anonymous /admin/ goes to the sign-in page', async () => {
      const response = await visit(page, '/admin/');
      await expectLoginPage(page, response, 'GET /admin/');
      const styles = await page.evaluate(() =>
        [...document.styleSheets].map((sheet) => {
          try {
            return { href: sheet.href, rules: sheet.cssRules.length };
          } catch {
            return { href: sheet.href, rules: -1 };
          }
        }),
      );
      expect(styles.length >= 1, 'the sign-in page links no stylesheet');
      expect(styles.every((sheet) => sheet.rules > 0), `a stylesheet has no rules: ${JSON.stringify(styles)}`);
      await shoot(page, 'login');
      return `stylesheet rules ${styles.map((sheet) => sheet.rules).join(', ')}`;
    });

    await step(page, 'wrong password is refused on the sign-in page', async () => {
      const response = await signIn(page, { email: staff.email, password: `${staff.password}-wrong` });
      expect(response.status() === 400, `expected HTTP 400, got ${await where(page, response)}`);
      expect(pathOf(page) === '/admin/login', `expected to stay on /admin/login, got ${pathOf(page)}`);
      const body = await text(page);
      expect(/correct email and password/i.test(body), 'no "correct email and password" message on the page');
      expect((await page.locator('[name="email"]').inputValue()) === staff.email, 'the typed e-mail was not kept in the form');
    });

    await step(page, 'staff signs in: second-factor enrolment with a QR code', async () => {
      const response = await signIn(page, staff);
      expect(
        pathOf(page) === '/admin/login/second-factor' && response.status() === 200,
        `expected the second-factor page, got ${await where(page, response)}`,
      );
      const secretShown = page.locator('code');
      const qr = page.locator('svg');
      if ((await qr.count()) === 0 && (await secretShown.count()) === 0) {
        fail(
          'no QR code and no secret: has the staff user enrolled already? The test needs a fresh one ' +
            '(or `healthcare-admin users reset-second-factor ID`)',
        );
      }
      expect((await qr.count()) >= 1, 'no inline <svg> QR code on the enrolment page');
      const box = await qr.first().boundingBox();
      expect(box && box.width >= 100 && box.height >= 100, `the QR code is not shown at a scannable size (${JSON.stringify(box)})`);
      expect((await page.locator('img[src^="http"]').count()) === 0, 'the QR code is an external image');
      const candidates = (await secretShown.allInnerTexts()).map((t) => t.replace(/\s+/g, '')).filter((t) => /^[A-Z2-7]{16,}=*$/i.test(t));
      expect(candidates.length === 1, `expected one base32 secret in a <code>, found ${JSON.stringify(await secretShown.allInnerTexts())}`);
      staff.secret = candidates[0];
      expect(base32Decode(staff.secret).length >= 16, `the secret is only ${base32Decode(staff.secret).length} bytes (RFC 4226 asks for at least 16)`);
      expect((await page.locator('form [name="code"]').count()) === 1, 'no "code" field on the second-factor page');
      await shoot(page, 'enrol');
      return `secret ${staff.secret.length} base32 characters`;
    });

    await step(page, 'a wrong code is refused beside the code field', async () => {
      const { code } = await freshCode(staff.secret);
      const wrong = String((Number(code) + 500_000) % 1_000_000).padStart(6, '0');
      const form = formWith(page, 'code');
      await form.locator('[name="code"]').fill(wrong);
      const response = await submit(page, form);
      expect(response.status() === 400, `expected HTTP 400 for a wrong code, got ${await where(page, response)}`);
      expect(
        (await page.locator('.field:has([name="code"]) .field-error').count()) >= 1,
        'no .field-error beside the code field after a wrong code',
      );
      const again = (await page.locator('code').allInnerTexts()).map((t) => t.replace(/\s+/g, ''));
      expect(again.includes(staff.secret), 'the enrolment page shown again has a different secret (the QR code scanned first would not work)');
    });

    await step(page, 'the current TOTP code completes enrolment and shows recovery codes', async () => {
      const { code, step: used } = await freshCode(staff.secret);
      const form = formWith(page, 'code');
      await form.locator('[name="code"]').fill(code);
      const response = await submit(page, form);
      state.enrolStep = used;
      expect(response.status() === 200, `expected the recovery codes page, got ${await where(page, response)}`);
      const body = await text(page);
      expect(/recovery code/i.test(body), `no mention of recovery codes on ${await where(page, response)}`);
      const codes = await page.locator('ol li code, ul li code, .recovery-codes code').allInnerTexts();
      expect(codes.length >= 5, `expected at least 5 recovery codes, found ${codes.length}`);
      expect(new Set(codes).size === codes.length, 'some recovery codes are repeated');
      expect(!body.includes(staff.secret), 'the recovery codes page still shows the TOTP secret');
      const cookies = (await context.cookies()).filter((cookie) => cookie.value);
      expect(cookies.length === 1, `expected one session cookie, found ${JSON.stringify(cookies.map((c) => c.name))}`);
      const [cookie] = cookies;
      expect(cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.path === '/admin',
        `the session cookie ${cookie.name} is not HttpOnly, SameSite=Strict, Path=/admin: ${JSON.stringify(cookie)}`);
      await shoot(page, 'recovery-codes');
      return `${codes.length} recovery codes`;
    });

    await step(page, 'Continue leads to the dashboard', async () => {
      const link = page.locator('a', { hasText: /continue/i }).first();
      expect((await link.count()) === 1, 'no "Continue" link on the recovery codes page');
      const navigation = page.waitForNavigation({ waitUntil: 'load' });
      await link.click();
      const response = await navigation;
      expect(pathOf(page) === '/admin/' && response && response.status() === 200, `expected the dashboard /admin/, got ${await where(page, response)}`);
      for (const section of ['/admin/patients/', '/admin/users/', '/admin/audit/']) {
        expect((await page.locator(`a[href="${section}"]`).count()) >= 1, `the dashboard has no link to ${section}`);
      }
      const body = await text(page);
      expect(body.includes(staff.email), 'the dashboard does not say who is signed in');
      expect((await page.locator('form[action="/admin/logout"] button').count()) === 1, 'no sign-out button');
      await shoot(page, 'dashboard');
    });

    await step(page, 'the patient is found with the list search', async () => {
      await page.locator('a[href="/admin/patients/"]').first().click();
      await page.waitForLoadState('load');
      expect(pathOf(page) === '/admin/patients/', `the Patients link led to ${pathOf(page)}`);
      const form = formWith(page, 'q');
      await form.locator('[name="q"]').fill(patientName);
      const response = await submit(page, form);
      expect(response.status() === 200, `the search answered ${await where(page, response)}`);
      expect(new URL(page.url()).searchParams.get('q') === patientName, `the search URL lacks q=${patientName}: ${page.url()}`);
      const links = page.locator('table a[href^="/admin/patients/"]', { hasText: patientName });
      const found = await links.count();
      expect(found === 1, `expected exactly one row linking to "${patientName}", found ${found}`);
      const rows = await page.locator('table tbody tr').count();
      expect(rows === 1, `the search for "${patientName}" lists ${rows} rows`);
      state.patientPath = await links.first().getAttribute('href');
      const id = /^\/admin\/patients\/([0-9]+)\/$/.exec(state.patientPath || '')?.[1];
      expect(id, `the patient link is ${state.patientPath}, not /admin/patients/ID/`);
      if (expectedPatientId) expect(id === expectedPatientId, `the patient link has id ${id}, the API created ${expectedPatientId}`);
      state.patientId = id;
      await shoot(page, 'patients');
      return `patient id ${id}`;
    });

    const newAddress = `42 Browser Test Lane, Unit ${Date.now() % 100000}`;
    let savedAge = '';
    await step(page, 'opening the patient and changing the address saves it', async () => {
      await page.locator(`table a[href="${state.patientPath}"]`).first().click();
      await page.waitForLoadState('load');
      expect(pathOf(page) === state.patientPath, `the patient link led to ${pathOf(page)}`);
      const heading = await page.locator('h1').first().innerText();
      expect(heading.includes(patientName), `the detail page's heading is ${JSON.stringify(heading)}`);
      const form = formWith(page, 'address');
      savedAge = await form.locator('[name="age"]').inputValue();
      expect(/^[0-9]+$/.test(savedAge), `the age field holds ${JSON.stringify(savedAge)}`);
      await form.locator('[name="address"]').fill(newAddress);
      const response = await submit(page, form);
      expect(response.status() === 200 && pathOf(page) === state.patientPath, `saving answered ${await where(page, response)}`);
      const shown = await formWith(page, 'address').locator('[name="address"]').inputValue();
      expect(shown === newAddress, `after saving, the address field holds ${JSON.stringify(shown)}, not ${JSON.stringify(newAddress)}`);
      expect(/saved/i.test(await text(page)), 'no confirmation that the patient was saved');
      expect((await page.locator('.field-error, .error-summary').count()) === 0, 'errors shown after a valid save');
    });

    await step(page, 'an invalid age is refused beside the field and nothing changes', async () => {
      const form = formWith(page, 'age');
      await form.locator('[name="age"]').fill('-5');
      // Another field changed in the same submission must not be saved either.
      await form.locator('[name="address"]').fill('9 Elm Street, Springfield');
      const response = await submit(page, form);
      expect(response.status() === 400, `expected HTTP 400 for age -5, got ${await where(page, response)}`);
      const errors = page.locator('.field:has([name="age"]) .field-error');
      expect((await errors.count()) >= 1, 'no .field-error inside the age field\'s .field');
      expect(await errors.first().isVisible(), 'the age field\'s error is not visible');
      const message = (await errors.first().innerText()).trim();
      expect(message.length > 0, 'the age field\'s error is empty');
      expect((await page.locator('.field:has([name="address"]) .field-error').count()) === 0, 'the address field has an error too');
      expect((await page.locator('[name="age"]').inputValue()) === '-5', 'the form shown again lost the typed age');
      await shoot(page, 'patient-detail');
      // The record as stored: a fresh GET of the page.
      await visit(page, state.patientPath);
      const age = await page.locator('[name="age"]').inputValue();
      const address = await page.locator('[name="address"]').inputValue();
      expect(age === savedAge, `after the refused save the stored age is ${age}, was ${savedAge}`);
      expect(address === newAddress, `after the refused save the stored address is ${JSON.stringify(address)}`);
      return `message ${JSON.stringify(message)}`;
    });

    await step(page, 'archiving the patient shows it archived', async () => {
      const form = page.locator(`form[action$="/admin/patients/${state.patientId}/archive"]`);
      expect((await form.count()) === 1, 'no archive form on the patient page');
      const response = await submit(page, form);
      expect(response.status() === 200 && pathOf(page) === state.patientPath, `archiving answered ${await where(page, response)}`);
      const badge = page.locator('.badge', { hasText: /archived/i });
      expect((await badge.count()) >= 1, 'no "Archived" status on the patient page after archiving');
      expect((await page.locator(`form[action$="/admin/patients/${state.patientId}/restore"]`).count()) === 1, 'no restore form after archiving');
      expect((await page.locator(`form[action$="/admin/patients/${state.patientId}/archive"]`).count()) === 0, 'the archive form is still shown');
      // The list says so too.
      await visit(page, `/admin/patients/?q=${encodeURIComponent(patientName)}`);
      const row = page.locator('table tbody tr', { hasText: patientName });
      expect(/archived/i.test(await row.first().innerText()), 'the patients list does not show the patient as archived');
    });

    await step(page, 'the audit trail filtered by the patient shows the staff user\'s actions', async () => {
      await page.locator('a[href="/admin/audit/"]').first().click();
      await page.waitForLoadState('load');
      expect(pathOf(page) === '/admin/audit/', `the Audit trail link led to ${pathOf(page)}`);
      const wanted = ['patient.read', 'patient.update', 'patient.delete'];
      let missing = wanted;
      let facts;
      const deadline = Date.now() + AUDIT_WAIT_MS;
      for (let attempt = 0; ; attempt++) {
        if (attempt === 0) {
          const form = formWith(page, 'patient');
          await form.locator('[name="patient"]').fill(state.patientId);
          const response = await submit(page, form);
          expect(response.status() === 200, `filtering the audit trail answered ${await where(page, response)}`);
          expect(new URL(page.url()).searchParams.get('patient') === state.patientId, `the audit URL lacks patient=${state.patientId}: ${page.url()}`);
        } else {
          // Reads are audited off the request path: give the writer a moment.
          await sleep(1_000);
          await page.reload({ waitUntil: 'load' });
        }
        facts = await page.evaluate(() => {
          const table = document.querySelector('table');
          if (!table) return { headers: [], rows: [] };
          const headers = [...table.querySelectorAll('thead th')].map((th) => th.innerText.trim());
          const rows = [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td, th')].map((td) => td.innerText.trim()));
          return { headers, rows };
        });
        const actorColumn = facts.headers.findIndex((h) => /actor|user|who|by/i.test(h));
        const byStaff = (cells) => {
          const actor = actorColumn >= 0 ? cells[actorColumn] || '' : cells.join(' ');
          return (
            actor.includes(staff.email) ||
            Boolean(staff.name && actor.includes(staff.name)) ||
            Boolean(staff.id && new RegExp(`(^|[^0-9])${staff.id}([^0-9]|$)`).test(actor) && actorColumn >= 0)
          );
        };
        missing = wanted.filter((action) => !facts.rows.some((cells) => cells.includes(action) && byStaff(cells)));
        if (missing.length === 0 || Date.now() > deadline) break;
      }
      expect(
        missing.length === 0,
        `no row with action ${missing.join(', ')} and actor ${[staff.email, staff.name, staff.id && `#${staff.id}`].filter(Boolean).join(' / ')}; ` +
          `columns ${JSON.stringify(facts.headers)}, rows ${JSON.stringify(facts.rows.slice(0, 8))}`,
      );
      const patientColumn = facts.headers.findIndex((h) => /^patient/i.test(h));
      expect(patientColumn >= 0, `the audit table has no Patient column: ${JSON.stringify(facts.headers)}`);
      const others = facts.rows.filter((cells) => !new RegExp(`(^|[^0-9])${state.patientId}([^0-9]|$)`).test(cells[patientColumn] || ''));
      expect(others.length === 0, `rows about other patients in the filtered trail: ${JSON.stringify(others.slice(0, 3))}`);
      await shoot(page, 'audit');
      return `${facts.rows.length} rows for patient ${state.patientId}`;
    });

    await step(page, 'the users list shows both accounts, staff and not', async () => {
      await page.locator('a[href="/admin/users/"]').first().click();
      await page.waitForLoadState('load');
      expect(pathOf(page) === '/admin/users/', `the Users link led to ${pathOf(page)}`);
      expect((await page.locator('table tbody tr').count()) >= 2, 'the users list has fewer than two rows');
      expect(!/\$2[aby]\$|argon2|pbkdf2/i.test(await page.content()), 'the users page contains something like a password hash');
      await shoot(page, 'users');
      // Each account by the list's search (the list is paged and the fuzzer adds users).
      for (const [account, isStaff] of [[staff, true], [regular, false]]) {
        const form = formWith(page, 'q');
        await form.locator('[name="q"]').fill(account.email);
        const response = await submit(page, form);
        expect(response.status() === 200, `searching the users for ${account.email} answered ${await where(page, response)}`);
        const table = await page.evaluate(() => ({
          headers: [...document.querySelectorAll('table thead th')].map((th) => th.innerText.trim()),
          rows: [...document.querySelectorAll('table tbody tr')].map((tr) => [...tr.querySelectorAll('td, th')].map((td) => td.innerText.trim())),
        }));
        const rows = table.rows.filter((cells) => cells.includes(account.email));
        expect(rows.length === 1, `searching the users for ${account.email} lists ${rows.length} rows with that e-mail: ${JSON.stringify(table.rows.slice(0, 3))}`);
        const staffColumn = table.headers.findIndex((h) => /^staff$/i.test(h));
        if (staffColumn >= 0) {
          const shown = rows[0][staffColumn];
          expect(/^yes$/i.test(shown) === isStaff, `${account.email} is shown with Staff ${JSON.stringify(shown)}`);
        }
      }
    });

    await step(page, 'signing out ends the session', async () => {
      const form = page.locator('form[action="/admin/logout"]');
      const response = await submit(page, form);
      await expectLoginPage(page, response, 'after signing out');
      const again = await visit(page, '/admin/patients/');
      await expectLoginPage(page, again, 'GET /admin/patients/ after signing out');
    });

    await step(page, 'signing in again asks for a code, refuses a replayed one and takes the next', async () => {
      const response = await signIn(page, staff);
      expect(pathOf(page) === '/admin/login/second-factor' && response.status() === 200, `expected the second-factor page, got ${await where(page, response)}`);
      const body = await text(page);
      expect(!body.includes(staff.secret), 'the secret is shown again to an enrolled user');
      expect((await page.locator('svg').count()) === 0, 'a QR code is shown again to an enrolled user');
      // The enrolment code, still inside the server's skew window or not, must not pass again.
      const form = formWith(page, 'code');
      await form.locator('[name="code"]').fill(totp(staff.secret, state.enrolStep));
      const replay = await submit(page, form);
      expect(replay.status() === 400, `the enrolment code was accepted a second time: ${await where(page, replay)}`);
      const waited = Date.now();
      const { code } = await freshCode(staff.secret, state.enrolStep);
      const formAgain = formWith(page, 'code');
      await formAgain.locator('[name="code"]').fill(code);
      const next = await submit(page, formAgain);
      expect(pathOf(page) === '/admin/' && next.status() === 200, `the next step's code did not sign in: ${await where(page, next)}`);
      const out = await submit(page, page.locator('form[action="/admin/logout"]'));
      await expectLoginPage(page, out, 'after the second sign-out');
      return `waited ${((Date.now() - waited) / 1000).toFixed(0)} s for the next TOTP step`;
    });
  } finally {
    await context.close();
  }
}

async function outsiderFlow(browser) {
  const { context, page } = await newPage(browser, 'outsider');
  try {
    await step(page, 'a non-staff user with the right password is refused (403, no data)', async () => {
      await visit(page, '/admin/login');
      const response = await signIn(page, regular);
      const refusal = await where(page, response);
      expect(response.status() === 403, `expected HTTP 403, got ${refusal}`);
      const body = await text(page);
      expect(!body.includes(patientName), 'the refusal page shows the patient\'s name');
      expect((await page.locator('a[href="/admin/patients/"], a[href="/admin/users/"], a[href="/admin/audit/"]').count()) === 0, 'the refusal page has the admin navigation');
      expect((await page.locator('table').count()) === 0, 'the refusal page has a table');
      expect((await page.locator('form [name="code"]').count()) === 0, 'the refusal page asks for a second factor');
      const cookies = (await context.cookies()).filter((cookie) => cookie.value);
      expect(cookies.length === 0, `cookies left after the refusal: ${cookies.map((c) => c.name).join(', ')}`);
      const again = await visit(page, '/admin/patients/');
      await expectLoginPage(page, again, 'GET /admin/patients/ after the refusal');
      return refusal;
    });
  } finally {
    await context.close();
  }

  const anonymous = await newPage(browser, 'anonymous');
  try {
    await step(anonymous.page, 'an anonymous visit to /admin/patients/ lands on the sign-in page', async () => {
      const response = await visit(anonymous.page, '/admin/patients/');
      await expectLoginPage(anonymous.page, response, 'GET /admin/patients/');
      const detail = await visit(anonymous.page, state.patientPath || `/admin/patients/${state.patientId || 1}/`);
      await expectLoginPage(anonymous.page, detail, 'GET of a patient page');
    });
  } finally {
    await anonymous.context.close();
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
try {
  for (const flow of [staffFlow, outsiderFlow]) {
    try {
      await flow(browser);
    } catch (error) {
      if (!(error instanceof StepFailure)) {
        const message = String(error.message).split('\n')[0];
        if (!problems.some((p) => p.startsWith(`${currentStep}:`))) problems.push(`${currentStep}: ${message}`);
      }
      // A failed step ends its flow; the next flow is independent of it.
    }
  }
} finally {
  await browser.close();
}

for (const target of external) problems.push(`request to another origin: ${target}`);
for (const [message, times] of resourceErrors) problems.push(`console: ${message}${times > 1 ? ` (${times} times)` : ''}`);
for (const [message, times] of otherConsole) {
  console.error(`check-admin: console error (not fatal): ${message}${times > 1 ? ` (${times} times)` : ''}`);
}
console.log(`${passed.length} steps passed; screenshots: ${screenshots.join(', ') || 'none'}`);
for (const problem of problems) console.error(`check-admin: ${problem}`);
process.exit(problems.length ? 1 : 0);
