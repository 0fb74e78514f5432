#!/usr/bin/env node
// The settings example (examples/settings) in two real browsers: each sees the other's
// changes live, a refused value is shown next to its field and changes nothing, the
// page runs under its Content-Security-Policy, and the settings survive a restart.
//
//   SETTINGS_BIN=../target/debug/settings node e2e/settings.mjs
//
// CHROMIUM overrides the browser path (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, finish, freePort, sleep } from './lib.mjs';

/// Starts the example on a free port with `stateFile`; resolves once it printed its URL.
async function start(stateFile) {
  const port = await freePort();
  const child = spawn(process.env.SETTINGS_BIN, ['--bind', `127.0.0.1:${port}`, '--state-file', stateFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-4000)));
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no URL printed; log: ${log}`)), 30_000);
    child.stdout.on('data', (d) => {
      if (String(d).includes('http://')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}; log: ${log}`)));
    // A binary that cannot be started (a wrong SETTINGS_BIN): a FAIL line, not a crash.
    child.on('error', (e) => {
      clearTimeout(t);
      reject(new Error(`cannot start ${process.env.SETTINGS_BIN}: ${e.message}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
    },
  };
}

async function until(page, fn, arg, timeoutMs = 5000) {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

const value = (page, id) => page.$eval(`#${id}`, (e) => (e.type === 'checkbox' ? e.checked : e.value));

async function main() {
  if (!process.env.SETTINGS_BIN) {
    check('setup', false, 'SETTINGS_BIN is required');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'portico-settings-e2e-'));
  const stateFile = join(dir, 'settings.json');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const violations = [];
  const pageErrors = [];
  // Two browsers: separate contexts share nothing (cookies, cache, connections).
  const open = async (url) => {
    const ctx = await browser.newContext();
    await ctx.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.text().includes('Content Security Policy') || m.text().startsWith('CSP violation')) violations.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);
    return page;
  };
  let app = await start(stateFile);
  try {
    const a = await open(app.url);
    const b = await open(app.url);
    check(
      'both browsers load the settings',
      (await until(a, () => document.getElementById('device_name').value === 'portico')) &&
        (await until(b, () => document.getElementById('device_name').value === 'portico')),
    );
    // Let both event streams open before the first change.
    await until(a, () => document.getElementById('status').textContent === 'Up to date.');
    await until(b, () => document.getElementById('status').textContent === 'Up to date.');

    await a.fill('#device_name', 'kitchen');
    await a.fill('#brightness', '80');
    await a.check('#led');
    await a.click('button[type=submit]');
    const seen = await until(
      b,
      () =>
        document.getElementById('device_name').value === 'kitchen' &&
        document.getElementById('brightness').value === '80' &&
        document.getElementById('led').checked,
    );
    check("browser B sees A's change live", seen, `B shows ${await value(b, 'device_name')}, ${await value(b, 'brightness')}`);

    await b.fill('#brightness', '150');
    await b.click('button[type=submit]');
    const shown = await until(b, () => document.querySelector('.error[data-for="brightness"]').textContent === 'must be 0 to 100');
    check('a refused value is shown next to its field', shown, await b.textContent('#status'));
    await sleep(300);
    check('and changes nothing anywhere', (await value(a, 'brightness')) === '80', `A shows ${await value(a, 'brightness')}`);

    await b.fill('#brightness', '5');
    await b.fill('#device_name', 'attic');
    await b.click('button[type=submit]');
    check(
      "browser A sees B's change live",
      await until(a, () => document.getElementById('device_name').value === 'attic' && document.getElementById('brightness').value === '5'),
    );
    check('no Content-Security-Policy violation', violations.length === 0, violations.join('; '));
    check('no page error', pageErrors.length === 0, pageErrors.join('; '));

    // A restart: the browsers reconnect (EventSource) and reload what was saved.
    await app.stop();
    app = await start(stateFile);
    const c = await open(app.url);
    check(
      'the settings survive a restart',
      await until(c, () => document.getElementById('device_name').value === 'attic' && document.getElementById('brightness').value === '5'),
      `after restart: ${await value(c, 'device_name')}`,
    );
  } finally {
    await app.stop();
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main()
  .catch((e) => check('run', false, e.stack || String(e)))
  .finally(() => finish('settings e2e: '));
