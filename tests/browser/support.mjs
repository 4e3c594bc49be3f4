// What the browser tests share: the real `hutong` binary serving the seeded demo (both roles,
// SQLite files in a temporary folder, loopback, ports picked by the kernel), the buyer's API
// calls that make a real pay order, and headless Chromium.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const kDemoPassword = 'demo-pass-1';
export const kViewerPhone = '13800000000';
// The phone viewport the tests use (iPhone X/11 Pro logical size).
export const kPhone = { width: 375, height: 812 };

function binary() {
  const bin = process.env.HUTONG_BINARY || path.join(root, 'build', 'hutong');
  if (!existsSync(bin)) throw new Error(`no hutong binary at ${bin}: build first or set HUTONG_BINARY`);
  return bin;
}

export function chromiumPath() {
  const exe = process.env.HUTONG_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(exe)) {
    throw new Error(`no Chromium at ${exe}: run scripts/install-deps.sh (Debian package chromium) ` +
                    'or set HUTONG_CHROMIUM');
  }
  return exe;
}

// Seeds the demo into a fresh folder and serves it; resolves once both roles listen.
export async function startDemo() {
  const bin = binary();
  const dir = mkdtempSync(path.join(tmpdir(), 'hutong-browser-'));
  const data = path.join(dir, 'data');
  execFileSync(bin, ['seed-demo', '--data-dir', data], { stdio: 'pipe' });
  const child = spawn(bin, ['serve', '--data-dir', data, '--host-listen', '127.0.0.1:0',
                            '--provider-listen', '127.0.0.1:0', '--io-threads', '1', '--workers', '8',
                            '--db-pool', '4', '--access-log=false'],
                      { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const ports = {};
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hutong serve did not listen within 20 s:\n${log}`));
    }, 20000);
    const onData = (chunk) => {
      log += chunk;
      for (const m of log.matchAll(/"msg":"listening".*?"role":"(host|provider)".*?"port":(\d+)/g)) {
        ports[m[1]] = Number(m[2]);
      }
      if (ports.host && ports.provider) { clearTimeout(timer); resolve(); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`hutong serve exited (${code}):\n${log}`)); });
  });
  await listening;
  const demo = {
    host: `http://127.0.0.1:${ports.host}`,
    provider: `http://127.0.0.1:${ports.provider}`,
    hostDb: path.join(data, 'host.db'),
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // /readyz answers 200 once background loads (search, geo) are done.
  for (let i = 0; i < 200; ++i) {
    const r = await fetch(`${demo.host}/readyz`).catch(() => null);
    if (r && r.status === 200) return demo;
    await new Promise((res) => setTimeout(res, 50));
  }
  await demo.stop();
  throw new Error('the host never became ready');
}

// JSON over HTTP as the other tests talk to the server; throws on an unexpected status.
export async function call(method, url, { body, token, headers = {}, expect = [200, 201] } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const r = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const json = text ? JSON.parse(text) : {};
  if (!expect.includes(r.status)) throw new Error(`${method} ${url} -> ${r.status}: ${text}`);
  return { status: r.status, body: json };
}

export async function login(demo, phone = kViewerPhone) {
  const r = await call('POST', `${demo.host}/api/auth/login`, { body: { phone, password: kDemoPassword } });
  return r.body.token;
}

export async function register(demo, phone, nickname) {
  const r = await call('POST', `${demo.host}/api/auth/register`,
                       { body: { phone, password: kDemoPassword, nickname } });
  return r.body.token;
}

let orderSeq = 0;

// The buyer's path up to the pay order, as README's "Buying" does it: a video of the feed,
// the mini-program launched from it, a provider session, an order that reserves stock and
// opens the host's pay order. Answers the order, the deal and the viewer's host token.
export async function placeOrder(demo, token, quantity = 1) {
  const feed = (await call('GET', `${demo.host}/api/feed`)).body.items;
  const video = feed.find((v) => v.mounts && v.mounts.length > 0);
  if (!video) throw new Error('the demo feed has no video with a mounted deal');
  const mount = video.mounts[0];
  const launch = (await call('POST', `${demo.host}/api/miniprogram/${mount.app_id}/launch`,
                             { token, body: { video_id: video.id } })).body;
  const session = (await call('POST', `${demo.provider}/mp/v1/session`, { body: { code: launch.code } })).body;
  const deal = (await call('GET', `${demo.provider}/mp/v1/deals/${mount.deal_id}`)).body;
  const order = (await call('POST', `${demo.provider}/mp/v1/orders`, {
    token: session.session_token,
    headers: { 'Idempotency-Key': `browser-${process.pid}-${++orderSeq}` },
    body: { deal_id: mount.deal_id, quantity, attribution_token: launch.attribution_token },
  })).body;
  if (!order.pay_order_id) throw new Error(`the order has no pay order: ${JSON.stringify(order)}`);
  return { order, deal, mpToken: session.session_token };
}

// Moves a pay order's deadline into the past, as if its 15 minutes had run out (the
// server's clock cannot be moved from outside); the sqlite3 shell writes the live WAL file.
export function expirePayOrder(demo, payOrderId) {
  if (!/^pay_[0-9A-Za-z_-]+$/.test(payOrderId)) throw new Error(`odd pay order id ${payOrderId}`);
  execFileSync('sqlite3', [demo.hostDb, '.timeout 5000',
    `UPDATE pay_orders SET expires_at = ${Date.now() - 60000} WHERE id = '${payOrderId}' AND status = 'pending'`]);
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// A phone-sized page; the page's console errors and failed requests fail the test.
export async function phonePage(browser) {
  const context = await browser.newContext({ viewport: kPhone, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
                                             locale: 'zh-CN' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);  // the page answers in well under a second; fail fast
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  // A 4xx answer the page handles is logged as "Failed to load resource"; anything else
  // (a script error, a blocked request, a CSP violation) is a problem.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      page.problems.push(`console: ${m.text()}`);
    }
  });
  return page;
}
